"""SIGTERM drains, bounded: /readyz turns 503 at once, new connections are
refused at once, a request in flight is answered (an upstream call on the
wait pool's threads, or a send on a fiber waiting for the store), a hung
gateway does not hold the exit past --drain-timeout, and otpd exits 0."""

import http.client
import json
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

from conftest import OTPD_BIN
from gateways import API_KEY, FakeGateway
from helpers import PHONE

UNIT = Path(__file__).resolve().parents[2] / "packaging" / "otpd.service"

UPSTREAM_OK = json.dumps({"data": {"requestId": "req_drain_0123456789",
                                   "expiresAt": "2099-01-01T00:00:00Z"}})


def refused(port):
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", port))
    except ConnectionRefusedError:
        return True
    finally:
        s.close()
    return False


def test_sigterm_answers_in_flight_refuses_new_and_exits_in_bound(otpd):
    slow = FakeGateway(body=UPSTREAM_OK, delay=1.5).start()
    try:
        srv = otpd("--provider", "startmessaging", "--upstream-url", slow.url,
                   "--drain-timeout", "3",
                   env={"OTPD_UPSTREAM_API_KEY": API_KEY})
        # A balancer's kept-alive probe connection, open before the signal.
        probe = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=2)
        probe.request("GET", "/readyz")
        assert probe.getresponse().read() and True
        answer = {}

        def send():
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            c.request("POST", "/auth/send-otp",
                      json.dumps({"phone": PHONE}),
                      {"Content-Type": "application/json"})
            r = c.getresponse()
            answer["status"] = r.status
            answer["body"] = r.read()

        t = threading.Thread(target=send)
        t.start()
        slow.wait_requests(1, timeout=5)  # the request is in flight
        signalled = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        try:
            probe.request("GET", "/readyz")
            r = probe.getresponse()
            assert r.status == 503
            assert int(r.getheader("Retry-After")) > 0
        except (ConnectionError, http.client.HTTPException, OSError):
            pass  # closed is as good as 503 for a balancer
        assert refused(srv.port), "a new connection was accepted after SIGTERM"
        t.join(10)
        assert answer.get("status") == 200, answer
        assert srv.proc.wait(5) == 0
        assert time.monotonic() - signalled < 3 + 1.5
    finally:
        slow.stop()


def test_sigterm_answers_a_send_that_waits_for_the_store(otpd):
    """A login send runs on a fiber with its connection suspended (the
    default). Another connection to the file holds its write lock, so the
    send waits in the store's busy timeout when SIGTERM comes; it is
    answered 200 once the lock goes, and only then does otpd exit."""
    srv = otpd("--drain-timeout", "5")
    holder = sqlite3.connect(srv.db_path, timeout=5, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    answer = {}
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request("POST", "/auth/send-otp", json.dumps({"phone": PHONE}),
              {"Content-Type": "application/json"})

    def read():
        r = c.getresponse()
        answer["status"], answer["at"] = r.status, time.monotonic()
        answer["body"] = r.read()

    t = threading.Thread(target=read)
    t.start()
    # The request is on the socket; otpd reads it within a moment. Had it
    # not by the signal, the drain would refuse it and the 200 below fails.
    time.sleep(0.3)
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert srv.proc.poll() is None, "otpd exited with a send in flight"
    assert "status" not in answer, answer
    released = time.monotonic()
    holder.execute("ROLLBACK")
    holder.close()
    t.join(10)
    assert answer.get("status") == 200, answer
    assert answer["at"] >= released
    assert srv.proc.wait(5) == 0
    srv.wait_log('"waits":"fibers"')  # the send ran on a fiber
    db = sqlite3.connect(srv.db_path)
    try:  # committed: its code and its message are in the file
        assert db.execute("SELECT count(*) FROM codes WHERE state = 'pending'"
                          " AND msg IN (SELECT id FROM outbox)").fetchone() \
            == (1,)
    finally:
        db.close()


def test_hung_gateway_does_not_hold_the_exit(otpd):
    hung = FakeGateway(delay=30).start()
    try:
        srv = otpd("--drain-timeout", "1", "--sms-timeout", "30",
                   sms=f"webhook:{hung.url}/",
                   env={"OTPD_WEBHOOK_SECRET": "whsec-0123456789abcdef-test"})
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        c.request("POST", "/auth/send-otp", json.dumps({"phone": PHONE}),
                  {"Content-Type": "application/json"})
        assert c.getresponse().status == 200
        hung.wait_requests(1, timeout=5)  # a worker is in the send
        signalled = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(5) == 0
        assert time.monotonic() - signalled < 1 + 2
        assert "drain deadline" in srv.log_text()
    finally:
        hung.stop()


def test_systemd_stop_timeout_outlasts_the_drain():
    # systemd kills otpd with SIGKILL at TimeoutStopSec: it must be above
    # the longest exit test_hung_gateway_does_not_hold_the_exit allows
    # (the drain + 2 s) at the default --drain-timeout
    stop = re.search(r"^TimeoutStopSec=(\d+)$", UNIT.read_text(), re.M)
    assert stop, "no TimeoutStopSec= in the unit"
    out = subprocess.run([OTPD_BIN, "--help"], capture_output=True,
                         text=True, timeout=10)
    help_text = out.stdout + out.stderr
    drain = re.search(r"--drain-timeout .*?default (\d+)\)", help_text,
                      re.S)
    assert drain, "no default in --help's --drain-timeout"
    assert int(stop.group(1)) > int(drain.group(1)) + 2, (
        stop.group(1), drain.group(1))
