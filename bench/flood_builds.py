#!/usr/bin/env python3
"""Signed against unsigned under a subdomain flood, for two or more builds of
Candor, alternated so that the machine's neighbours weigh on each alike.

Runs `bench/subdomain_flood.py --servers candor-noshed,candor-noshed-signed`
once per build per series (builds alternated invocation by invocation; each
invocation alternates the unsigned and the signed zone `--rounds` times),
keeps each invocation's JSON, and reports per build the median and quartiles
of the pairs' ratios (signed over unsigned CPU per query, from the server
threads' schedstat) and the medians of the signed zone's extra user and
system time per query.

    bench/flood_builds.py --build old=/tmp/old/candor --build new=target/release/candor \\
        --series 3 --out bench/results/flood_builds_NAME -- \\
        --victim-hosts 100000 --dnssec-ok --flood-rate 200000 --seconds 5 --rounds 6 \\
        --flood-prefix h

Arguments after `--` go to subdomain_flood.py as they are. With `--report`
only, the JSON already under `--out` is aggregated again.
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def quartiles(values):
    """Median, first and third quartile of `values`."""
    v = sorted(values)
    return v[len(v) // 2], v[len(v) // 4], v[(3 * len(v)) // 4]


def pairs(path):
    """(ratio, user extra, system extra) of each unsigned/signed round pair."""
    with open(path) as f:
        runs = json.load(f)["runs"]
    by_round = {}
    for run in runs:
        by_round.setdefault(run["round"], {})[run["server"]] = run
    out = []
    for rnd in sorted(by_round):
        both = by_round[rnd]
        u, s = both.get("candor-noshed"), both.get("candor-noshed-signed")
        if not u or not s or not u.get("server_run_us_per_query"):
            continue
        out.append((
            s["server_run_us_per_query"] / u["server_run_us_per_query"],
            s["server_user_us_per_query"] - u["server_user_us_per_query"],
            s["server_sys_us_per_query"] - u["server_sys_us_per_query"],
        ))
    return out


def report(out_dir, names):
    """Prints one line per build from the JSON under `out_dir`."""
    print(f"{'build':>10} {'pairs':>5}  signed/unsigned [quartiles]  user extra  system extra")
    for name in names:
        got = []
        for path in sorted(glob.glob(os.path.join(out_dir, f"{name}-*.json"))):
            got.extend(pairs(path))
        if not got:
            print(f"{name:>10}     0")
            continue
        r = quartiles([g[0] for g in got])
        user = statistics.median(g[1] for g in got)
        system = statistics.median(g[2] for g in got)
        print(f"{name:>10} {len(got):>5}  {r[0]:.2f} [{r[1]:.2f}, {r[2]:.2f}]"
              f"           {user:+.2f} µs    {system:+.2f} µs")


def main():
    argv = sys.argv[1:]
    rest = []
    if "--" in argv:
        i = argv.index("--")
        argv, rest = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", action="append", required=True,
                    help="NAME=PATH of a candor binary; two or more")
    ap.add_argument("--series", type=int, default=2)
    ap.add_argument("--out", required=True, help="directory for the JSON")
    ap.add_argument("--report", action="store_true", help="only aggregate --out")
    args = ap.parse_args(argv)
    builds = [b.split("=", 1) for b in args.build]
    if any(len(b) != 2 for b in builds):
        ap.error("--build wants NAME=PATH")
    names = [b[0] for b in builds]
    os.makedirs(args.out, exist_ok=True)
    if not args.report:
        for series in range(1, args.series + 1):
            for name, path in builds:
                out = os.path.join(args.out, f"{name}-{series}.json")
                cmd = [sys.executable, os.path.join(HERE, "subdomain_flood.py"),
                       "--binary", path, "--servers", "candor-noshed,candor-noshed-signed",
                       "--json", out] + rest
                print("+", " ".join(cmd), flush=True)
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    report(args.out, names)


if __name__ == "__main__":
    main()
