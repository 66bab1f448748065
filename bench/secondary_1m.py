#!/usr/bin/env python3
"""The 1,000,000-record zone end to end through the binary: a Candor primary
(store, API) and two secondaries of it, a Candor one and Knot DNS.

All on 127.0.0.1 with free ports. The zone (`gen_zones.py --set large`, or
`--zone-file`) is imported into a fresh store (`candor init`, `candor zone
import`), one record `prop.large.example A` is created, and the primary
starts with `--xfr-allow 127.0.0.1` and `--notify` to both secondaries.

1. AXFR: the Candor secondary (`candor serve --secondary
   large.example@PRIMARY`) starts on an empty data directory; the time from
   its start until it answers the primary's serial and a host of the zone,
   until its copy is on disk, and its peak RSS (VmHWM). Then the same with
   knotd 3.2, which keeps what it receives in its journal as Candor does
   (`journal-content: all`, `zonefile-sync: -1`: no zone file written).
   The primary's peak RSS before and after.
2. IXFR: CHANGES (default 100) PATCHes of `prop` through the API; after
   each response the secondaries are polled over UDP, in turn, until each
   answers the new address: time from the API response to the first answer
   with the change, p50/p90/p99/max, per secondary. Knot takes part in the
   first KNOT_CHANGES (default 10) only and is then stopped: it applies an
   IXFR to this zone in about a second, which would stretch the run and
   share the CPU with the Candor secondary. Also each secondary's CPU time
   and bytes written to disk (/proc/PID/io write_bytes, until it stops
   writing) over its changes, and, when the Candor secondary logs them, its
   `apply_us` (applying the IXFR) and `ms` (transfer start to served) per
   IXFR.
3. Restart: the primary and the Candor secondary stop; the secondary
   starts again on its data directory and the time until it answers the
   last version is measured (with the journal replayed, when it has one).

    bench/secondary_1m.py [--binary target/release/candor]
        [--secondary-binary B] [--zone-file F] [--changes 100]
        [--knot-changes 10] [--json OUT]

`--secondary-binary` runs another build as the Candor secondary (an A/B of
the secondary alone; the primary stays `--binary`). KEEP=1 keeps the work
directory.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleet import dns_query, first_a, free_port, percentile  # noqa: E402

ZONE = "large.example"


def soa_serial(resp: bytes) -> int | None:
    """The serial of the first SOA record in a response's answer section."""
    if len(resp) < 12 or resp[3] & 0x0F != 0:
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
        if rtype == 6:
            return struct.unpack(">I", resp[pos + rdlen - 20:pos + rdlen - 16])[0]
        pos += rdlen
    return None


class Asker:
    """UDP queries to the servers on 127.0.0.1, one at a time."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(0.2)

    def ask(self, port: int, name: str, qtype: int = 1) -> bytes | None:
        """The response to one query, or None after 200 ms."""
        qid = random.randrange(65536)
        self.sock.sendto(dns_query(name, qid, qtype), ("127.0.0.1", port))
        deadline = time.perf_counter() + 0.2
        while time.perf_counter() < deadline:
            try:
                resp, src = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            if src[1] == port and resp[:2] == struct.pack(">H", qid):
                return resp
        return None

    def serial(self, port: int) -> int | None:
        """The zone's serial as `port` answers it."""
        resp = self.ask(port, ZONE, 6)
        return soa_serial(resp) if resp else None

    def a(self, port: int, name: str) -> str | None:
        """The first address `port` answers for `name`."""
        resp = self.ask(port, name)
        return first_a(resp) if resp else None


def proc_status(pid: int, key: str) -> int:
    """A /proc/PID/status field in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_ms(pid: int) -> float:
    """User + system CPU time of a process so far, in ms."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def written(pid: int) -> int:
    """Bytes a process caused to be written to storage so far."""
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def settled_writes(pid: int, limit: float = 60) -> int:
    """write_bytes once it has not moved for a second (at most `limit` s)."""
    last, since, start = written(pid), time.perf_counter(), time.perf_counter()
    while time.perf_counter() - start < limit:
        time.sleep(0.2)
        now = written(pid)
        if now != last:
            last, since = now, time.perf_counter()
        elif time.perf_counter() - since >= 1.0:
            break
    return last


