#!/usr/bin/env python3
"""TCP floods from one host: do other TCP clients still get answers?

Starts `candor serve --zones DIR` and Knot DNS (each on a free port on
127.0.0.1, one zone, default TCP settings), then for each server and each
attack:

  idle       5,000 connections from 127.0.0.2 that never send anything;
  slowloris  2,000 connections from 127.0.0.2 that send a query's length
             prefix and then its bytes, one byte a second.

The attacker runs in a process of its own and keeps its connections up: a
connection the server closed is opened again a second later (a slowloris
connection starts its trickle over). Once the attack is under way, 500
queries from 127.0.0.1, each on a new TCP connection, 10 at a time, must be
answered within 2 s each (connect included); the script reports the share
that was, and Candor's own count of why it closed connections (its stop line).

    bench/tcp_flood.py [--binary target/release/candor] [--knotd knotd]
                       [--idle 5000] [--slowloris 2000] [--queries 500]
                       [--servers candor,knot] [--candor-arg=--tcp-max-per-source=100000 ...]
                       [--json bench/results/tcp_flood.json]

Python 3 standard library only. Raises its own file-descriptor limit to the
hard limit (the servers inherit it).
"""

import argparse
import concurrent.futures
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

ZONE = "flood.test"
ZONE_TEXT = f"""$ORIGIN {ZONE}.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 900 86400 300
@ IN NS ns1
ns1 IN A 192.0.2.53
www IN A 192.0.2.80
"""

#----------- DNS ---------------------------------------------------------------


def query(qid: int) -> bytes:
    """`www.flood.test A`, framed for TCP."""
    msg = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in ("www", "flood", "test"):
        msg += bytes([len(label)]) + label.encode()
    msg += b"\x00\x00\x01\x00\x01"
    return struct.pack(">H", len(msg)) + msg


def recv_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    """Reads exactly `n` bytes before `deadline` (monotonic)."""
    data = b""
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def ask(port: int, qid: int, limit: float) -> bool:
    """One query on a new connection from 127.0.0.1, answered (NOERROR,
    one answer, same id) within `limit` seconds of starting to connect."""
    deadline = time.monotonic() + limit
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(limit)
            s.connect(("127.0.0.1", port))
            s.sendall(query(qid))
            (n,) = struct.unpack(">H", recv_exact(s, 2, deadline))
            resp = recv_exact(s, n, deadline)
        return (len(resp) >= 12 and struct.unpack(">H", resp[:2])[0] == qid
                and resp[3] & 0x0F == 0 and struct.unpack(">H", resp[6:8])[0] == 1)
    except (OSError, TimeoutError):
        return False


def udp_ready(port: int, timeout: float = 30.0) -> bool:
    """Polls a UDP query until the server answers."""
    deadline = time.monotonic() + timeout
    msg = query(1)[2:]
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(msg, ("127.0.0.1", port))
                if s.recv(512)[:2] == msg[:2]:
                    return True
            except OSError:
                time.sleep(0.1)
    return False


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


#----------- The attacker (a process of its own) -------------------------------


def attacker(port: int, kind: str, count: int, seconds: float) -> None:
    """Keeps `count` connections from 127.0.0.2 up for `seconds`: a closed
    one is opened again at the next one-second tick; `slowloris` ones send
    one more byte of a 300-byte query at each tick. Prints `ready` after
    the first wave, and a summary line of JSON when SIGTERM (or the end)
    comes."""
    sel = selectors.DefaultSelector()
    conns = {}  # fileno -> [socket, bytes sent]
    opened = closed = 0
    trickle = b"\x01\x2c" + b"x" * 300

    def open_one():
        nonlocal opened
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind(("127.0.0.2", 0))
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close()
            return
        conns[s.fileno()] = [s, 0]
        sel.register(s, selectors.EVENT_READ)
        opened += 1

    def drop(fd):
        nonlocal closed
        s = conns.pop(fd)[0]
        sel.unregister(s)
        s.close()
        closed += 1

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    for _ in range(count):
        open_one()
    print("ready", flush=True)
    end = time.monotonic() + seconds
    next_tick = time.monotonic() + 1
    samples = []
    while time.monotonic() < end and not stopping:
        for key, _ in sel.select(timeout=max(0.0, next_tick - time.monotonic())):
            fd = key.fd
            if fd not in conns:
                continue
            try:
                if conns[fd][0].recv(4096):
                    continue
            except BlockingIOError:
                continue
            except OSError:
                pass
            drop(fd)
        if time.monotonic() >= next_tick:
            next_tick += 1
            samples.append(len(conns))
            for _ in range(count - len(conns)):
                open_one()
            if kind == "slowloris":
                for fd, entry in list(conns.items()):
                    s, sent = entry
                    try:
                        s.send(trickle[sent:sent + 1])
                        entry[1] = sent + 1
                    except BlockingIOError:
                        pass
                    except OSError:
                        drop(fd)
    print(json.dumps({"opened": opened, "closed_by_server": closed,
                      "open_per_second": samples}), flush=True)
    for entry in list(conns.values()):
        entry[0].close()


#----------- Servers -----------------------------------------------------------


