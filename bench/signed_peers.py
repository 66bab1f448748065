#!/usr/bin/env python3
"""Signed zones: Candor next to Knot DNS signing the same zones itself, in
one run (issue 12, "Measure and report").

The data is the shared harness's (`../shared/bench/gen_zones.py`, `mixed`
by default, `--set large` for the one 1M-record zone). Both servers sign
every zone with one ECDSA P-256 combined signing key (CSK) and NSEC:

  candor  the zones imported into a store (`candor init`, `candor zone
          import`, `candor dnssec enable` per zone; the store is made once
          and kept in DATA/candor-store, copied for every run) and served
          with `candor serve --data-dir COPY --workers 1
          --dnssec-signing-threads N`, which signs every zone when it
          compiles it at start-up;
  knot    Knot DNS with `dnssec-signing: on` and an automatic policy
          (`algorithm: ecdsap256sha256`, `single-type-signing: on` (CSK),
          `nsec3: off`, `signing-threads: N`), `udp-workers 1`, journal off:
          it makes the keys and signs the zone files when it loads them.

Per server: "load", the seconds from launch until every zone answers its
SOA with an RRSIG (DO=1), and the peak resident memory (VmHWM) after it;
then the sample queries of `checks.txt` go to both with DO=1 and their
answers are compared (rcode, and the owner/type pairs of the answer and
authority sections, RRSIGs by the type they cover; TTLs and signature
bytes ignored); then dnsperf measures each server `--rounds` times,
interleaved, with DO=0 (`-e`) and DO=1 (`-D`): qps, the server's CPU share
(its process's user+system time over dnsperf's run), CPU per query, the
average response size, lost queries. Ratios are Candor's over Knot's in
the same round.

Set-up as in `../shared/bench/peers.sh`: servers on CPU 1, dnsperf on
CPU 0 (`-c 4 -q 100 -t 2`), Knot's threads re-pinned to CPU 1. Server and
dnsperf run at real-time priority (`--prio`, default `chrt -f 40`) so that
builds sharing the machine do not enter the figures; before each
measurement the script waits while another process outside this run holds
a real-time priority (another benchmark), up to `--rt-wait` seconds.

    bench/signed_peers.py [--set mixed|large] [--data DIR] [--rounds 3]
        [--binary /work/bin-main/candor] [--servers candor,knot]
        [--signing-threads 1] [--do 0,1] [--duration 10] [--json OUT]

`--load-only` stops after the load (the signing-time measurement of the
large set: start to signed SOA served, and peak memory). Python 3 standard
library, knotd, kdig, dnsperf, taskset, chrt. Only 127.0.0.1 is used.
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "..", "shared", "bench", "gen_zones.py")
SERVER_CPU, CLIENT_CPU = "1", "0"
PRIO = []
OURS = set()  # pids this run started (their real-time priority is ours)


def log(msg: str) -> None:
    """A progress line on stderr with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_hwm_mib(pid: int, field: str = "VmHWM") -> float:
    """Peak resident memory of `pid` in MiB (VmHWM; `field` "VmRSS": now)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def loadavg() -> list:
    """The load average, 1, 5 and 15 minutes."""
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def foreign_rt() -> list:
    """User-space processes outside this run at a real-time priority (another
    benchmark): (pid, command) pairs."""
    found = []
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,cls=,args="], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 4 or parts[2] not in ("FF", "RR"):
            continue
        pid, ppid = int(parts[0]), int(parts[1])
        if parts[3].startswith("[") or pid in OURS or ppid in OURS:
            continue
        found.append((pid, parts[3][:80]))
    return found


def wait_for_quiet(limit: float) -> float:
    """Waits while another benchmark holds a real-time priority; the seconds waited."""
    t0 = time.monotonic()
    said = False
    while time.monotonic() - t0 < limit:
        others = foreign_rt()
        if not others:
            break
        if not said:
            log(f"waiting for real-time processes of another run: {others[:3]}")
            said = True
        time.sleep(2)
    return time.monotonic() - t0


def kdig(port: int, *args: str) -> str:
    """kdig's text output for a question to 127.0.0.1:`port` (no recursion, DO)."""
    r = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), "+norec", "+dnssec", "+time=2",
                        "+retry=1", *args], capture_output=True, text=True)
    return r.stdout


def signed_soas(port: int, zones: list) -> int:
    """How many of `zones` answer their SOA with an RRSIG (DO=1)."""
    n = 0
    for i in range(0, len(zones), 200):
        args = []
        for z in zones[i:i + 200]:
            args += [z, "SOA"]
        out = kdig(port, *args)
        n += len(re.findall(r"^\S+\s+\d+\s+IN\s+RRSIG\s+SOA ", out, re.M))
    return n