def mib(kib: int) -> str:
    """KiB as MiB text."""
    return f"{kib / 1024:.1f} MiB"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default="target/release/candor")
    ap.add_argument("--secondary-binary", help="the Candor secondary's build (default --binary)")
    ap.add_argument("--zone-file", help="the zone large.example (default: gen_zones.py --set large)")
    ap.add_argument("--gen", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "..", "shared", "bench", "gen_zones.py"))
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--knot-changes", type=int, default=10)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    sec_binary = args.secondary_binary or args.binary
    if not shutil.which("knotd"):
        sys.exit("knotd is needed (apt-get install knot)")

    work = tempfile.mkdtemp(prefix="candor-sec1m-")
    procs: list[subprocess.Popen] = []
    out: dict = {"binary": args.binary, "secondary_binary": sec_binary, "changes": args.changes}
    try:
        zone_file = args.zone_file
        if not zone_file:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, args.gen, "--set", "large", "--out", os.path.join(work, "gen"),
                            "--queries", "1", "--warmup-queries", "1"], check=True, capture_output=True)
            zone_file = os.path.join(work, "gen", "zones", f"{ZONE}.zone")
            print(f"generated {zone_file} in {time.perf_counter() - t0:.1f} s", flush=True)
        pdata = os.path.join(work, "primary")
        init = subprocess.run([args.binary, "init", "--email", "bench@candor.test", "--data-dir", pdata],
                              capture_output=True, text=True, check=True)
        token = init.stdout.strip().splitlines()[-1]
        t0 = time.perf_counter()
        subprocess.run([args.binary, "zone", "import", ZONE, zone_file, "--data-dir", pdata],
                       capture_output=True, text=True, check=True)
        print(f"imported in {time.perf_counter() - t0:.1f} s", flush=True)

        pport, api_port, cport, kport = free_port(), free_port(), free_port(), free_port()
        env = {**os.environ, "NO_COLOR": "1", "CANDOR_LOG": "info"}
        plog = open(os.path.join(work, "primary.log"), "w")
        primary = subprocess.Popen(
            [args.binary, "serve", "--data-dir", pdata, "--no-status", "--workers", "1",
             "--listen", f"127.0.0.1:{pport}", "--api-listen", f"127.0.0.1:{api_port}",
             "--redirect-listen", f"127.0.0.1:{free_port()}", "--api-rate-limit", "100000",
             "--rrl-rate", "0", "--xfr-allow", "127.0.0.1",
             "--notify", f"127.0.0.1:{cport}", "--notify", f"127.0.0.1:{kport}"],
            stdout=plog, stderr=plog, env=env)
        procs.append(primary)
        q = Asker()
        t0 = time.perf_counter()
        while q.serial(pport) is None:
            if time.perf_counter() - t0 > 120 or primary.poll() is not None:
                sys.exit("the primary does not answer:\n" + open(os.path.join(work, "primary.log")).read())
            time.sleep(0.1)
        api = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
            api.request(method, path, body=json.dumps(body) if body else None, headers=headers)
            r = api.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data else {})

        status, created = call("POST", f"/v2/1/zones/{ZONE}/records",
                               {"name": "prop", "type": "A", "content": "10.0.0.1", "ttl": 60})
        if status != 201:
            sys.exit(f"cannot create the record: {status} {created}")
        record = created["data"]["id"]
        serial = None
        while serial is None or q.a(pport, f"prop.{ZONE}") != "10.0.0.1":
            serial = q.serial(pport)
        primary_rss_before = proc_status(primary.pid, "VmHWM")
        probe = f"h500000.{ZONE}"
        want = q.a(pport, probe)
        print(f"primary up, serial {serial}, peak RSS {mib(primary_rss_before)}", flush=True)

        # 1. AXFR into the Candor secondary.
        sdata = os.path.join(work, "secondary")
        slog_path = os.path.join(work, "secondary.log")
        slog = open(slog_path, "w")
        t0 = time.perf_counter()
        sec_cmd = [sec_binary, "serve", "--data-dir", sdata, "--no-demo", "--no-status", "--workers", "1",
                   "--listen", f"127.0.0.1:{cport}", "--api-listen", f"127.0.0.1:{free_port()}",
                   "--redirect-listen", f"127.0.0.1:{free_port()}", "--rrl-rate", "0",
                   "--secondary", f"{ZONE}@127.0.0.1:{pport}"]
        secondary = subprocess.Popen(sec_cmd, stdout=slog, stderr=slog, env=env)
        procs.append(secondary)
        while q.serial(cport) != serial or q.a(cport, probe) != want:
            if time.perf_counter() - t0 > 300 or secondary.poll() is not None:
                sys.exit("the Candor secondary does not answer:\n" + open(slog_path).read())
            time.sleep(0.02)
        candor_answer = time.perf_counter() - t0
        copy = os.path.join(sdata, "secondary", f"{ZONE}.zone")
        while not os.path.exists(copy):
            if time.perf_counter() - t0 > 300:
                sys.exit("no copy on disk:\n" + open(slog_path).read())
            time.sleep(0.02)
        candor_copy = time.perf_counter() - t0
        time.sleep(1)
        candor_rss = proc_status(secondary.pid, "VmHWM")
        print(f"Candor secondary: answering {candor_answer:.2f} s after start, copy on disk after "
              f"{candor_copy:.2f} s ({os.path.getsize(copy) / 1e6:.1f} MB), peak RSS {mib(candor_rss)}",
              flush=True)

        # 1b. The same with Knot DNS.
        kdir = os.path.join(work, "knot")
        os.makedirs(os.path.join(kdir, "storage"))
        with open(os.path.join(kdir, "knot.conf"), "w") as f:
            f.write(f"""server:
    rundir: "{kdir}"
    listen: 127.0.0.1@{kport}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{kdir}/storage"
remote:
  - id: primary
    address: 127.0.0.1@{pport}
acl:
  - id: from_primary
    address: 127.0.0.1
    action: notify
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "{kdir}/storage"
    semantic-checks: off
    zonefile-sync: -1
    zonefile-load: none
    journal-content: all
zone:
  - domain: {ZONE}.
    file: "{kdir}/{ZONE}.zone"
    master: primary
    acl: from_primary
""")
        klog = open(os.path.join(work, "knot.log"), "w")
        t0 = time.perf_counter()
        knot = subprocess.Popen(["knotd", "-c", os.path.join(kdir, "knot.conf")], stdout=klog, stderr=klog)
        procs.append(knot)
        while q.serial(kport) != serial or q.a(kport, probe) != want:
            if time.perf_counter() - t0 > 300 or knot.poll() is not None:
                sys.exit("knotd does not answer:\n" + open(os.path.join(work, "knot.log")).read())
            time.sleep(0.02)
        knot_answer = time.perf_counter() - t0
        time.sleep(1)
        knot_rss = proc_status(knot.pid, "VmHWM")
        primary_rss_after = proc_status(primary.pid, "VmHWM")
        print(f"Knot secondary: answering {knot_answer:.2f} s after start, peak RSS {mib(knot_rss)}",
              flush=True)
        print(f"primary peak RSS {mib(primary_rss_before)} before the transfers, "
              f"{mib(primary_rss_after)} after", flush=True)
        out["axfr"] = {"candor_answer_s": candor_answer, "candor_copy_s": candor_copy,
                       "candor_peak_rss_kib": candor_rss, "knot_answer_s": knot_answer,
                       "knot_peak_rss_kib": knot_rss,
                       "primary_peak_rss_kib_before": primary_rss_before,
                       "primary_peak_rss_kib_after": primary_rss_after}

        # 2. API changes, each answered by both secondaries.
        for pid in (secondary.pid, knot.pid):
            settled_writes(pid, 120)
        before = {pid: (cpu_ms(pid), written(pid)) for pid in (secondary.pid, knot.pid)}
        ports = {"candor": cport, "knot": kport}
        lat: dict[str, list[float]] = {k: [] for k in ports}
        polls = 0
        ixfr = {}
        for i in range(args.changes):
            if i == args.knot_changes and "knot" in ports:
                w = settled_writes(knot.pid, 120)
                ixfr["knot"] = {"cpu_ms": cpu_ms(knot.pid) - before[knot.pid][0],
                                "write_bytes": w - before[knot.pid][1]}
                del ports["knot"]
                knot.terminate()
            ip = f"10.1.{(i >> 8) & 255}.{i & 255 or 1}"
            status, _ = call("PATCH", f"/v2/1/zones/{ZONE}/records/{record}", {"content": ip})
            answered = time.perf_counter()
            if status != 200:
                sys.exit(f"change {i} failed: {status}")
            waiting = set(ports)
            while waiting:
                for k in sorted(waiting):
                    polls += 1
                    if q.a(ports[k], f"prop.{ZONE}") == ip:
                        lat[k].append((time.perf_counter() - answered) * 1000)
                        waiting.discard(k)
                if time.perf_counter() - answered > 60:
                    sys.exit(f"change {i} not served by {waiting} after 60 s")
        if "knot" in ports:
            w = settled_writes(knot.pid, 120)
            ixfr["knot"] = {"cpu_ms": cpu_ms(knot.pid) - before[knot.pid][0],
                            "write_bytes": w - before[knot.pid][1]}
        w = settled_writes(secondary.pid, 120)
        ixfr["candor"] = {"cpu_ms": cpu_ms(secondary.pid) - before[secondary.pid][0],
                          "write_bytes": w - before[secondary.pid][1]}
        print(f"changes: {args.changes}, DNS polls: {polls}")
        for k, vals in lat.items():
            if not vals:
                continue
            ixfr[k]["api_response_to_answer_ms"] = {p: percentile(vals, p) for p in (50, 90, 99)} | {
                "max": max(vals)}
            print(f"{len(vals)} changes, API response -> answered by the {k} secondary: p50 {percentile(vals, 50):.1f} ms, "
                  f"p90 {percentile(vals, 90):.1f} ms, p99 {percentile(vals, 99):.1f} ms, "
                  f"max {max(vals):.1f} ms; its CPU {ixfr[k]['cpu_ms']:.0f} ms, written to disk "
                  f"{ixfr[k]['write_bytes'] / 1e6:.2f} MB over the changes", flush=True)
        log = open(slog_path).read()
        lines = [l for l in log.splitlines() if "secondary zone transferred" in l and "transfer=IXFR" in l]
        for field in ("apply_us", "ms"):
            vals = [float(m.group(1)) for l in lines if (m := re.search(rf"\b{field}=(\d+)", l))]
            if vals:
                ixfr["candor"][f"log_{field}"] = {p: percentile(vals, p) for p in (50, 99)} | {"max": max(vals)}
                print(f"Candor secondary's log, {len(vals)} IXFRs, {field}: p50 {percentile(vals, 50):.0f}, "
                      f"p99 {percentile(vals, 99):.0f}, max {max(vals):.0f}")
        rewrites = log.count("copy rewritten")
        print(f"Candor secondary: IXFRs logged {len(lines)}, copy rewrites logged {rewrites}, "
              f"copy file {os.path.getsize(copy) / 1e6:.1f} MB")
        out["ixfr"] = ixfr

        # 3. A restart from disk alone: the primary and the secondary stop,
        # the secondary starts again and serves what it kept.
        last_serial = q.serial(cport)
        for p in (primary, secondary):
            p.terminate()
            p.wait(timeout=30)
        rlog_path = os.path.join(work, "restart.log")
        rlog = open(rlog_path, "w")
        t0 = time.perf_counter()
        restarted = subprocess.Popen(sec_cmd, stdout=rlog, stderr=rlog, env=env)
        procs.append(restarted)
        while q.serial(cport) != last_serial or q.a(cport, f"prop.{ZONE}") != ip:
            if time.perf_counter() - t0 > 300 or restarted.poll() is not None:
                sys.exit("the restarted secondary does not serve the last version:\n" + open(rlog_path).read())
            time.sleep(0.02)
        restart = time.perf_counter() - t0
        m = re.search(r"journal_entries=(\d+)", open(rlog_path).read())
        entries = int(m.group(1)) if m else None
        out["restart"] = {"answering_s": restart, "journal_entries": entries,
                          "peak_rss_kib": proc_status(restarted.pid, "VmHWM")}
        print(f"Candor secondary restarted with the primary down: serving serial {last_serial} "
              f"{restart:.2f} s after start (journal entries replayed: {entries}), peak RSS "
              f"{mib(out['restart']['peak_rss_kib'])}", flush=True)
        out["load_avg"] = os.getloadavg()
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=1)
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
