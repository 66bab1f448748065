#!/usr/bin/env python3
"""A random-subdomain flood against one zone at saturation, and what the
other zones' legitimate clients get meanwhile (issue 15, points 3 and 4).

Each server is started on a free port of 127.0.0.1, pinned to CPU 1, with
one UDP worker, serving `--zones` small zones (z0000.test ... with SOA, NS
and `www` A) and the attacked zone victim.test. On CPU 0:

  flood   dnsperf from 127.0.0.2 replaying random names under victim.test
          (every one NXDOMAIN, never the same twice in a run) as fast as it
          can (`--dnsperf`, default `-c 8 -q 20000 -t 0.01`: dnsperf waits for
          answers, and a short timeout keeps the responses a rate limiter
          drops from slowing it down): what one load-generator core sends;
  legit   this script from 127.0.0.3, `--legit` queries a second for
          `www.zNNNN.test A` over the other zones (the isolation client),
          and `--victim-legit` a second for `www.victim.test A` (the
          attacked zone's own real users), each with its own ID, answered
          within 1 s or lost.

Reported per server and round: the flood's rate and the share answered,
the legit clients' answered share and latency p50/p99 (from this script,
so they include its own scheduling on the loaded CPU 0; the same for every
server), the server's CPU. Servers:

  candor     `candor serve` with its defaults (RRL on: 200/s, slip 2;
             cookies on; per-zone accounting and fair-share shedding on);
  candor-noshed  the same with --no-zone-traffic (no shedding);
  knot       Knot DNS 3.2 with mod-rrl (rate-limit 200, slip 2) and
             mod-cookies, one UDP worker.

With --no-rrl both run without rate limiting (Candor --rrl-rate 0, Knot
without mod-rrl, cookies on): every flood query is answered, so dnsperf
sends at full speed (`--dnsperf "-c 8 -q 500 -t 1"`) and saturates them.

    bench/subdomain_flood.py [--binary target/release/candor] [--knotd knotd]
        [--zones 1000] [--seconds 10] [--rounds 1] [--legit 2000]
        [--victim-legit 200] [--servers candor,candor-noshed,knot]
        [--json bench/results/subdomain_flood.json]

Python 3 standard library, dnsperf and taskset. Only 127.0.0.0/8 is used.
"""

import argparse
import json
import os
import random
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

VICTIM = "victim.test"


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
    return subprocess.Popen(["taskset", "-c", "1", binary, "serve", "--zones", zones_dir,
                             "--listen", f"127.0.0.1:{port}", "--workers", "1", *extra],
                            stdout=log, stderr=log, env={**os.environ, "NO_COLOR": "1"})


def start_knot(knotd, work, zones_dir, port, zones, rrl):
    kdir = os.path.join(work, "knot")
    for d in ("run", "storage"):
        os.makedirs(os.path.join(kdir, d), exist_ok=True)
    zone_list = "".join(f'  - domain: "{z}."\n    file: "{zones_dir}/{z}.zone"\n' for z in zones)
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
    proc = subprocess.Popen(["taskset", "-c", "1", knotd, "-c", conf], stdout=log, stderr=log)
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
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Legit:
    """A paced client from one address asking for a list of names."""

    def __init__(self, port, source, qnames, rate, seconds):
        self.port, self.qnames, self.rate, self.seconds = port, qnames, rate, seconds
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((source, 0))
        self.sock.settimeout(0.05)
        self.sent = {}
        self.latencies = []
        self.done = False

    def receive(self):
        while not self.done:
            try:
                r = self.sock.recv(4096)
            except OSError:
                continue
            now = time.monotonic()
            if len(r) < 12 or r[3] & 0x0F != 0 or r[2] & 0x02:
                continue
            qid = struct.unpack(">H", r[:2])[0]
            t = self.sent.pop(qid, None)
            if t is not None and now - t <= 1.0:
                self.latencies.append(now - t)

    def run(self):
        reader = threading.Thread(target=self.receive)
        reader.start()
        start = time.monotonic()
        total = int(self.rate * self.seconds)
        packets = [query(i % 65536, self.qnames[i % len(self.qnames)]) for i in range(min(total, 65536))]
        count = 0
        for k in range(total):
            due = start + k / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            qid = k % 65536
            self.sent[qid] = time.monotonic()
            self.sock.sendto(packets[k % len(packets)], ("127.0.0.1", self.port))
            count += 1
        time.sleep(1.0)
        self.done = True
        reader.join()
        self.count = count
        self.achieved = count / max(time.monotonic() - start - 1.0, 1e-9)

    def result(self):
        lat = sorted(self.latencies)
        pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p / 100))] * 1000 if lat else None
        return {"sent": self.count, "answered": len(lat),
                "answered_share": len(lat) / max(self.count, 1),
                "rate": round(self.achieved), "p50_ms": pct(50), "p99_ms": pct(99)}


