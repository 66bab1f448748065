#!/usr/bin/env python3
"""How early the status page tells the truth.

Starts a second name server (`candor serve --zones`, "ns2") and Candor with
its store, API and status page monitoring its own listener and ns2, with the
default monitor settings (a round every 5 s, 2 s timeout, 3 bad rounds in a
row). Subscribes a webhook receiver (in this script) and an e-mail address
(aiosmtpd, in this script) through the REST API. Then, per trial, kills ns2
(or, with --failure silent, stops it with SIGSTOP) and measures:

- from the kill, and from the first failed probe (the incident's
  `started_at`, one-second resolution), to the incident being public in
  /api/v2/summary.json (polled every 50 ms);
- from the kill to the first webhook and the first e-mail of the incident.

ns2 is then restarted and the incident left to resolve before the next
trial (the hold time is shortened to 10 s with --hold, which changes
nothing before the incident opens).

With --hanging N, another account (made with `candor account create`)
subscribes N webhooks to a receiver in this script that accepts every
connection and never answers: the operator's webhook and e-mail must not
wait for them (issue 11).

    bench/status_timing.py [--trials 3] [--failure dead|silent] [--hanging 1000] [--binary target/release/candor]
"""

import argparse
import asyncio
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hooks(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Hooks.received.append((time.time(), json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def start_hanging() -> int:
    """A receiver that accepts every connection and never answers; its port."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    held = []

    def accept():
        while True:
            conn, _ = listener.accept()
            held.append(conn)
            # Keep the newest few thousand; closing older ones is what a
            # timed-out client did already.
            if len(held) > 4096:
                held.pop(0).close()
    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def start_smtp(port: int, mails: list):
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            mails.append((time.time(), envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def get(port: int, path: str, token: str | None = None, method="GET", body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, (json.loads(data) if data else None)


def wait(what: str, limit: float, f, step=0.05):
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            v = f()
        except (OSError, http.client.HTTPException):
            v = None
        if v:
            return v
        time.sleep(step)
    sys.exit(f"timed out waiting for {what}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="target/release/candor")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--hold", type=int, default=10)
    ap.add_argument("--hanging", type=int, default=0,
                    help="webhooks of another account to a receiver that never answers")
    ap.add_argument("--failure", choices=["dead", "silent"], default="dead",
                    help="kill ns2 (refused), or SIGSTOP it (no answer: every probe waits for its timeout)")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="candor-status-timing-")
    zones = os.path.join(tmp, "zones")
    os.makedirs(zones)
    with open(os.path.join(zones, "example.com.zone"), "w") as f:
        f.write("$ORIGIN example.com.\n$TTL 300\n@ SOA ns1.candor.test. hostmaster.candor.test. 1 3600 600 86400 300\n"
                "@ NS ns1.candor.test.\n@ A 192.0.2.10\n")
    ns1, ns2, api, status, redirect, smtp_port = (free_port() for _ in range(6))

    hook_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=hook_server.serve_forever, daemon=True).start()
    mails: list = []
    smtp = start_smtp(smtp_port, mails)

    def start_ns2():
        return subprocess.Popen([args.binary, "serve", "--zones", zones, "--listen", f"127.0.0.1:{ns2}",
                                 "--workers", "1"], stderr=subprocess.DEVNULL)

    secondary = start_ns2()
    log = open(os.path.join(tmp, "candor.log"), "w+")
    primary = subprocess.Popen(
        [args.binary, "serve", "--data-dir", os.path.join(tmp, "data"), "--listen", f"127.0.0.1:{ns1}",
         "--workers", "1", "--api-listen", f"127.0.0.1:{api}", "--redirect-listen", f"127.0.0.1:{redirect}",
         "--status-listen", f"127.0.0.1:{status}", "--status-nameserver", f"ns2@Frankfurt=127.0.0.1:{ns2}",
         "--status-canary", "example.com", "--status-hold", str(args.hold), "--webhook-allow-private",
         "--smtp-relay", f"127.0.0.1:{smtp_port}", "--smtp-security", "none",
         "--status-max-subscriptions", str(max(100, args.hanging))],
        stderr=log, env={**os.environ, "NO_COLOR": "1"})
    try:
        def token():
            log.seek(0)
            m = re.search(r"API token \(shown once, store it now\): (\S+)", log.read())
            return m and m.group(1)
        tok = wait("the API token", 20, token)
        wait("the status page", 20, lambda: get(status, "/api/v2/summary.json")[0] == 200)

        def ns2_is(state):
            _, s = get(status, "/api/v2/summary.json")
            return any(c["name"] == "ns2" and c["status"] == state for c in s["components"])
        wait("ns2 operational", 30, lambda: ns2_is("operational"))
        st, _ = get(api, "/v2/1/status/subscriptions", tok, "POST",
                    {"webhook_url": f"http://127.0.0.1:{hook_server.server_address[1]}/hook"})
        assert st == 201, st
        st, _ = get(api, "/v2/1/status/subscriptions", tok, "POST", {"email": "owner@example.com"})
        assert st == 201, st
        if args.hanging:
            data = os.path.join(tmp, "data")
            account = subprocess.run([args.binary, "account", "create", "attacker@example.net", "--data-dir", data],
                                     check=True, capture_output=True, text=True).stdout.strip()
            secret = subprocess.run([args.binary, "token", "create", "--account", account, "--data-dir", data],
                                    check=True, capture_output=True, text=True).stdout.strip()
            hang = start_hanging()
            for i in range(args.hanging):
                st, body = get(api, f"/v2/{account}/status/subscriptions", secret, "POST",
                               {"webhook_url": f"http://127.0.0.1:{hang}/h{i}"})
                assert st == 201, (st, body)
            print(f"account {account}: {args.hanging} webhooks to a receiver that never answers", flush=True)

        rows = []
        for trial in range(args.trials):
            # Kill at a random point of the probe cycle.
            time.sleep(1 + (trial * 1.7) % 5)
            hooks_before, mails_before = len(Hooks.received), len(mails)
            killed = time.time()
            if args.failure == "dead":
                secondary.kill()
                secondary.wait()
            else:
                secondary.send_signal(signal.SIGSTOP)

            def open_incident():
                _, s = get(status, "/api/v2/summary.json")
                return next((i for i in s["incidents"] if i["status"] != "resolved"), None)
            incident = wait("the incident", 120, open_incident)
            public = time.time()
            started = incident["started_at"]
            import datetime
            started_ts = datetime.datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()
            hook = wait("the webhook", 60, lambda: next(
                (t for t, b in Hooks.received[hooks_before:] if b["incident"]["id"] == incident["id"]), None))
            mail = wait("the e-mail", 60, lambda: next(
                (t for t, m in mails[mails_before:] if incident["name"] in m), None))
            row = {
                "kill_to_public_s": round(public - killed, 2),
                "first_failed_probe_to_public_s": round(public - started_ts, 2),
                "kill_to_webhook_s": round(hook - killed, 2),
                "kill_to_email_s": round(mail - killed, 2),
                "first_failed_probe_to_webhook_s": round(hook - started_ts, 2),
                "first_failed_probe_to_email_s": round(mail - started_ts, 2),
            }
            rows.append(row)
            print(f"trial {trial + 1}: {json.dumps(row)}", flush=True)
            if args.failure == "dead":
                secondary = start_ns2()
            else:
                secondary.send_signal(signal.SIGCONT)
            wait("the resolution", 120 + args.hold, lambda: open_incident() is None, step=0.5)
        worst = {k: max(r[k] for r in rows) for k in rows[0]}
        print("worst of", args.trials, "trials:", json.dumps(worst))
        best = {k: min(r[k] for r in rows) for k in rows[0]}
        print("best of", args.trials, "trials:", json.dumps(best))
    finally:
        primary.terminate()
        secondary.kill()
        primary.wait()
        smtp.stop()
        hook_server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
