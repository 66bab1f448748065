#!/usr/bin/env python3
"""API change -> answered by every secondary, in a fleet of Candor servers.

Starts a hidden primary (`candor serve` with the store, the API and a
catalog zone) and three Candor secondaries that follow its catalog
(`--secondary-catalog`), all on 127.0.0.1; creates ZONES zones (default
1,000) through the API, each with one A record, and waits until every
secondary serves every zone. Then changes the A record of a random zone
CHANGES times (default 200) and, after each API response, polls every
secondary over UDP until it answers the new address. Prints p50/p90/p99/max
of the time from the API's response to the first answer with the change on
each secondary and on the last of them ("every secondary"), and the DNS
polls made.

    bench/fleet.py [--zones 1000] [--changes 200] [--binary target/release/candor]
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

SECONDARIES = 3


def free_port() -> int:
    """A free TCP and UDP port on 127.0.0.1 (below the ephemeral range)."""
    while True:
        port = random.randrange(12000, 30000)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                t.bind(("127.0.0.1", port))
                u.bind(("127.0.0.1", port))
                return port
        except OSError:
            continue


def dns_query(name: str, qid: int, qtype: int = 1) -> bytes:
    """A query for `name`, no EDNS."""
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", qtype, 1)


def first_a(resp: bytes) -> str | None:
    """The first A record's address in a response."""
    if len(resp) < 12:
        return None
    an = struct.unpack(">H", resp[6:8])[0]
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


def start(binary: str, work: str, name: str, args: list[str],
          api_port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Starts `candor serve` with its own data directory and free HTTP ports
    (the API on `api_port` if given)."""
    log_path = os.path.join(work, f"{name}.log")
    log = open(log_path, "w+")
    cmd = [binary, "serve", "--data-dir", os.path.join(work, name), "--no-status",
           "--api-listen", f"127.0.0.1:{api_port or free_port()}",
           "--redirect-listen", f"127.0.0.1:{free_port()}", *args]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, env={**os.environ, "NO_COLOR": "1"})
    return proc, log_path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zones", type=int, default=1000)
    ap.add_argument("--changes", type=int, default=200)
    ap.add_argument("--binary", default="target/release/candor")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="candor-fleet-")
    procs = []
    try:
        dns, api_port = free_port(), free_port()
        sec_ports = [free_port() for _ in range(SECONDARIES)]
        primary_args = ["--listen", f"127.0.0.1:{dns}", "--api-rate-limit", "10000000",
                        "--catalog", "catalog.invalid", "--xfr-allow", "127.0.0.1"]
        for p in sec_ports:
            primary_args += ["--notify", f"127.0.0.1:{p}"]
        proc, plog = start(args.binary, work, "primary", primary_args, api_port)
        procs.append(proc)
        token = None
        for _ in range(400):
            time.sleep(0.05)
            m = re.search(r"API token \(shown once, store it now\): (\S+)", open(plog).read())
            if m:
                token = m.group(1)
                break
        if not token:
            sys.exit("no token in the primary's log:\n" + open(plog).read())
        for i, p in enumerate(sec_ports):
            sp, _ = start(args.binary, work, f"secondary{i}",
                          ["--no-demo", "--listen", f"127.0.0.1:{p}",
                           "--secondary-catalog", f"catalog.invalid@127.0.0.1:{dns}"])
            procs.append(sp)
        api = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
        for _ in range(200):
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

        zones, records = [], []
        t0 = time.perf_counter()
        for i in range(args.zones):
            zone = f"z{i:05d}.bench.test"
            status, body = call("POST", "/v2/1/domains", {"name": zone})
            if status != 201:
                sys.exit(f"cannot create {zone}: {status} {body}")
            status, body = call("POST", f"/v2/1/zones/{zone}/records",
                                {"name": "prop", "type": "A", "content": "10.0.0.1", "ttl": 60})
            if status != 201:
                sys.exit(f"cannot create the record in {zone}: {status} {body}")
            zones.append(zone)
            records.append(body["data"]["id"])
        created = time.perf_counter() - t0

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(0.2)

        def ask(port: int, name: str, qid: int) -> str | None:
            sock.sendto(dns_query(name, qid), ("127.0.0.1", port))
            deadline = time.perf_counter() + 0.2
            while time.perf_counter() < deadline:
                try:
                    resp, src = sock.recvfrom(4096)
                except socket.timeout:
                    return None
                if src[1] == port and resp[:2] == struct.pack(">H", qid):
                    return first_a(resp)
            return None

        # Every secondary serves every zone.
        t0 = time.perf_counter()
        for p in sec_ports:
            for zone in zones:
                while ask(p, f"prop.{zone}", random.randrange(65536)) != "10.0.0.1":
                    if time.perf_counter() - t0 > 600:
                        sys.exit(f"secondary {p} does not serve {zone} after 600 s")
                    time.sleep(0.05)
        synced = time.perf_counter() - t0

        per = [[] for _ in sec_ports]
        every, polls = [], 0
        for i in range(args.changes):
            k = random.randrange(len(zones))
            ip = f"10.{1 + (i >> 16) & 255}.{(i >> 8) & 255}.{i & 255 or 1}"
            status, _ = call("PATCH", f"/v2/1/zones/{zones[k]}/records/{records[k]}", {"content": ip})
            answered = time.perf_counter()
            if status != 200:
                sys.exit(f"change {i} failed: {status}")
            waiting = set(range(len(sec_ports)))
            while waiting:
                for j in list(waiting):
                    polls += 1
                    if ask(sec_ports[j], f"prop.{zones[k]}", random.randrange(65536)) == ip:
                        per[j].append((time.perf_counter() - answered) * 1000)
                        waiting.discard(j)
                if time.perf_counter() - answered > 60:
                    sys.exit(f"change {i} not served by secondaries {waiting} after 60 s")
            every.append((time.perf_counter() - answered) * 1000)

        print(f"zones: {args.zones} (created through the API in {created:.1f} s; every secondary "
              f"served all of them {synced:.1f} s later), secondaries: {len(sec_ports)}, "
              f"changes: {args.changes}, DNS polls: {polls}")
        rows = [(f"secondary {j + 1}", v) for j, v in enumerate(per)] + [("every secondary", every)]
        for label, vals in rows:
            print(f"API response -> answered by {label}: p50 {percentile(vals, 50):.1f} ms, "
                  f"p90 {percentile(vals, 90):.1f} ms, p99 {percentile(vals, 99):.1f} ms, "
                  f"max {max(vals):.1f} ms")
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if os.environ.get("KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