def wait_signed(proc, port: int, zones: list, timeout: float, t0: float) -> float:
    """Seconds from `t0` (the launch) until every zone serves a signed SOA
    (polls the last zone first, then all of them), or None if the server
    exits or times out."""
    last = zones[-1:]
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            return None
        if signed_soas(port, last) == 1:
            t = time.monotonic() - t0
            if signed_soas(port, zones) == len(zones):
                return t
        time.sleep(0.05)
    return None


def summary(text: str) -> dict:
    """The owner/type pairs per section and the rcode of one kdig answer."""
    out = {"rcode": None, "answer": [], "authority": []}
    m = re.search(r"status: (\w+)", text)
    out["rcode"] = m.group(1) if m else "NO ANSWER"
    section = None
    for line in text.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            section = "answer"
        elif line.startswith(";; AUTHORITY SECTION"):
            section = "authority"
        elif line.startswith(";;") or not line.strip():
            if line.startswith(";; ADDITIONAL") or line.startswith(";; Received"):
                section = None
        elif section:
            f = line.split()
            rtype = f[3] if f[3] != "RRSIG" else f"RRSIG({f[4]})"
            out[section].append(f"{f[0].lower()} {rtype}")
    out["answer"] = sorted(set(out["answer"]))
    out["authority"] = sorted(set(out["authority"]))
    return out


def compare(ports: dict, checks: list) -> dict:
    """Every sample query with DO=1 to each server; Knot's answer is the
    reference. Returns the mismatches by check label."""
    ref = "knot" if "knot" in ports else next(iter(ports))
    mismatches = {}
    for label, name, qtype in checks:
        answers = {s: summary(kdig(p, name, qtype)) for s, p in ports.items()}
        for s, a in answers.items():
            if a != answers[ref]:
                mismatches.setdefault(label, {})[s] = a
                mismatches[label][ref] = answers[ref]
    return mismatches


def parse_dnsperf(text: str) -> dict:
    """The figures of one dnsperf run."""
    def num(pattern, cast=float):
        m = re.search(pattern, text)
        return cast(m.group(1)) if m else None
    line = re.search(r"Response codes: (.*)", text)
    return {
        "sent": num(r"Queries sent:\s+(\d+)", int),
        "completed": num(r"Queries completed:\s+(\d+)", int),
        "lost": num(r"Queries lost:\s+(\d+)", int),
        "qps": num(r"Queries per second:\s+([\d.]+)"),
        "avg_latency_ms": (num(r"Average Latency \(s\):\s+([\d.]+)") or 0) * 1000,
        "response_bytes": num(r"Average packet size:.*response (\d+)", int),
        "rcodes": line.group(1) if line else "",
        "run_s": num(r"Run time \(s\):\s+([\d.]+)"),
    }


def dnsperf(port: int, queries: str, seconds: float, args, dnssec_ok: bool, out: str) -> None:
    """dnsperf on CPU 0 at the run's priority, output into `out`."""
    cmd = [*PRIO, "taskset", "-c", CLIENT_CPU, "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d",
           queries, "-l", str(seconds), "-c", str(args.clients), "-q", str(args.outstanding), "-t",
           str(args.timeout), "-D" if dnssec_ok else "-e", "-O", "suppress=timeouts,unexpected"]
    if args.rate:
        cmd += ["-Q", str(args.rate)]
    with open(out, "w") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)


def measure(server: dict, args, data: str, dnssec_ok: bool, work: str, tag: str) -> dict:
    """One warm-up and one measured dnsperf run against `server`."""
    waited = wait_for_quiet(args.rt_wait)
    pin(server["proc"].pid)
    if args.warmup:
        dnsperf(server["port"], os.path.join(data, "warmup.txt"), args.warmup, args, dnssec_ok,
                os.path.join(work, f"{tag}.warmup.txt"))
    pid = server["proc"].pid
    c0, t0 = cpu_seconds(pid), time.monotonic()
    path = os.path.join(work, f"{tag}.dnsperf.txt")
    dnsperf(server["port"], os.path.join(data, "queries.txt"), args.duration, args, dnssec_ok, path)
    c1, t1 = cpu_seconds(pid), time.monotonic()
    with open(path) as f:
        r = parse_dnsperf(f.read())
    r["server_cpu"] = round((c1 - c0) / (t1 - t0), 3)
    r["us_cpu_per_query"] = round(r["server_cpu"] / r["qps"] * 1e6, 3) if r["qps"] else None
    r["waited_for_quiet_s"] = round(waited, 1)
    r["loadavg"] = loadavg()
    return r


