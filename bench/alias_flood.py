#!/usr/bin/env python3
"""ALIAS under a flood, with the upstream dead.

Starts Knot (the upstream) serving 10,000 target names, and `candor serve`
(CPU 1) with `--alias-upstream` pointing at it. Imports a zone with 10,000
ALIAS names (one per target) plus 10,000 plain A names, waits until the
resolver has every target, then kills Knot. With the upstream dead, dnsperf
(CPU 0) floods first the plain A names, then the ALIAS names, and the script
compares the qps, the answers (all NOERROR with an address), and the
server's memory before and after.

    bench/alias_flood.py [--names 10000] [--seconds 10] [--binary target/release/candor]
"""

import argparse
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time


def rss_kib(pid: int) -> int:
    """Resident memory of a process."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def dnsperf(port: int, queries: str, seconds: int) -> dict:
    """Runs dnsperf on CPU 0 and parses its summary."""
    out = subprocess.run(
        ["taskset", "-c", "0", "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries,
         "-c", "4", "-q", "100", "-t", "2", "-l", str(seconds)],
        capture_output=True, text=True).stdout
    get = lambda pat: (re.search(pat, out) or [None, "0"])[1]
    return {"qps": float(get(r"Queries per second:\s+([\d.]+)")),
            "lost": get(r"Queries lost:\s+(\d+)"),
            "rcodes": get(r"Response codes:\s+(.*)")}


def pdns_flood(work: str, args, target_zone: str, plain: str, aliases: str) -> None:
    """The same flood against PowerDNS's ALIAS (bind backend, expand-alias=yes,
    resolver = the upstream), upstream alive first for one query, then dead."""
    pdir = os.path.join(work, "pdns")
    os.makedirs(pdir)
    zone = os.path.join(pdir, "flood.test.zone")
    with open(zone, "w") as f:
        f.write("$ORIGIN flood.test.\n$TTL 300\n@ SOA ns h 1 7200 3600 1209600 60\n@ NS ns\n"
                "ns A 192.0.2.53\n")
        for i in range(args.names):
            f.write(f"a{i} ALIAS t{i}.target.test.\np{i} A 10.1.{i >> 8 & 255}.{i & 255}\n")
    with open(os.path.join(pdir, "named.conf"), "w") as f:
        f.write(f'zone "flood.test" {{ type master; file "{zone}"; }};\n')
    with open(os.path.join(pdir, "pdns.conf"), "w") as f:
        f.write(f"launch=bind\nbind-config={pdir}/named.conf\nlocal-address=127.0.0.1\n"
                "local-port=15355\nexpand-alias=yes\nresolver=127.0.0.1:15350\n"
                "receiver-threads=1\ndistributor-threads=1\nsecurity-poll-suffix=\n"
                f"guardian=no\ndaemon=no\ndisable-syslog=yes\nsocket-dir={pdir}\n")
    pdns = subprocess.Popen(["taskset", "-c", "1", "pdns_server", f"--config-dir={pdir}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)
        base = dnsperf(15355, plain, args.seconds)
        flood_run = dnsperf(15355, aliases, args.seconds)
        print(f"pdns plain A : {base['qps']:.0f} qps, lost {base['lost']}, rcodes {base['rcodes']}")
        print(f"pdns ALIAS   : {flood_run['qps']:.0f} qps, lost {flood_run['lost']}, "
              f"rcodes {flood_run['rcodes']} (upstream {args.failure})")
    finally:
        pdns.terminate()
        try:
            pdns.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pdns.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--names", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--binary", default="target/release/candor")
    ap.add_argument("--failure", choices=["dead", "silent"], default="dead",
                    help="after the resolver has every target, kill the upstream (dead) or "
                         "replace it with a socket that never answers (silent: every lookup "
                         "times out)")
    ap.add_argument("--pdns", action="store_true",
                    help="also measure PowerDNS (bind backend, expand-alias=yes) the same way")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    for tool in ("dnsperf", "knotd", "kdig", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed")
    work = tempfile.mkdtemp(prefix="candor-alias-")
    procs = []
    try:
        # The upstream.
        zone = os.path.join(work, "target.test.zone")
        with open(zone, "w") as f:
            f.write("$ORIGIN target.test.\n$TTL 30\n@ SOA ns h 1 7200 3600 1209600 60\n@ NS ns\n"
                    "ns A 192.0.2.53\n")
            for i in range(args.names):
                f.write(f"t{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n")
        conf = os.path.join(work, "knot.conf")
        with open(conf, "w") as f:
            f.write(f"server:\n  listen: 127.0.0.1@15350\n  rundir: {work}\n"
                    f"database:\n  storage: {work}\n"
                    "template:\n  - id: default\n    journal-content: none\n    zonefile-sync: -1\n"
                    f"zone:\n  - domain: target.test\n    file: {zone}\n")
        knot = subprocess.Popen(["knotd", "-c", conf], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        procs.append(knot)
        # The zone with the ALIAS names, imported through the CLI.
        data = os.path.join(work, "data")
        flood = os.path.join(work, "flood.test.zone")
        with open(flood, "w") as f:
            f.write("$ORIGIN flood.test.\n$TTL 300\n")
            for i in range(args.names):
                target = f"t{i}.target.test."
                wire = b"".join(bytes([len(l)]) + l.encode() for l in target.rstrip(".").split(".")) + b"\0"
                f.write(f"a{i} TYPE65304 \\# {len(wire)} {wire.hex()}\n")
                f.write(f"p{i} A 10.1.{i >> 8 & 255}.{i & 255}\n")
        common = ["--data-dir", data, "--alias-upstream", "127.0.0.1:15350"]
        server = subprocess.Popen(
            ["taskset", "-c", "1", binary, "serve", *common, "--listen", "127.0.0.1:15351",
             "--api-listen", "127.0.0.1:15352", "--redirect-listen", "127.0.0.1:15353",
             "--workers", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
        procs.append(server)
        time.sleep(1.5)
        subprocess.run([binary, "zone", "create", "flood.test", *common], check=True,
                       capture_output=True)
        subprocess.run([binary, "zone", "import", "flood.test", flood, *common], check=True,
                       capture_output=True)
        # Wait until every target is resolved: every name answers an address
        # (checked over UDP with one socket, in rounds).
        deadline = time.time() + 180
        started = time.time()
        pending = list(range(args.names))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(0.5)
        while pending:
            left = []
            for i in pending:
                name = f"a{i}.flood.test"
                q = struct.pack(">HHHHHH", i & 0xFFFF, 0, 1, 0, 0, 0)
                q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
                q += struct.pack(">HH", 1, 1)
                sock.sendto(q, ("127.0.0.1", 15351))
                try:
                    resp, _ = sock.recvfrom(4096)
                except socket.timeout:
                    left.append(i)
                    continue
                ancount = struct.unpack(">H", resp[6:8])[0]
                if resp[3] & 0x0F != 0 or ancount == 0:
                    left.append(i)
            pending = left
            if pending and time.time() > deadline:
                sys.exit(f"the resolver did not finish in 180 s ({len(pending)} names left)")
            if pending:
                time.sleep(0.5)
        resolved_in = time.time() - started
        # The upstream dies (or goes silent: queries time out).
        knot.send_signal(signal.SIGKILL)
        knot.wait()
        silent = None
        if args.failure == "silent":
            silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            silent.bind(("127.0.0.1", 15350))
        plain = os.path.join(work, "plain.txt")
        aliases = os.path.join(work, "alias.txt")
        with open(plain, "w") as f:
            for i in range(200000):
                f.write(f"p{i % args.names}.flood.test A\n")
        with open(aliases, "w") as f:
            for i in range(200000):
                f.write(f"a{(i * 7919) % args.names}.flood.test A\n")
        rss_before = rss_kib(server.pid)
        base = dnsperf(15351, plain, args.seconds)
        flood_run = dnsperf(15351, aliases, args.seconds)
        rss_after = rss_kib(server.pid)
        print(f"names: {args.names} ALIAS + {args.names} plain A; all targets resolved "
              f"{resolved_in:.1f} s after the import; upstream then {args.failure}")
        print(f"plain A : {base['qps']:.0f} qps, lost {base['lost']}, rcodes {base['rcodes']}")
        print(f"ALIAS   : {flood_run['qps']:.0f} qps, lost {flood_run['lost']}, rcodes {flood_run['rcodes']}")
        print(f"ALIAS / plain qps: {flood_run['qps'] / base['qps']:.3f}")
        print(f"server RSS: {rss_before} KiB before the floods, {rss_after} KiB after")
        if args.pdns:
            server.terminate()
            server.wait(timeout=10)
            pdns_flood(work, args, zone, plain, aliases)
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
