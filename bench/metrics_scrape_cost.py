#!/usr/bin/env python3
"""CPU time one /metrics scrape costs `candor serve`, from /proc.

Starts the release binary on a zone directory with --metrics-listen (one
UDP worker, pinned to CPU 1 like the peer benchmark), scrapes /metrics N
times over one keep-alive connection from CPU 0, and divides the server's
CPU time (utime + stime) by N. On a contended machine this figure holds up
far better than a qps comparison: it counts only the server's own work.

    bench/metrics_scrape_cost.py ZONE_DIR [--scrapes 20000]
"""

import argparse
import http.client
import os
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of every thread of `pid`, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("zones")
    ap.add_argument("--scrapes", type=int, default=20000)
    ap.add_argument("--binary", default="target/release/candor")
    a = ap.parse_args()
    dns, metrics = free_port(), free_port()
    server = subprocess.Popen(
        ["taskset", "-c", "1", a.binary, "serve", "--zones", a.zones,
         "--listen", f"127.0.0.1:{dns}", "--workers", "1",
         "--metrics-listen", f"127.0.0.1:{metrics}"],
        stderr=subprocess.DEVNULL)
    os.sched_setaffinity(0, {0})
    try:
        deadline = time.time() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", metrics, timeout=10)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("the server did not become ready")
            time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", metrics, timeout=10)
        conn.request("GET", "/metrics")
        body = conn.getresponse().read()
        time.sleep(1)
        before, started = cpu_seconds(server.pid), time.time()
        for _ in range(a.scrapes):
            conn.request("GET", "/metrics")
            r = conn.getresponse()
            r.read()
            assert r.status == 200
        after, wall = cpu_seconds(server.pid), time.time() - started
        per = (after - before) / a.scrapes
        print(f"{a.scrapes} scrapes of {len(body)} bytes in {wall:.1f} s: "
              f"server CPU {after - before:.2f} s, {per * 1e6:.0f} us per scrape; "
              f"at one scrape a second that is {per * 100:.4f}% of one core")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
