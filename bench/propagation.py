#!/usr/bin/env python3
"""How fast an API change is served, under load.

Starts `candor serve` on a fresh data directory (server on CPU 1), puts
dnsperf load on the demo zone (CPU 0), then changes one A record through the
REST API N times (default 1000). After each response it queries the name
server over UDP until the new address is answered, and records the time from
the API's response to that first answer (and from the request being sent).
Prints p50/p90/p99/max and dnsperf's lost/failed queries during the run.

    bench/propagation.py [--changes 1000] [--binary target/release/candor]

With `--zone-file FILE --zone NAME` the data directory is made with
`candor init` and `candor zone import NAME FILE` before the server starts
(e.g. the 1,000,000-record zone of `gen_zones.py --set large`), the changed
record `prop.NAME A` is created in that zone, and dnsperf asks `--queries
FILE` (default: the apex SOA, `prop` and random NXDOMAIN names of NAME).
`--json OUT` also writes every latency. With `--new-names` each change
creates a record at a new name (`prop0`, `prop1`, ...) instead, so the
zone's overlay grows past its limit (docs/incremental.md: compaction).
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time


def dns_query(name: str, qid: int) -> bytes:
    """A query for `name` A, no EDNS."""
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", 1, 1)


def first_a(resp: bytes) -> str | None:
    """The first A record's address in a response (owner compressed to the question)."""
    qd, an = struct.unpack(">HH", resp[4:8])
    pos = 12
    while resp[pos] != 0:
        pos += resp[pos] + 1
    pos += 5
    for _ in range(an):
        if resp[pos] & 0xC0 == 0xC0:
            pos += 2
        else:
            while resp[pos] != 0:
                pos += resp[pos] + 1
            pos += 1
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", resp[pos:pos + 10])
        pos += 10
        if rtype == 1 and rdlen == 4:
            return ".".join(str(b) for b in resp[pos:pos + 4])
        pos += rdlen
    return None


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--binary", default="target/release/candor")
    ap.add_argument("--dns-port", type=int, default=15399)
    ap.add_argument("--api-port", type=int, default=15398)
    ap.add_argument("--zone-file", help="import this zone file into a fresh store first")
    ap.add_argument("--new-names", action="store_true",
                    help="create a record at a new name per change instead of changing one")
    ap.add_argument("--zone", help="the imported zone's name (with --zone-file)")
    ap.add_argument("--queries", help="dnsperf input for the load (default: a mix on the zone)")
    ap.add_argument("--json", help="write the figures and every latency here")
    ap.add_argument("--load-rate", type=int, default=None,
                    help="dnsperf's fixed rate in queries a second (-Q); 0: no dnsperf at all "
                         "(default: as fast as 4x50 in flight go)")
    ap.add_argument("--log", help="copy the server's log here at the end")
    ap.add_argument("--candor-arg", action="append", default=[],
                    help="one more `serve` argument (repeat), e.g. --candor-arg=--rrl-rate=0: "
                         "dnsperf's NXDOMAIN names for one zone from one address are a flood to "
                         "the rate limiter, which then drops dnsperf's queries and the polls")
    args = ap.parse_args()
    if bool(args.zone_file) != bool(args.zone):
        sys.exit("--zone-file and --zone go together")
    for tool in ("dnsperf", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed (apt-get install dnsperf util-linux)")

    work = tempfile.mkdtemp(prefix="candor-prop-")
    log = open(os.path.join(work, "candor.log"), "w+")
    data = os.path.join(work, "data")
    zone = args.zone.rstrip(".") if args.zone else "example.com"
    token = None
    import_seconds = None
    if args.zone_file:
        init = subprocess.run([args.binary, "init", "--email", "bench@candor.test", "--data-dir", data],
                              capture_output=True, text=True, check=True)
        token = init.stdout.strip().splitlines()[-1]
        t0 = time.perf_counter()
        subprocess.run([args.binary, "zone", "import", zone, args.zone_file, "--data-dir", data],
                       capture_output=True, text=True, check=True)
        import_seconds = time.perf_counter() - t0
        print(f"imported {args.zone_file} as {zone} in {import_seconds:.2f} s", flush=True)
    started = time.perf_counter()
    server = subprocess.Popen(
        ["taskset", "-c", "1", args.binary, "serve", "--data-dir", data,
         "--listen", f"127.0.0.1:{args.dns_port}", "--api-listen", f"127.0.0.1:{args.api_port}",
         "--workers", "1", "--api-rate-limit", "100000",
         "--redirect-listen", f"127.0.0.1:{args.api_port - 1}", *args.candor_arg],
        stdout=log, stderr=log, env={**os.environ, "NO_COLOR": "1"})
    dnsperf = None
    try:
        for _ in range(200):
            if token:
                break
            time.sleep(0.05)
            log.seek(0)
            m = re.search(r"API token \(shown once, store it now\): (\S+)", log.read())
            if m:
                token = m.group(1)
                break
        if not token:
            log.seek(0)
            sys.exit("no token in the server log:\n" + log.read())
        api = http.client.HTTPConnection("127.0.0.1", args.api_port, timeout=10)
        for _ in range(1200):
            try:
                api.connect()
                break
            except OSError:
                time.sleep(0.05)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
            api.request(method, path, body=json.dumps(body) if body else None, headers=headers)
            r = api.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data else {})

        print(f"API up {time.perf_counter() - started:.2f} s after start", flush=True)
        status, created = call("POST", f"/v2/1/zones/{zone}/records",
                               {"name": "prop", "type": "A", "content": "10.0.0.1", "ttl": 60})
        if status != 201:
            sys.exit(f"cannot create the record: {status} {created}")
        record = created["data"]["id"]

        queries = args.queries or os.path.join(work, "queries.txt")
        if not args.queries:
            with open(queries, "w") as f:
                for _ in range(100000):
                    f.write(random.choice([f"{zone} A", f"www.{zone} A", f"mail.{zone} A",
                                           f"{zone} MX", "nx%d.%s A" % (random.randrange(10**6), zone),
                                           f"prop.{zone} A"]) + "\n")
        if args.load_rate != 0:
            rate = ["-Q", str(args.load_rate)] if args.load_rate else []
            dnsperf = subprocess.Popen(
                ["taskset", "-c", "0", "dnsperf", "-s", "127.0.0.1", "-p", str(args.dns_port), "-d", queries,
                 "-c", "4", "-q", "50", "-t", "2", "-l", "3600", *rate],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            time.sleep(2)

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(0.5)
        after_response, after_request, polls = [], [], 0
        for i in range(args.changes):
            ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255 or 1}"
            if ip == "10.0.0.1":
                ip = "10.255.255.254"
            sent = time.perf_counter()
            if args.new_names:
                name = f"prop{i}.{zone}"
                status, _ = call("POST", f"/v2/1/zones/{zone}/records",
                                 {"name": f"prop{i}", "type": "A", "content": ip, "ttl": 60})
                status = 200 if status == 201 else status
            else:
                name = f"prop.{zone}"
                status, _ = call("PATCH", f"/v2/1/zones/{zone}/records/{record}", {"content": ip})
            answered = time.perf_counter()
            if status != 200:
                sys.exit(f"change {i} failed: {status}")
            while True:
                polls += 1
                sock.sendto(dns_query(name, i & 0xFFFF), ("127.0.0.1", args.dns_port))
                try:
                    resp, _ = sock.recvfrom(4096)
                except socket.timeout:
                    continue
                if first_a(resp) == ip:
                    break
            served = time.perf_counter()
            after_response.append((served - answered) * 1000)
            after_request.append((served - sent) * 1000)

        out = ""
        if dnsperf:
            dnsperf.send_signal(signal.SIGINT)
            out = dnsperf.communicate(timeout=30)[0]
            dnsperf = None
        lost = re.search(r"Queries lost:\s+(\d+)", out)
        codes = re.search(r"Response codes:\s+(.*)", out)
        qps = re.search(r"Queries per second:\s+([\d.]+)", out)
        print(f"changes: {args.changes}, DNS polls: {polls} ({polls / args.changes:.2f} per change)")
        for label, vals in (("API response -> first answer with the change", after_response),
                            ("API request sent -> first answer with the change", after_request)):
            print(f"{label}: p50 {percentile(vals, 50):.3f} ms, p90 {percentile(vals, 90):.3f} ms, "
                  f"p99 {percentile(vals, 99):.3f} ms, max {max(vals):.3f} ms")
        print(f"dnsperf during the changes: {qps.group(1) if qps else '?'} qps, "
              f"lost {lost.group(1) if lost else '?'}, rcodes: {codes.group(1) if codes else '?'}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"zone": zone, "zone_file": args.zone_file, "import_seconds": import_seconds,
                           "changes": args.changes, "new_names": args.new_names, "polls": polls, "candor_args": args.candor_arg, "load_rate": args.load_rate,
                           "load_avg": os.getloadavg(),
                           "after_response_ms": {p: percentile(after_response, p) for p in (50, 90, 99)}
                           | {"max": max(after_response)},
                           "after_request_ms": {p: percentile(after_request, p) for p in (50, 90, 99)}
                           | {"max": max(after_request)},
                           "dnsperf": {"qps": qps.group(1) if qps else None,
                                       "lost": lost.group(1) if lost else None,
                                       "rcodes": codes.group(1) if codes else None},
                           "after_response_all_ms": after_response,
                           "after_request_all_ms": after_request}, f, indent=1)
        return 0
    finally:
        if dnsperf:
            dnsperf.kill()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        if args.log:
            shutil.copy(os.path.join(work, "candor.log"), args.log)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
