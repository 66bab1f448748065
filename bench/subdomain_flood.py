#!/usr/bin/env python3
"""A random-subdomain flood against one zone at saturation, and what the
other zones' legitimate clients get meanwhile (issue 15, points 3 and 4).

Each server is started on a free port of 127.0.0.1, pinned to CPU 1, with
one UDP worker, serving `--zones` small zones (z0000.test ... with SOA, NS
and `www` A) and the attacked zone victim.test. On CPU 0:

  flood   `candor-flood flood` (crates/candor-flood) from 127.0.0.2: random
          names under victim.test (every one NXDOMAIN, a fresh 12-character
          label each), open loop with sendmmsg: it never waits for answers,
          so it sends what one core can (`--flood-rate 0`, the default) or
          a fixed rate, whatever the server drops;
  legit   `candor-flood legit` from 127.0.0.3 at real-time priority (chrt -f
          50, so the flooder's use of the same CPU does not delay it):
          `--legit` queries a second for `www.zNNNN.test A` over the other
          zones (the isolation client), and `--victim-legit` a second for
          `www.victim.test A` (the attacked zone's own real users), each
          answered (NOERROR, not TC) within 1 s or lost. They start half
          a second before the flood (a server under attack had legitimate
          traffic before) and are counted from `--settle` seconds into it.

Reported per server and round: the flood's rate and the share answered,
the legit clients' answered share and latency p50/p99/p99.9, the
server's CPU. Servers:

  candor     `candor serve` with its defaults (RRL on: 200/s, slip 2;
             cookies on; per-zone accounting and fair-share shedding on);
  candor-noshed  the same with --no-zone-traffic (no shedding);
  candor-nokernel  the same with --no-kernel-shed (shedding in the worker
             only, no socket filter; "kernel drops" then are all queue
             overflows, while for `candor` they include what its filter
             dropped on purpose);
  knot       Knot DNS 3.2 with mod-rrl (rate-limit 200, slip 2) and
             mod-cookies, one UDP worker.

With --no-rrl both run without rate limiting (Candor --rrl-rate 0, Knot
without mod-rrl, cookies on).

DNSSEC (issue 12): a server name ending in `-signed` (candor-signed,
candor-noshed-signed, knot-signed) serves victim.test signed: Candor the
file `candor dnssec export` writes after `candor zone import` and `candor
dnssec enable` (ECDSA P-256 CSK, NSEC chain, RRSIGs), Knot signing the zone
itself (`dnssec-signing: on`, ECDSA P-256 CSK, NSEC). `--dnssec-ok` sets
the DO bit in the flood's queries, so every NXDOMAIN carries the signed
denial. Each run also reports the server's CPU per query it received
(`server_us_per_query`: its CPU time over flood + legit queries less the
kernel's drops), the figure to compare signed against unsigned;
`server_run_us_per_query` is the same from the threads' schedstat (in
nanoseconds, where the first counts clock ticks), split into user and
system time in the proportions the ticks sampled.

    bench/subdomain_flood.py [--binary target/release/candor] [--knotd knotd]
        [--zones 1000] [--seconds 10] [--rounds 1] [--legit 2000]
        [--victim-legit 200] [--servers candor,candor-noshed,knot]
        [--flooder target/release/candor-flood] [--flood-rate 0]
        [--json bench/results/subdomain_flood.json]
        [--dnssec-ok --servers candor,candor-signed,knot,knot-signed]

Server and flooder run at real-time priority (`--prio "chrt -f 40"`; the
kernel still leaves 5% of each CPU to others), the legit client above
them, so that other work on a shared machine does not enter the figures.
Build the flooder first: `cargo build --release -p candor-flood`.
Python 3 standard library, taskset and chrt. Only 127.0.0.0/8 is used.
"""

import argparse
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

VICTIM = "victim.test"

# Server and flooder run under `--prio` (default `chrt -f 40`: real-time, so
# builds sharing the machine wait while they run); the same for every server.
NICE = []


def zone_text(origin: str) -> str:
    """A small zone: SOA, NS, and an address at `www`."""
    return (f"$ORIGIN {origin}.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 900 86400 300\n"
            f"@ IN NS ns1\nns1 IN A 192.0.2.53\nwww IN A 192.0.2.80\n")


def names(n: int) -> list:
    """The zones served besides the victim."""
    return [f"z{i:04d}.test" for i in range(n)]


def query(qid: int, name: str, qtype: int = 1) -> bytes:
    """A query without EDNS."""
    msg = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.split("."):
        msg += bytes([len(label)]) + label.encode()
    return msg + b"\x00" + struct.pack(">HH", qtype, 1)