def pin(pid: int) -> None:
    """Every thread of `pid` onto the server CPU (Knot pins its workers itself)."""
    subprocess.run(["taskset", "-a", "-p", "-c", SERVER_CPU, str(pid)], capture_output=True)


def ensure_data(args) -> str:
    """The generated data set, made once in --data."""
    data = os.path.abspath(args.data)
    if not os.path.exists(os.path.join(data, "meta.json")):
        log(f"generating data set {args.set} in {data}")
        os.makedirs(data, exist_ok=True)
        subprocess.run([sys.executable, GEN, "--set", args.set, "--out", data], check=True,
                       stdout=subprocess.DEVNULL)
    return data


def timed(cmd: list) -> tuple:
    """Runs `cmd` under /usr/bin/time: (stdout, stderr, seconds, peak RSS MiB, CPU seconds)."""
    r = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M %U %S", *cmd], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"{' '.join(cmd)} failed: {r.stderr.strip()[-2000:]}")
    m = re.search(r"TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)\s*$", r.stderr)
    return r.stdout, r.stderr, float(m.group(1)), int(m.group(2)) / 1024, float(m.group(3)) + float(m.group(4))


def ensure_store(args, data: str, zones: list) -> tuple:
    """The Candor store with every zone imported and signed, made once in
    DATA/candor-store; returns its path and how long each step took."""
    store = os.path.join(data, "candor-store")
    done = os.path.join(store, ".signed-peers-done")
    if os.path.exists(done):
        with open(done) as f:
            return store, json.load(f)
    shutil.rmtree(store, ignore_errors=True)
    log(f"making the Candor store in {store} ({len(zones)} zones: import, dnssec enable)")
    subprocess.run([args.binary, "init", "--email", "bench@candor.test", "--data-dir", store],
                   check=True, capture_output=True)
    steps = {"import_s": 0.0, "enable_s": 0.0, "enable_peak_rss_mib": 0.0, "enable_cpu_s": 0.0}
    for i, z in enumerate(zones):
        name = z.rstrip(".")
        # Import and signing run like the servers: on CPU 1 at the run's priority.
        _, _, secs, _, _ = timed([*PRIO, "taskset", "-c", SERVER_CPU, args.binary, "zone", "import", name,
                                  os.path.join(data, "zones", f"{name}.zone"), "--data-dir", store])
        steps["import_s"] += secs
        _, _, secs, rss, cpu = timed([*PRIO, "taskset", "-c", SERVER_CPU, args.binary, "dnssec",
                                      "enable", name, "--data-dir", store])
        steps["enable_s"] += secs
        steps["enable_cpu_s"] += cpu
        steps["enable_peak_rss_mib"] = max(steps["enable_peak_rss_mib"], rss)
        if (i + 1) % 100 == 0 or len(zones) == 1:
            log(f"  {i + 1}/{len(zones)} zones imported and signed")
    steps = {k: round(v, 2) for k, v in steps.items()}
    steps["loadavg_after"] = loadavg()
    with open(done, "w") as f:
        json.dump(steps, f)
    return store, steps


def start_candor(args, store: str, work: str, port: int):
    """`candor serve` on a copy of the store, pinned to CPU 1."""
    copy = os.path.join(work, "candor-data")
    shutil.copytree(store, copy)
    log_file = open(os.path.join(work, "candor.log"), "w")
    cmd = [*PRIO, "taskset", "-c", SERVER_CPU, args.binary, "serve", "--data-dir", copy,
           "--listen", f"127.0.0.1:{port}", "--api-listen", f"127.0.0.1:{free_port()}",
           "--redirect-listen", f"127.0.0.1:{free_port()}", "--status-listen",
           f"127.0.0.1:{free_port()}", "--workers", "1", "--dnssec-signing-threads",
           str(args.signing_threads), *args.candor_args.split()]
    return subprocess.Popen(cmd, stdout=log_file, stderr=log_file, env={**os.environ, "NO_COLOR": "1"})


def start_knot(args, data: str, work: str, port: int, zones: list):
    """knotd signing every zone itself (automatic policy, ECDSA P-256 CSK, NSEC)."""
    kdir = os.path.join(work, "knot")
    for d in ("run", "storage"):
        os.makedirs(os.path.join(kdir, d), exist_ok=True)
    zone_list = "".join(f"  - domain: {z}\n" for z in zones)
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
    any: notice
