#!/usr/bin/env python3
"""A 1M-record AXFR while UDP load runs: are UDP answers lost? (issue 10)

The release-build counterpart of the integration test
`xfr_flood::a_big_transfer_loses_no_udp_answers` (which a debug build can
only run on a smaller zone). Per server (Candor, and Knot DNS for
comparison, `--servers candor,knot`), on 127.0.0.1:

- the server on CPU 1 (Candor: `--workers 1 --xfr-allow 127.0.0.1`; Knot:
  one UDP, one TCP, one background worker), serving one zone `big.test` of
  `--records` A records `hNNNN` (the zone file from `--zones-dir`, or
  generated);
- on CPU 0, `candor-flood flood` sends `--flood-rate` random names under
  `big.test` (from 127.0.0.2, open loop; 0 = none), and `candor-flood legit`
  asks `hNNNN.big.test A` for every host in turn at `--legit` queries a
  second (from 127.0.0.3), counting an answer lost if it is not NOERROR
  within 1 s;
- after `--before` seconds, kdig fetches the zone by AXFR (`+noall +stats`,
  which reads every message) `--transfers` times in a row; the legit client
  runs `--before` seconds longer than the transfers took.

Prints, per server, the transfer times, the records received, and the legit
client's sent/answered/latency, with the load average; `--json OUT` keeps it.

    cargo build --release -p candor -p candor-flood
    bench/axfr_flood.py [--records 1000000] [--servers candor,knot] [--json OUT]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ZONE = "big.test"


def write_zone(path: str, records: int) -> None:
    """SOA, NS, the NS's A and `records` hosts hNNNN (candor-flood's padding)."""
    with open(path, "w") as f:
        f.write(f"$TTL 300\n@ SOA ns1.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 60\n")
        f.write("@ NS ns1\nns1 A 192.0.2.1\n")
        for i in range(records):
            f.write(f"h{i:04d} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n")


def wait_soa(port: int, timeout: float = 120.0) -> float:
    """Polls an SOA query until it is answered; returns the seconds it took."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        out = subprocess.run(["kdig", "+short", "+timeout=1", "+retry=0", f"@127.0.0.1", "-p",
                              str(port), ZONE, "SOA"], capture_output=True, text=True).stdout
        if out.strip():
            return time.monotonic() - t0
        time.sleep(0.1)
    sys.exit(f"no SOA answer on port {port} within {timeout} s")


def start_candor(args, zones: str, port: int, work: str) -> subprocess.Popen:
    """`candor serve` on CPU 1 with transfers allowed to 127.0.0.1."""
    log = open(os.path.join(work, "candor.log"), "w")
    return subprocess.Popen(
        ["taskset", "-c", "1", args.binary, "serve", "--zones", zones, "--listen", f"127.0.0.1:{port}",
         "--workers", "1", "--xfr-allow", "127.0.0.1", *args.candor_arg],
        stdout=log, stderr=log, env={**os.environ, "NO_COLOR": "1"})


def start_knot(zones: str, port: int, work: str) -> subprocess.Popen:
    """knotd on CPU 1, one worker of each kind, transfers allowed to 127.0.0.1."""
    kdir = os.path.join(work, "knot")
    os.makedirs(os.path.join(kdir, "run"), exist_ok=True)
    os.makedirs(os.path.join(kdir, "storage"), exist_ok=True)
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
acl:
  - id: local
    address: 127.0.0.1
    action: transfer
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "{kdir}/storage"
    zonefile-sync: -1
    journal-content: none
    semantic-checks: off
zone:
  - domain: {ZONE}.
    file: "{zones}/{ZONE}.zone"
    acl: local
""")
    log = open(os.path.join(work, "knot.log"), "w")
    proc = subprocess.Popen(["taskset", "-c", "1", "knotd", "-c", conf], stdout=log, stderr=log)
    return proc


def pin_threads(pid: int, cpu: int) -> None:
    """Knot pins its UDP workers itself: put every thread back on `cpu`."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        subprocess.run(["taskset", "-p", "-c", str(cpu), tid], capture_output=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def udp_drops(port: int) -> dict:
    """Datagrams the kernel dropped so far at each party's sockets (the
    `drops` column of /proc/net/udp: a full receive buffer), and the
    host's UDP receive-buffer errors: where a lost answer was lost."""
    out = {"server": 0, "flood": 0, "legit": 0}
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, drops = fields[1], int(fields[-1])
            ip, lport = local.split(":")
            if int(lport, 16) == port:
                out["server"] += drops
            elif ip == "0200007F":
                out["flood"] += drops
            elif ip == "0300007F":
                out["legit"] += drops
    with open("/proc/net/snmp") as f:
        rows = [l.split() for l in f if l.startswith("Udp:")]
    out["host_rcvbuf_errors"] = int(rows[1][rows[0].index("RcvbufErrors")])
    return out


