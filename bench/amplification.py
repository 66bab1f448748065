#!/usr/bin/env python3
"""Delivered amplification from one spoofed source: how many bytes does a
server send to a victim for each byte an attacker sends it?

Starts each server on a free port on 127.0.0.1 (pinned to CPU 1), serving
one zone with a ~1.1 kB TXT record, then plays the attacker (pinned to
CPU 0): for `--seconds` it sends `--rate` queries a second for that one
TXT record (EDNS, 1232-byte buffer, so the full answer fits) from one
address, 127.0.0.3, the "victim", and counts what comes back to it:

  full       answers with the TXT record;
  truncated  TC=1 slips (the client would retry over TCP);
  badcookie  BADCOOKIE slips;
  silent     nothing.

Amplification is the response bytes divided by the query bytes (UDP
payloads; `amplification_ip` adds 28 bytes of IPv4 and UDP header to every
packet, which is what a victim's link carries). Servers:

  candor           `candor serve` with its defaults (rate limiting on:
                   200 a second per account, slip 2, window 15 s);
  candor-norrl     the same with --rrl-rate 0;
  knot             Knot DNS with mod-rrl (rate-limit 200, slip 2);
  knot-norrl       Knot DNS without it.

    bench/amplification.py [--binary target/release/candor] [--knotd knotd]
                           [--rate 20000] [--seconds 10] [--rounds 3]
                           [--servers candor,knot,candor-norrl,knot-norrl]
                           [--json bench/results/amplification.json]

Python 3 standard library only. The sender paces itself in 1 ms steps and
reports the rate it achieved.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ZONE = "amp.test"
CHUNK = "a" * 255
ZONE_TEXT = f"""$ORIGIN {ZONE}.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 900 86400 300
@ IN NS ns1
ns1 IN A 192.0.2.53
big IN TXT "{CHUNK}" "{CHUNK}" "{CHUNK}" "{CHUNK}"
"""

#----------- DNS ---------------------------------------------------------------


def query(qid: int) -> bytes:
    """`big.amp.test TXT` with an OPT record (1232 bytes)."""
    msg = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1)
    for label in ("big", "amp", "test"):
        msg += bytes([len(label)]) + label.encode()
    msg += b"\x00" + struct.pack(">HH", 16, 1)
    return msg + b"\x00" + struct.pack(">HHIH", 41, 1232, 0, 0)


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


def ready(port: int, timeout: float = 30.0) -> bool:
    """Polls until the server answers the query (from 127.0.0.1)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(query(7), ("127.0.0.1", port))
                if s.recv(4096)[:2] == query(7)[:2]:
                    return True
            except OSError:
                time.sleep(0.1)
    return False


#----------- Servers -----------------------------------------------------------


def start_candor(binary: str, work: str, port: int, extra: list):
    """`candor serve --zones DIR --workers 1` on CPU 1."""
    zones = os.path.join(work, "zones")
    os.makedirs(zones, exist_ok=True)
    with open(os.path.join(zones, f"{ZONE}.zone"), "w") as f:
        f.write(ZONE_TEXT)
    log = open(os.path.join(work, "candor.log"), "w")
    proc = subprocess.Popen(["taskset", "-c", "1", binary, "serve", "--zones", zones,
                             "--listen", f"127.0.0.1:{port}", "--workers", "1", *extra],
                            stdout=log, stderr=log, env={**os.environ, "NO_COLOR": "1"})
    return proc, log.name


def start_knot(knotd: str, work: str, port: int, rrl: bool):
    """knotd on CPU 1, one UDP worker, with mod-rrl (rate-limit 200, slip 2)
    if `rrl`."""
    kdir = os.path.join(work, "knot")
    for d in ("run", "storage"):
        os.makedirs(os.path.join(kdir, d), exist_ok=True)
    zone = os.path.join(kdir, f"{ZONE}.zone")
    with open(zone, "w") as f:
        f.write(ZONE_TEXT)
    module = "mod-rrl:\n  - id: default\n    rate-limit: 200\n    slip: 2\n" if rrl else ""
    use = "    global-module: mod-rrl/default\n" if rrl else ""
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
{module}template:
  - id: default
    storage: "{kdir}/storage"
    journal-content: none
    zonefile-sync: -1
    zonefile-load: whole
    semantic-checks: off
{use}zone:
  - domain: "{ZONE}."
    file: "{zone}"