policy:
  - id: bench
    algorithm: ecdsap256sha256
    single-type-signing: on
    nsec3: off
    signing-threads: {args.signing_threads}
template:
  - id: default
    storage: "{data}/zones"
    file: "%s.zone"
    zonefile-load: whole
    zonefile-sync: -1
    journal-content: none
    dnssec-signing: on
    dnssec-policy: bench
zone:
{zone_list}""")
    log_file = open(os.path.join(kdir, "knot.log"), "w")
    return subprocess.Popen([*PRIO, "taskset", "-c", SERVER_CPU, "knotd", "-c", conf],
                            stdout=log_file, stderr=log_file)


def stop(proc) -> None:
    """TERM, then KILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def version(binary: str) -> str:
    """The Candor binary's version line."""
    r = subprocess.run([binary, "--version"], capture_output=True, text=True)
    return r.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="mixed", choices=["mixed", "large"])
    ap.add_argument("--data", help="generated data (and the Candor store) are kept here "
                    "(default /tmp/signed-peers-SET)")
    ap.add_argument("--binary", default="/work/bin-main/candor")
    ap.add_argument("--servers", default="candor,knot")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--outstanding", type=int, default=100)
    ap.add_argument("--timeout", type=int, default=2)
    ap.add_argument("--rate", type=int, default=0, help="dnsperf -Q (0: as fast as it can)")
    ap.add_argument("--do", default="0,1", help="DO bit values to measure, e.g. 1 or 0,1")
    ap.add_argument("--signing-threads", type=int, default=1,
                    help="candor --dnssec-signing-threads and Knot's signing-threads")
    ap.add_argument("--server-cpus", default="1",
                    help="CPUs of the servers (taskset list), e.g. 0,1 for a two-thread signing "
                    "run with --load-only (dnsperf always runs on CPU 0)")
    ap.add_argument("--candor-args", default="", help="more `candor serve` arguments")
    ap.add_argument("--prio", default="chrt -f 40",
                    help="command prefix of servers and dnsperf ('' for none)")
    ap.add_argument("--rt-wait", type=float, default=900,
                    help="wait at most this long for another run's real-time processes")
    ap.add_argument("--ready-timeout", type=float, default=1800)
    ap.add_argument("--load-only", action="store_true",
                    help="measure start-up (signing) time and memory only")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--json")
    args = ap.parse_args()
    PRIO[:] = args.prio.split()
    global SERVER_CPU
    SERVER_CPU = args.server_cpus
    os.sched_setaffinity(0, {int(CLIENT_CPU)})
    OURS.add(os.getpid())
    data = ensure_data(argparse.Namespace(set=args.set, data=args.data or f"/tmp/signed-peers-{args.set}"))
    with open(os.path.join(data, "zones.txt")) as f:
        zones = [z.strip() for z in f if z.strip()]
    with open(os.path.join(data, "checks.txt")) as f:
        checks = [line.split() for line in f if line.strip()]
    servers = args.servers.split(",")
    results = {"args": vars(args), "set": args.set, "zones": len(zones), "loadavg_before": loadavg(),
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "candor_version": version(args.binary), "knot_version":
               subprocess.run(["knotd", "--version"], capture_output=True, text=True).stdout.strip(),
               "servers": {}, "rounds": []}
    if "candor" in servers:
        store, steps = ensure_store(args, data, zones)
        results["candor_store"] = steps
    work = tempfile.mkdtemp(prefix="signed-peers-")
    running = {}
    try:
        for s in servers:
            waited = wait_for_quiet(args.rt_wait)
            port = free_port()
            log(f"starting {s} on 127.0.0.1:{port}")
            t0 = time.monotonic()
            proc = start_candor(args, store, work, port) if s == "candor" else \
                start_knot(args, data, work, port, zones)
            OURS.add(proc.pid)
            time.sleep(0.3)
            pin(proc.pid)
            ready = wait_signed(proc, port, zones, args.ready_timeout, t0)
            if ready is None:
                sys.exit(f"{s} did not serve every zone signed (see {work})")
            info = {"port": port, "load_s": round(ready, 2), "peak_rss_mib_loaded": round(vm_hwm_mib(proc.pid), 1),
                    "rss_mib_loaded": round(vm_hwm_mib(proc.pid, "VmRSS"), 1),
                    "cpu_s_loaded": round(cpu_seconds(proc.pid), 2), "waited_for_quiet_s": round(waited, 1),
                    "loadavg_loaded": loadavg()}
            log(f"{s}: every zone signed and served after {info['load_s']} s, "
                f"peak RSS {info['peak_rss_mib_loaded']} MiB, CPU {info['cpu_s_loaded']} s")
            results["servers"][s] = info
            running[s] = {"proc": proc, "port": port}
            if args.load_only:
                stop(proc)
                del running[s]
        if not args.load_only:
            mism = compare({s: r["port"] for s, r in running.items()}, checks)
            results["answer_mismatches"] = mism
            log(f"sample answers (DO=1): {len(checks) - len(mism)}/{len(checks)} agree"
                + (f"; differ: {', '.join(mism)}" if mism else ""))
            dos = [int(d) for d in args.do.split(",")]
            for rnd in range(1, args.rounds + 1):
                for do in dos:
                    row = {"round": rnd, "do": do}
                    for s, r in running.items():
                        m = measure(r, args, data, do == 1, work, f"{s}-r{rnd}-do{do}")
                        row[s] = m
                        log(f"round {rnd} DO={do} {s:6}: {m['qps'] or 0:>9.0f} qps, CPU {m['server_cpu']:.0%}, "
                            f"{m['us_cpu_per_query'] or 0:.2f} µs/query, {m['response_bytes']} B, "
                            f"lost {m['lost']}, load {' '.join(m['loadavg'])}")
                    results["rounds"].append(row)
            for s, r in running.items():
                results["servers"][s]["peak_rss_mib_end"] = round(vm_hwm_mib(r["proc"].pid), 1)
                results["servers"][s]["rss_mib_end"] = round(vm_hwm_mib(r["proc"].pid, "VmRSS"), 1)
    finally:
        for r in running.values():
            stop(r["proc"])
        if args.keep:
            log(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["loadavg_after"] = loadavg()
    report(results, servers)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


def report(results: dict, servers: list) -> None:
    """A markdown table: medians over rounds, per DO value, and Candor/Knot ratios."""
    print(f"\n{results['set']}: {results['zones']} zone(s), load average before "
          f"{' '.join(results['loadavg_before'])}, after {' '.join(results['loadavg_after'])}")
    if "candor_store" in results:
        st = results["candor_store"]
        print(f"\ncandor store (made once): zone import {st['import_s']} s, dnssec enable {st['enable_s']} s "
              f"({st['enable_cpu_s']} s CPU, peak RSS {st['enable_peak_rss_mib']} MiB)")
    print("\n| server | start to every zone signed and served (s) | CPU (s) | peak RSS (MiB) | RSS then (MiB) |")
    print("|---|---:|---:|---:|---:|")
    for s in servers:
        i = results["servers"].get(s, {})
        print(f"| {s} | {i.get('load_s')} | {i.get('cpu_s_loaded')} | {i.get('peak_rss_mib_loaded')} | "
              f"{i.get('rss_mib_loaded', '–')} |")
    if not results["rounds"]:
        return
    print("\n| DO | server | qps (median) | qps vs Knot | CPU | µs CPU/query (median) | CPU/query vs Knot (each round) | response B | lost |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for do in sorted({r["do"] for r in results["rounds"]}):
        rows = [r for r in results["rounds"] if r["do"] == do]
        for s in servers:
            ms = [r[s] for r in rows if s in r]
            qps = statistics.median(m["qps"] or 0 for m in ms)
            us = statistics.median(m["us_cpu_per_query"] or 0 for m in ms)
            cpu = statistics.median(m["server_cpu"] for m in ms)
            ratios = [r[s]["us_cpu_per_query"] / r["knot"]["us_cpu_per_query"]
                      for r in rows if "knot" in r and s in r and r["knot"]["us_cpu_per_query"]]
            qratios = [r[s]["qps"] / r["knot"]["qps"] for r in rows
                       if "knot" in r and s in r and r["knot"]["qps"] and r[s]["qps"]]
            rtxt = f"{statistics.median(ratios):.2f} ({' '.join(f'{x:.2f}' for x in ratios)})" if ratios else "–"
            qtxt = f"{statistics.median(qratios):.2f}" if qratios else "–"
            print(f"| {do} | {s} | {qps:,.0f} | {qtxt} | {cpu:.0%} | {us:.2f} | {rtxt} | "
                  f"{ms[0]['response_bytes']} | {sum(m['lost'] or 0 for m in ms)} |")


if __name__ == "__main__":
    main()