def run(args, server: str, zones: str, port: int, work: str) -> dict:
    """One server: load, transfers during the load, the legit client's result."""
    proc = start_candor(args, zones, port, work) if server == "candor" else start_knot(zones, port, work)
    try:
        load = wait_soa(port)
        if server == "knot":
            pin_threads(proc.pid, 1)
        target = f"127.0.0.1:{port}"
        xfr_time = args.transfers * args.expect_xfr_s
        seconds = args.before * 2 + xfr_time
        flood = None
        if args.flood_rate > 0:
            flood = subprocess.Popen(
                ["taskset", "-c", "0", args.flooder, "flood", "--target", target, "--zone", ZONE,
                 "--rate", str(args.flood_rate), "--seconds", str(seconds + 2)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        legit = subprocess.Popen(
            ["taskset", "-c", "0", *(["chrt", "-f", "50"] if args.rt else []), args.flooder, "legit",
             "--target", target, "--source", "127.0.0.3", "--seconds", str(seconds),
             "--stream", f"h{{}}.{ZONE}:{args.records}@{args.legit}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(args.before)
        drops0 = udp_drops(port)
        cpu0 = cpu_seconds(proc.pid)
        transfers = []
        for _ in range(args.transfers):
            t0 = time.monotonic()
            out = subprocess.run(["taskset", "-c", "0", "kdig", "+noall", "+stats", "@127.0.0.1", "-p",
                                  str(port), ZONE, "AXFR"], capture_output=True, text=True)
            transfers.append({"seconds": round(time.monotonic() - t0, 3),
                              "received": next((l.strip("; ") for l in out.stdout.splitlines()
                                                if "Received" in l), out.stderr.strip()[:200])})
        cpu = cpu_seconds(proc.pid) - cpu0
        drops1 = udp_drops(port)
        drops = {k: drops1[k] - drops0[k] for k in drops1}
        legit_out, legit_err = legit.communicate(timeout=seconds + 60)
        flood_out = flood.communicate(timeout=60)[0] if flood else ""
        if legit.returncode:
            sys.exit(f"candor-flood legit failed: {legit_err}")
        streams = json.loads(legit_out)["streams"]
        if xfr_time < sum(t["seconds"] for t in transfers):
            print(f"warning: the transfers took longer than --expect-xfr-s x --transfers; the legit "
                  f"client may have stopped before they ended", file=sys.stderr)
        return {"server": server, "load_s": round(load, 2), "transfers": transfers,
                "server_cpu_s_during_transfers": round(cpu, 2), "legit": streams,
                "udp_drops_during_transfers": drops,
                "flood": json.loads(flood_out) if flood_out.strip() else None,
                "load_avg": os.getloadavg()}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--servers", default="candor,knot")
    ap.add_argument("--binary", default="target/release/candor")
    ap.add_argument("--flooder", default="target/release/candor-flood")
    ap.add_argument("--legit", type=int, default=2000, help="legit queries a second")
    ap.add_argument("--flood-rate", type=int, default=50000, help="flood queries a second (0: none)")
    ap.add_argument("--transfers", type=int, default=2)
    ap.add_argument("--expect-xfr-s", type=float, default=6.0,
                    help="seconds one transfer is expected to take (sizes the client's run)")
    ap.add_argument("--before", type=float, default=2.0)
    ap.add_argument("--candor-arg", action="append", default=[])
    ap.add_argument("--no-rt", dest="rt", action="store_false",
                    help="run the legit client at normal priority (default: chrt -f 50)")
    ap.add_argument("--json")
    args = ap.parse_args()
    for tool in ("kdig", "taskset", "knotd"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed")
    work = tempfile.mkdtemp(prefix="candor-axfr-flood-")
    try:
        zones = os.path.join(work, "zones")
        os.makedirs(zones)
        write_zone(os.path.join(zones, f"{ZONE}.zone"), args.records)
        results = []
        for i, server in enumerate(args.servers.split(",")):
            r = run(args, server, zones, 15421 + i, work)
            results.append(r)
            s = r["legit"][0]
            print(f"{server}: load {r['load_s']} s; transfers "
                  + ", ".join(f"{t['seconds']} s ({t['received']})" for t in r["transfers"])
                  + f"; server CPU during them {r['server_cpu_s_during_transfers']} s; legit "
                  + json.dumps({k: v for k, v in s.items() if k != "template"})
                  + (f"; flood sent {r['flood'].get('sent')}" if r["flood"] else "")
                  + f"; UDP drops during the transfers {r['udp_drops_during_transfers']}"
                  + f"; load average {r['load_avg'][0]:.2f}", flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"args": vars(args), "results": results}, f, indent=1)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