def start_candor(binary: str, work: str, port: int, extra: list):
    """`candor serve --zones DIR` with its default TCP settings, or `extra`."""
    zones = os.path.join(work, "zones")
    os.makedirs(zones, exist_ok=True)
    with open(os.path.join(zones, f"{ZONE}.zone"), "w") as f:
        f.write(ZONE_TEXT)
    log = open(os.path.join(work, "candor.log"), "w")
    proc = subprocess.Popen([binary, "serve", "--zones", zones, "--listen", f"127.0.0.1:{port}",
                             *extra],
                            stdout=log, stderr=log, env={**os.environ, "NO_COLOR": "1"})
    return proc, log.name


def start_knot(knotd: str, work: str, port: int):
    """knotd with its default TCP settings (tcp-max-clients: half the
    descriptor limit, tcp-idle-timeout 10 s, tcp-io-timeout 500 ms)."""
    kdir = os.path.join(work, "knot")
    for d in ("run", "storage"):
        os.makedirs(os.path.join(kdir, d), exist_ok=True)
    zone = os.path.join(kdir, f"{ZONE}.zone")
    with open(zone, "w") as f:
        f.write(ZONE_TEXT)
    conf = os.path.join(kdir, "knot.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
    rundir: "{kdir}/run"
    listen: 127.0.0.1@{port}
database:
    storage: "{kdir}/storage"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "{kdir}/storage"
    journal-content: none
    zonefile-sync: -1
    zonefile-load: whole
    semantic-checks: off
zone:
  - domain: "{ZONE}."
    file: "{zone}"
""")
    log = open(os.path.join(kdir, "knot.log"), "w")
    proc = subprocess.Popen([knotd, "-c", conf], stdout=log, stderr=log)
    return proc, log.name


def stop(proc) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


#----------- One measurement ---------------------------------------------------


def legit(port: int, queries: int, limit: float) -> dict:
    """`queries` queries, 10 at a time, each on its own connection."""
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda i: ask(port, i, limit), range(1, queries + 1)))
    ok = sum(results)
    return {"queries": queries, "answered": ok, "share": ok / queries,
            "elapsed_s": round(time.monotonic() - started, 2)}


def run_attack(port: int, kind: str, count: int, args) -> dict:
    """Starts the attacker, waits for its first wave and 3 s more, measures
    the legit clients, then stops the attacker and reads its summary."""
    budget = 3 + args.queries * args.limit / 10 + 30
    att = subprocess.Popen([sys.executable, __file__, "--attacker", kind, "--port", str(port),
                            "--count", str(count), "--seconds", str(budget)],
                           stdout=subprocess.PIPE, text=True)
    line = att.stdout.readline().strip()
    if line != "ready":
        raise RuntimeError(f"attacker did not start: {line!r}")
    time.sleep(3)
    result = legit(port, args.queries, args.limit)
    att.terminate()
    out, _ = att.communicate(timeout=30)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if lines:
        result["attacker"] = json.loads(lines[-1])
    return result


def main() -> None:
    """Both servers, both attacks, and a baseline without attack."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", default="target/release/candor")
    p.add_argument("--knotd", default=shutil.which("knotd") or "/usr/sbin/knotd")
    p.add_argument("--idle", type=int, default=5000)
    p.add_argument("--slowloris", type=int, default=2000)
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--limit", type=float, default=2.0, help="seconds per legit query")
    p.add_argument("--servers", default="candor,knot")
    p.add_argument("--candor-arg", action="append", default=[],
                   help="extra `candor serve` argument (repeat), e.g. --candor-arg=--tcp-max-connections=1000")
    p.add_argument("--json", default="bench/results/tcp_flood.json")
    p.add_argument("--attacker", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--count", type=int, help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = p.parse_args()

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.attacker:
        attacker(args.port, args.attacker, args.count, args.seconds)
        return

    results = {"command": " ".join(sys.argv), "fd_limit": hard, "servers": {}}
    for server in args.servers.split(","):
        work = tempfile.mkdtemp(prefix=f"tcp-flood-{server}-")
        port = free_port()
        if server == "candor":
            proc, log = start_candor(args.binary, work, port, args.candor_arg)
        else:
            proc, log = start_knot(args.knotd, work, port)
        try:
            if not udp_ready(port):
                raise RuntimeError(f"{server} did not answer; see {log}")
            row = {"baseline": legit(port, args.queries, args.limit)}
            for kind, count in (("idle", args.idle), ("slowloris", args.slowloris)):
                row[kind] = run_attack(port, kind, count, args)
                row[kind]["connections"] = count
                # Let the server close what the attack left behind.
                time.sleep(12)
        finally:
            stop(proc)
        with open(log) as f:
            text = f.read()
        summary = re.search(r"tcp connections (.*)", text)
        if summary:
            row["server_counts"] = dict(kv.split("=", 1) for kv in summary.group(1).split())
        results["servers"][server] = row
        shutil.rmtree(work, ignore_errors=True)
        for kind in ("baseline", "idle", "slowloris"):
            r = row[kind]
            print(f"{server:7} {kind:10} {r['answered']:4}/{r['queries']} answered within "
                  f"{args.limit:g} s ({100 * r['share']:.1f}%) in {r['elapsed_s']} s", flush=True)
        if "server_counts" in row:
            print(f"{server:7} closed: {row['server_counts']}", flush=True)
    if args.json:
        os.makedirs(os.path.dirname(args.json), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