def measure(port, pid, args, flood_file, zones):
    flood = subprocess.Popen(["taskset", "-c", "0", "dnsperf", "-s", "127.0.0.1", "-p", str(port),
                              "-a", "127.0.0.2", "-d", flood_file, *args.dnsperf.split(),
                              "-l", str(args.seconds + 4)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(2.0)  # the flood reaches saturation; the server adapts
    cpu0 = cpu_seconds(pid)
    t0 = time.monotonic()
    others = Legit(port, "127.0.0.3", [f"www.{z}" for z in zones], args.legit, args.seconds)
    victim = Legit(port, "127.0.0.4", [f"www.{VICTIM}"], args.victim_legit, args.seconds)
    threads = [threading.Thread(target=c.run) for c in (others, victim)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
    out, _ = flood.communicate()
    get = lambda key: next((l.split(":", 1)[1].split()[0] for l in out.splitlines() if key in l), "0")
    return {"flood_qps": int(get("Queries sent")) / (args.seconds + 4),
            "flood_answered_qps": float(get("Queries per second")),
            "flood_sent": int(get("Queries sent")),
            "flood_answered": int(get("Queries completed")),
            "others": others.result(), "victim_zone": victim.result(),
            "server_cpu": round(cpu, 3)}


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
    ap.add_argument("--dnsperf", default="-c 8 -q 20000 -t 0.01",
                    help="dnsperf's flood options: many in flight and a short timeout, so that "
                         "responses the rate limiter drops do not slow the flood down")
    ap.add_argument("--json")
    args = ap.parse_args()
    os.sched_setaffinity(0, {0})
    work = tempfile.mkdtemp(prefix="subdomain-flood-")
    zones_dir = os.path.join(work, "zones")
    os.makedirs(zones_dir)
    zones = names(args.zones)
    for z in zones + [VICTIM]:
        with open(os.path.join(zones_dir, f"{z}.zone"), "w") as f:
            f.write(zone_text(z))
    rng = random.Random(15)
    flood_file = os.path.join(work, "flood.txt")
    with open(flood_file, "w") as f:
        for _ in range(3_000_000):
            f.write(f"{rng.getrandbits(40):010x}.{VICTIM} A\n")
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    results = {"load_before": load, "args": vars(args), "runs": []}
    for rnd in range(args.rounds):
        for server in args.servers.split(","):
            port = free_port()
            if server.startswith("candor"):
                extra = ["--no-zone-traffic"] if server == "candor-noshed" else []
                if args.no_rrl:
                    extra.append("--rrl-rate=0")
                proc = start_candor(args.binary, zones_dir, port, extra)
            else:
                proc = start_knot(args.knotd, work, zones_dir, port, zones + [VICTIM], not args.no_rrl)
            try:
                if not ready(port, zones[-1]) or not ready(port, VICTIM):
                    sys.exit(f"{server} did not answer")
                r = measure(port, proc.pid, args, flood_file, zones)
            finally:
                stop(proc)
            r.update(server=server, round=rnd + 1)
            results["runs"].append(r)
            o, v = r["others"], r["victim_zone"]
            print(f"{server:14} round {rnd + 1}: flood {r['flood_qps']:>9.0f} qps "
                  f"({r['flood_answered'] / max(r['flood_sent'], 1):.1%} answered) | other zones "
                  f"{o['answered_share']:.2%} p50 {o['p50_ms'] or 0:.2f} p99 {o['p99_ms'] or 0:.2f} ms "
                  f"({o['rate']}/s) | victim zone {v['answered_share']:.2%} p99 {v['p99_ms'] or 0:.2f} ms "
                  f"| server cpu {r['server_cpu']:.0%}", flush=True)
    with open("/proc/loadavg") as f:
        results["load_after"] = f.read().split()[:3]
    print(f"load average before {' '.join(load)}, after {' '.join(results['load_after'])}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
