#!/usr/bin/env python3
"""Delivery throughput: messages/s from otpd's outbox through the webhook
driver to a local sink (nginx answering 200 to every POST).

    bench/delivery_webhook.py [-n 3000] [--workers 4] [--build build]

How: an otpd whose gateway refuses dead-letters N messages after one try
each (their sealed text is kept); the N are put back in the queue, due now;
a second otpd on the same SQLite store with the webhook driver pointed at
the sink is started, and the clock runs from its start until the store says
all N are sent. So the number includes otpd's start-up, and nothing of the
HTTP API or of code issuing: only claim, unseal, sign, POST, ack.
"""

import argparse
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
KEY = "bench-delivery-key-0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit(f"{url}: exited with {proc.returncode}")
        try:
            requests.get(url, timeout=0.5)
            return
        except requests.RequestException:
            time.sleep(0.05)
    sys.exit(f"{url}: no answer")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--build", default="build")
    a = ap.parse_args()
    otpd = str(REPO / a.build / "otpd")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    tmp = Path(tempfile.mkdtemp(prefix="otpd-delivery-"))
    sink_port, api_port = free_port(), free_port()
    (tmp / "nginx.conf").write_text(f"""
worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/nginx.err;
daemon off; events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {tmp}/body;
  keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{sink_port}; location / {{ return 200 "ok"; }} }} }}
""")
    sink = subprocess.Popen([nginx, "-c", str(tmp / "nginx.conf")],
                            stderr=subprocess.DEVNULL)
    env = dict(os.environ, OTPD_API_KEYS=KEY,
               OTPD_WEBHOOK_SECRET="bench-webhook-secret-0123")
    common = [otpd, "--store", f"sqlite:{tmp}/otpd.db", "--limit-ip", "0",
              "--limit-phone", "0", "--limit-key", "0",
              "--resend-cooldown", "0", "--log-level", "error"]
    try:
        wait_http(f"http://127.0.0.1:{sink_port}/", sink)
        fill = subprocess.Popen(common + [
            "--listen", f"127.0.0.1:{api_port}", "--sms-attempts", "1",
            "--sms", f"webhook:http://127.0.0.1:{free_port()}/"], env=env,
            stderr=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{api_port}/healthz", fill)
        http = requests.Session()
        http.headers["X-API-Key"] = KEY

        def send(i):
            r = http.post(f"http://127.0.0.1:{api_port}/otp/send",
                          json={"phoneNumber": f"+1415{5000000 + i:07d}",
                                "idempotencyKey": f"k{i}"}, timeout=10)
            r.raise_for_status()

        with ThreadPoolExecutor(8) as ex:
            list(ex.map(send, range(a.n)))
        db = sqlite3.connect(tmp / "otpd.db", timeout=10)
        while db.execute("SELECT count(*) FROM outbox WHERE state ="
                         " 'failed'").fetchone()[0] < a.n:
            time.sleep(0.05)
        fill.send_signal(signal.SIGTERM)
        fill.wait()
        db.execute("UPDATE outbox SET state = 'queued', driver = 0,"
                   " next_at = 0, attempts = 0")
        db.commit()

        t0 = time.monotonic()
        run = subprocess.Popen(common + [
            "--listen", f"127.0.0.1:{free_port()}",
            "--sms-workers", str(a.workers),
            "--sms", f"webhook:http://127.0.0.1:{sink_port}/hook"], env=env,
            stderr=subprocess.DEVNULL)
        while db.execute("SELECT count(*) FROM outbox WHERE state ="
                         " 'sent'").fetchone()[0] < a.n:
            time.sleep(0.01)
        dt = time.monotonic() - t0
        run.send_signal(signal.SIGTERM)
        run.wait()
        print(f"{a.n} messages, {a.workers} workers: {dt:.2f} s, "
              f"{a.n / dt:.0f} messages/s")
    finally:
        sink.send_signal(signal.SIGQUIT)
        sink.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