""")
    log = open(os.path.join(kdir, "knot.log"), "w")
    proc = subprocess.Popen(["taskset", "-c", "1", knotd, "-c", conf], stdout=log, stderr=log)
    return proc, log.name


def stop(proc) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


#----------- The attacker ------------------------------------------------------


def attack(port: int, rate: int, seconds: float) -> dict:
    """Sends `rate` queries a second for `seconds` from 127.0.0.3 and
    tallies the responses by ID (each ID is used once per 65,536)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("127.0.0.3", 0))
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    packets = [query(i) for i in range(65536)]
    qlen = len(packets[0])
    tally = {"full": 0, "truncated": 0, "badcookie": 0, "other": 0}
    bytes_in = 0
    received = 0
    sent = 0

    def drain():
        nonlocal bytes_in, received
        while True:
            try:
                r = s.recv(4096)
            except BlockingIOError:
                return
            except OSError:
                return
            received += 1
            bytes_in += len(r)
            flags = r[3] if len(r) > 3 else 0
            ancount = struct.unpack(">H", r[6:8])[0] if len(r) >= 8 else 0
            if r[2] & 0x02:
                tally["truncated"] += 1
            elif flags & 0x0F == 7:
                tally["badcookie"] += 1
            elif ancount:
                tally["full"] += 1
            else:
                tally["other"] += 1

    start = time.monotonic()
    end = start + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = int((now - start) * rate)
        while sent < due:
            try:
                s.send(packets[sent & 0xFFFF])
            except BlockingIOError:
                break
            except OSError:
                pass
            sent += 1
        drain()
        time.sleep(0.0005)
    elapsed = time.monotonic() - start
    settle = time.monotonic() + 1.0
    while time.monotonic() < settle:
        drain()
        time.sleep(0.01)
    s.close()
    bytes_out = sent * qlen
    tally["silent"] = sent - received
    return {
        "sent": sent,
        "achieved_qps": round(sent / elapsed),
        "query_bytes": bytes_out,
        "response_bytes": bytes_in,
        "responses": tally,
        "amplification": round(bytes_in / bytes_out, 3) if bytes_out else None,
        "amplification_ip": round((bytes_in + 28 * received) / (bytes_out + 28 * sent), 3)
        if sent else None,
    }


def main() -> None:
    """Every server, `--rounds` times interleaved; medians and spreads."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", default="target/release/candor")
    p.add_argument("--knotd", default=shutil.which("knotd") or "/usr/sbin/knotd")
    p.add_argument("--rate", type=int, default=20000)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--servers", default="candor,knot,candor-norrl,knot-norrl")
    p.add_argument("--json", default="bench/results/amplification.json")
    args = p.parse_args()
    os.sched_setaffinity(0, {0})

    servers = args.servers.split(",")
    results = {"command": " ".join(sys.argv), "rate": args.rate, "seconds": args.seconds,
               "query_bytes_each": len(query(0)), "rounds": {s: [] for s in servers}}
    for rnd in range(args.rounds):
        for server in servers:
            work = tempfile.mkdtemp(prefix=f"amp-{server}-")
            port = free_port()
            if server == "candor":
                proc, log = start_candor(args.binary, work, port, [])
            elif server == "candor-norrl":
                proc, log = start_candor(args.binary, work, port, ["--rrl-rate", "0"])
            else:
                proc, log = start_knot(args.knotd, work, port, rrl=(server == "knot"))
            try:
                if not ready(port):
                    raise RuntimeError(f"{server} did not answer; see {log}")
                # The readiness query came from 127.0.0.1: another account.
                row = attack(port, args.rate, args.seconds)
            finally:
                stop(proc)
            if server.startswith("candor"):
                with open(log) as f:
                    stopped = [l for l in f if " stopped " in l]
                if stopped:
                    row["server_summary"] = dict(
                        kv.split("=", 1) for kv in stopped[-1].split(" stopped ")[1].split())
            shutil.rmtree(work, ignore_errors=True)
            results["rounds"][server].append(row)
            r = row["responses"]
            print(f"round {rnd + 1} {server:13} {row['achieved_qps']:6} qps  "
                  f"amplification {row['amplification']:7.3f} (with headers "
                  f"{row['amplification_ip']:6.3f})  full {r['full']:6} tc {r['truncated']:6} "
                  f"badcookie {r['badcookie']} silent {r['silent']:6}", flush=True)
    summary = {}
    for server in servers:
        amps = [r["amplification"] for r in results["rounds"][server]]
        summary[server] = {"median": statistics.median(amps), "min": min(amps), "max": max(amps)}
        print(f"{server:13} amplification median {summary[server]['median']:.3f} "
              f"(min {summary[server]['min']:.3f}, max {summary[server]['max']:.3f})")
    results["summary"] = summary
    if args.json:
        os.makedirs(os.path.dirname(args.json), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