def free_port() -> int:
    """A port free for UDP and TCP on 127.0.0.1."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue


def ready(port: int, name: str, timeout: float = 60.0) -> bool:
    """Polls until the server answers for `name`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(query(7, name, 6), ("127.0.0.1", port))
                r = s.recv(4096)
                if r[:2] == b"\x00\x07" and r[3] & 0x0F == 0:
                    return True
            except OSError:
                time.sleep(0.1)
    return False


def start_candor(binary, zones_dir, port, extra):
    log = open(os.path.join(zones_dir, "..", "candor.log"), "w")
    return subprocess.Popen([*NICE, "taskset", "-c", "1", binary, "serve", "--zones", zones_dir,
                             "--listen", f"127.0.0.1:{port}", "--workers", "1", *extra],
                            stdout=log, stderr=log, env={**os.environ, "NO_COLOR": "1"})


def signed_ready(port: int, timeout: float = 600.0) -> bool:
    """Polls until the victim zone answers its SOA with an RRSIG (DO=1)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), "+dnssec", "+norec", "+time=1",
                              "+retry=0", VICTIM, "SOA"], capture_output=True, text=True).stdout
        if re.search(r"\sRRSIG\s+SOA\s", out):
            return True
        time.sleep(0.1)
    return False


def signed_zones_dir(binary: str, work: str, zones_dir: str) -> str:
    """A copy of `zones_dir` whose victim zone is signed by Candor: imported
    into a fresh store, `candor dnssec enable`d and exported signed."""
    signed = os.path.join(work, "zones-signed")
    shutil.copytree(zones_dir, signed)
    store = os.path.join(work, "sign-store")
    run = lambda *a: subprocess.run([binary, *a, "--data-dir", store], check=True,
                                    capture_output=True, text=True).stdout
    run("init", "--email", "bench@candor.test")
    run("zone", "import", VICTIM, os.path.join(zones_dir, f"{VICTIM}.zone"))
    run("dnssec", "enable", VICTIM)
    with open(os.path.join(signed, f"{VICTIM}.zone"), "w") as f:
        f.write(run("dnssec", "export", VICTIM))
    return signed


def start_knot(knotd, work, zones_dir, port, zones, rrl, signed=False):
    kdir = os.path.join(work, "knot")
    for d in ("run", "storage"):
        os.makedirs(os.path.join(kdir, d), exist_ok=True)
    # The victim zone signed by Knot itself (fresh keys each start: the
    # storage directory is emptied below).
    sign = "    dnssec-signing: on\n    dnssec-policy: bench\n"
    zone_list = "".join(f'  - domain: "{z}."\n    file: "{zones_dir}/{z}.zone"\n'
                        + (sign if signed and z == VICTIM else "") for z in zones)
    shutil.rmtree(os.path.join(kdir, "storage"), ignore_errors=True)
    os.makedirs(os.path.join(kdir, "storage"))
    conf = os.path.join(kdir, "knot.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
    rundir: "{kdir}/run"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{kdir}/storage"
log:
  - target: stderr
    any: warning
mod-rrl:
  - id: default
    rate-limit: 200
    slip: 2
policy:
  - id: bench
    algorithm: ecdsap256sha256
    single-type-signing: on
    nsec3: off
template:
  - id: default
    storage: "{kdir}/storage"
    journal-content: none
    zonefile-sync: -1
    zonefile-load: whole
    semantic-checks: off
    global-module: [ mod-cookies{", mod-rrl/default" if rrl else ""} ]
zone:
{zone_list}""")
    log = open(os.path.join(kdir, "knot.log"), "w")
    proc = subprocess.Popen([*NICE, "taskset", "-c", "1", knotd, "-c", conf], stdout=log, stderr=log)
    # Knot pins its workers itself; keep every thread on CPU 1.
    time.sleep(0.5)
    subprocess.run(["taskset", "-a", "-p", "-c", "1", str(proc.pid)], capture_output=True)
    return proc


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_seconds(pid: int) -> float:
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple:
    """The process's user and system CPU seconds (/proc/PID/stat, in clock
    ticks: which of the two a tick goes to is sampled)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def run_seconds(pid: int) -> float:
    """The CPU time of all the process's threads in nanoseconds' precision
    (/proc/PID/task/*/schedstat, time on a CPU), user and system together."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended
    return total / 1e9


def socket_drops(port: int) -> int:
    """Packets the kernel dropped at the server's UDP sockets on `port` (its
    receive buffer was full): /proc/net/udp's last column, summed."""
    total = 0
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1].endswith(f":{port:04X}"):
                total += int(fields[-1])
    return total


# Seconds the legit clients run before the flood starts.
LEAD = 0.5


def measure(port, pid, args, zones):
    """One flood and the legit clients meanwhile, from candor-flood on CPU 0."""
    target = f"127.0.0.1:{port}"
    flood_cmd = [*NICE, "taskset", "-c", "0", args.flooder, "flood", "--target", target,
                 "--source", "127.0.0.2", "--zone", VICTIM, "--rate", str(args.flood_rate),
                 "--seconds", str(args.seconds + args.settle + 1)]
    if args.count_answers:
        flood_cmd.append("--count-answers")
    if args.dnssec_ok:
        flood_cmd.append("--dnssec-ok")
    if args.flood_prefix:
        flood_cmd += ["--prefix", args.flood_prefix]
    if args.flood_digits:
        flood_cmd += ["--digits", str(args.flood_digits)]
    # The legit clients run at real-time priority on the flooder's CPU, so their
    # latencies are the server's, not their wait for the flooder's time slice.
    # They start LEAD seconds before the flood (a server has legitimate
    # traffic when an attack begins: with none, no zone is held to a fair
    # share, since there is nobody to protect) and count from --settle
    # seconds into the flood.
    legit_cmd = ["taskset", "-c", "0", *(["chrt", "-f", "50"] if args.rt else []), args.flooder,
                 "legit", "--target", target, "--source", "127.0.0.3", "--seconds", str(args.seconds),
                 "--warmup", str(LEAD + args.settle),
                 "--stream", f"www.z{{}}.test:{len(zones)}@{args.legit}",
                 "--stream", f"www.{VICTIM}@{args.victim_legit}"]
    legit = subprocess.Popen(legit_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(LEAD)
    flood = subprocess.Popen(flood_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(args.settle)  # the flood reaches saturation; the server adapts
    cpu0 = cpu_seconds(pid)
    split0, run0 = cpu_split(pid), run_seconds(pid)
    drops0 = socket_drops(port)
    t0 = time.monotonic()
    legit_out, legit_err = legit.communicate()
    legit = subprocess.CompletedProcess(legit_cmd, legit.returncode, legit_out, legit_err)
    elapsed = time.monotonic() - t0 - 1.0  # legit waits 1 s for stragglers
    cpu = (cpu_seconds(pid) - cpu0) / elapsed
    split = [(b - a) / elapsed for a, b in zip(split0, cpu_split(pid))]
    run = (run_seconds(pid) - run0) / elapsed
    drops = (socket_drops(port) - drops0) / elapsed
    out, err = flood.communicate()
    if flood.returncode or legit.returncode:
        sys.exit(f"candor-flood failed: {err} {legit.stderr}")
    f = json.loads(out)
    streams = json.loads(legit.stdout)["streams"]
    pick = lambda s: {"sent": s["sent"], "answered": s["answered"], "answered_share": s["share"],
                      "p50_ms": s["p50_ms"], "p99_ms": s["p99_ms"], "p999_ms": s["p999_ms"],
                      "other_responses": s["other_responses"]}
    received = f["qps"] + args.legit + args.victim_legit - drops
    return {"flood_qps": f["qps"], "flood_sent": f["sent"], "flood_answered": f["answers"],
            "others": pick(streams[0]), "victim_zone": pick(streams[1]),
            "server_cpu": round(cpu, 3), "kernel_drops_per_second": round(drops),
            "server_us_per_query": round(cpu / received * 1e6, 3) if received > 0 else None,
            # The same from the threads' schedstat (ns resolution, not ticks), and
            # its user and system shares as the ticks sampled them.
            "server_run_us_per_query": round(run / received * 1e6, 3) if received > 0 else None,
            "server_user_us_per_query": round(run * split[0] / max(sum(split), 1e-9) / received * 1e6, 3)
            if received > 0 else None,
            "server_sys_us_per_query": round(run * split[1] / max(sum(split), 1e-9) / received * 1e6, 3)
            if received > 0 else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="target/release/candor")
    ap.add_argument("--knotd", default="knotd")
    ap.add_argument("--zones", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--legit", type=int, default=2000)
    ap.add_argument("--victim-legit", type=int, default=200)
    ap.add_argument("--servers", default="candor,candor-noshed,knot")
    ap.add_argument("--no-rrl", action="store_true",
                    help="rate limiting off in both (--rrl-rate 0; Knot without mod-rrl)")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds of flood before the legit client starts measuring")
    ap.add_argument("--candor-args", default="",
                    help="more arguments for candor serve, e.g. '--udp-recv-buffer 65536'")
    ap.add_argument("--flooder", default="target/release/candor-flood")
    ap.add_argument("--flood-rate", type=float, default=0,
                    help="flood queries a second; 0 (default): as fast as one core sends")
    ap.add_argument("--count-answers", action="store_true",
                    help="the flooder counts its answers (costs it CPU, so it sends less)")
    ap.add_argument("--prio", default="chrt -f 40",
                    help="command prefix for the server and the flooder ('' for none, or "
                         "'nice -n -10')")
    ap.add_argument("--no-rt", dest="rt", action="store_false",
                    help="run the legit client at normal priority (default: chrt -f 50)")
    ap.add_argument("--flood-prefix", default="",
                    help="start every flood label with this (h: among the --victim-hosts h0, h1, ...)")
    ap.add_argument("--flood-digits", type=int, default=0,
                    help="make the first N random characters after the prefix digits "
                         "(--flood-prefix h --flood-digits 5: each name between two random hosts, "
                         "a random entry of a signed zone's NSEC chain)")
    ap.add_argument("--victim-hosts", type=int, default=0,
                    help="extra names h0 ... in the victim zone (A records), e.g. 100000")
    ap.add_argument("--dnssec-ok", action="store_true",
                    help="the flood's queries carry DO=1 (signed denial in every answer)")
    ap.add_argument("--json")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (zones, logs) instead of removing it")
    args = ap.parse_args()
    NICE[:] = args.prio.split()
    os.sched_setaffinity(0, {0})
    work = tempfile.mkdtemp(prefix="subdomain-flood-")
    try:
        zones_dir = os.path.join(work, "zones")
        os.makedirs(zones_dir)
        zones = names(args.zones)
        for z in zones + [VICTIM]:
            with open(os.path.join(zones_dir, f"{z}.zone"), "w") as f:
                f.write(zone_text(z))
                if z == VICTIM:
                    # More names make the signed zone's covering-NSEC search (and
                    # Knot's) work as in a real zone.
                    f.write("".join(f"h{i} IN A 192.0.2.{i % 250 + 1}\n" for i in range(args.victim_hosts)))
        with open("/proc/loadavg") as f:
            load = f.read().split()[:3]
        signed_dir = None
        if any(s.endswith("-signed") and s.startswith("candor") for s in args.servers.split(",")):
            signed_dir = signed_zones_dir(args.binary, work, zones_dir)
        results = {"load_before": load, "args": vars(args), "runs": []}
        for rnd in range(args.rounds):
            for server in args.servers.split(","):
                port = free_port()
                signed = server.endswith("-signed")
                if server.startswith("candor"):
                    extra = {"candor-noshed": ["--no-zone-traffic"],
                             "candor-nokernel": ["--no-kernel-shed"]}.get(server.removesuffix("-signed"), [])
                    extra += args.candor_args.split()
                    if args.no_rrl:
                        extra.append("--rrl-rate=0")
                    proc = start_candor(args.binary, signed_dir if signed else zones_dir, port, extra)
                else:
                    proc = start_knot(args.knotd, work, zones_dir, port, zones + [VICTIM], not args.no_rrl,
                                      signed)
                try:
                    if not ready(port, zones[-1]) or not ready(port, VICTIM):
                        sys.exit(f"{server} did not answer")
                    if signed and not signed_ready(port):
                        sys.exit(f"{server} did not serve {VICTIM} signed")
                    # Knot pins its UDP workers itself (worker i to CPU i) when it
                    # starts them, which can be after the re-pin in start_knot (a
                    # large or signed zone): a worker left on the flooder's CPU gets
                    # no time there at real-time priority. Pin again, now.
                    subprocess.run(["taskset", "-a", "-p", "-c", "1", str(proc.pid)], capture_output=True)
                    r = measure(port, proc.pid, args, zones)
                finally:
                    stop(proc)
                r.update(server=server, round=rnd + 1)
                results["runs"].append(r)
                o, v = r["others"], r["victim_zone"]
                print(f"{server:14} round {rnd + 1}: flood {r['flood_qps']:>9.0f} qps "
                      f"({(r['flood_answered'] or 0) / max(r['flood_sent'], 1):.1%} answered) | other zones "
                      f"{o['answered_share']:.2%} p50 {o['p50_ms'] or 0:.2f} p99 {o['p99_ms'] or 0:.2f} ms "
                      f"p99.9 {o['p999_ms']:.2f} | victim zone {v['answered_share']:.2%} p99 {v['p99_ms'] or 0:.2f} ms "
                      f"| server cpu {r['server_cpu']:.0%}, {r['server_us_per_query'] or 0:.2f} µs/query "
                      f"({r['server_run_us_per_query'] or 0:.2f} by schedstat: user {r['server_user_us_per_query'] or 0:.2f}, "
                      f"system {r['server_sys_us_per_query'] or 0:.2f}), "
                      f"kernel drops {r['kernel_drops_per_second']}/s",
                      flush=True)
        with open("/proc/loadavg") as f:
            results["load_after"] = f.read().split()[:3]
        print(f"load average before {' '.join(load)}, after {' '.join(results['load_after'])}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)
    finally:
        # The zones, the signed store and the servers' logs (--keep: left for a look).
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
