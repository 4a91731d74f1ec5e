"""SMS gateways for the delivery tests: a real Kannel, and fake HTTP ones.

Kannel(workdir) runs Debian's bearerbox and smsbox with a generated config
whose SMSC is Kannel's "fake" one, and fakesmsc (kannel-extras) connected
to it as the phone side, all on free loopback ports. Whatever reaches a
phone is counted from fakesmsc's output:

    gw = Kannel(tmp_path).start()
    srv = otpd(sms=gw.spec, ...)
    gw.received()        # [Sms(sender, to, text, at), ...]
    gw.stop(); gw.start()

FakeGateway() is a threaded http.server that records every request and
answers from a script (a list of statuses, the last one repeated):

    gw = FakeGateway([503, 503, 201], body='{"sid": "SM1"}').start()
    gw.requests          # [Req(method, path, headers, body, at), ...]
"""

import collections
import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import requests

from tcpproxy import hang_up

BEARERBOX = shutil.which("bearerbox") or "/usr/sbin/bearerbox"
SMSBOX = shutil.which("smsbox") or "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"

Sms = collections.namedtuple("Sms", "sender to text at")
Req = collections.namedtuple("Req", "method path headers body at")

# fakesmsc: "... DEBUG: Got message 3: <from to text|data body>"
GOT_RE = re.compile(r"Got message \d+: <(\S+) (\S+) (text|data|udh) (.*)>$")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kannel_available():
    return all(os.access(p, os.X_OK) for p in (BEARERBOX, SMSBOX, FAKESMSC))


class Kannel:
    USER, PASSWORD = "otp", "s3cret pw"

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.admin, self.boxc, self.smsc, self.box_http = (
            free_port(), free_port(), free_port(), free_port())
        # otpd's port: open only while smsbox is connected (see Gate)
        self.gate = Gate(self.box_http)
        self.http = self.gate.port
        self.procs = {}
        self.phone_log = self.dir / "fakesmsc.log"
        self.conf = self.dir / "kannel.conf"
        self.conf.write_text(f"""
group = core
admin-port = {self.admin}
admin-password = admin
admin-interface = 127.0.0.1
smsbox-port = {self.boxc}
box-allow-ip = 127.0.0.1
log-level = 2
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {self.smsc}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.boxc}
sendsms-port = {self.box_http}
sendsms-interface = 127.0.0.1
log-level = 2

group = sendsms-user
username = {self.USER}
password = {self.PASSWORD}
max-messages = 1
""")

    @property
    def spec(self):
        pw = urllib.parse.quote(self.PASSWORD, safe="")
        return (f"kannel:http://{self.USER}:{pw}@127.0.0.1:{self.http}"
                "/cgi-bin/sendsms")

    def _spawn(self, name, argv):
        log = open(self.dir / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            cwd=self.dir, start_new_session=True)
        log.close()

    def _admin_status(self):
        r = requests.get(f"http://127.0.0.1:{self.admin}/status.txt",
                         params={"password": "admin"}, timeout=1)
        return r.text

    def start(self, timeout=15):
        """Starts bearerbox, the phone (fakesmsc) and smsbox; returns when
        the SMSC is online and sendsms answers, and only then opens the
        port otpd sends to."""
        self._spawn("bearerbox", [BEARERBOX, "-v", "2", str(self.conf)])
        deadline = time.monotonic() + timeout
        self._wait(lambda: "Status: running" in self._admin_status(),
                   deadline, "bearerbox admin")
        # -m 0: send nothing from the phone side, just receive
        self._spawn("fakesmsc", [FAKESMSC, "-H", "127.0.0.1", "-r",
                                 str(self.smsc), "-m", "0", "1 2 text x"])
        self._spawn("smsbox", [SMSBOX, "-v", "2", str(self.conf)])
        self._wait(lambda: re.search(r"FAKE:\d+ \(online", self._admin_status())
                   and "smsbox:" in self._admin_status(), deadline,
                   "SMSC online and smsbox connected")
        self._wait(self._sendsms_up, deadline, "sendsms port")
        self.gate.open()
        return self

    def _sendsms_up(self):
        r = requests.get(f"http://127.0.0.1:{self.box_http}/cgi-bin/sendsms",
                         timeout=1)
        return r.status_code in (202, 400, 403)

    def _wait(self, ok, deadline, what):
        while True:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"kannel {name} exited with "
                                       f"{p.returncode}:\n{self.logs()}")
            try:
                if ok():
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"kannel: no {what}:\n{self.logs()}")
            time.sleep(0.05)

    def stop(self):
        """Stops smsbox, bearerbox and the phone, in that order."""
        self.gate.close()
        for name in ("smsbox", "bearerbox", "fakesmsc"):
            p = self.procs.pop(name, None)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def received(self):
        """Every message the phone side got, in order."""
        out = []
        try:
            lines = (self.dir / "fakesmsc.log").read_text(
                errors="replace").splitlines()
        except FileNotFoundError:
            return out
        for line in lines:
            m = GOT_RE.search(line)
            if not m:
                continue
            sender, to, kind, text = m.groups()
            if kind == "data":
                text = urllib.parse.unquote_to_bytes(
                    text.replace("+", "%20")).decode("utf-8", "replace")
            at = time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S"))
            out.append(Sms(sender, to, text, at))
        return out

    def wait_received(self, n, timeout=20):
        deadline = time.monotonic() + timeout
        while len(self.received()) < n:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(self.received())} of {n} messages reached the "
                    f"phone within {timeout} s:\n{self.logs()}")
            time.sleep(0.05)
        return self.received()

    def logs(self, n=15):
        out = []
        for name in ("bearerbox", "smsbox", "fakesmsc"):
            try:
                lines = (self.dir / f"{name}.log").read_text(
                    errors="replace").splitlines()
            except FileNotFoundError:
                continue
            out.append(f"--- {name} ---")
            out += lines[-n:]
        return "\n".join(out)


class Gate:
    """A TCP relay to smsbox's sendsms port that listens only while open.

    smsbox opens its HTTP port before it has connected to bearerbox, and
    a sendsms arriving in that window kills it (gwlib/conn.c lock_out:
    conn != NULL). A real gateway is either down or up to otpd, so otpd
    is pointed here: refused while Kannel starts, relayed once it is up.
    """

    def __init__(self, target):
        self.target = target
        self.port = free_port()
        self.sock = None
        self.lock = threading.Lock()
        self.conns = []

    def open(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        self.sock = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def close(self):
        s, self.sock = self.sock, None
        if s is None:
            return
        hang_up(s)
        with self.lock:
            conns, self.conns = self.conns, []
        for c in conns:
            hang_up(c)

    def _accept(self, s):
        while True:
            try:
                a, _ = s.accept()
            except OSError:
                return
            try:
                b = socket.create_connection(("127.0.0.1", self.target), 2)
            except OSError:
                a.close()
                continue
            with self.lock:
                self.conns += [a, b]
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self._pipe, args=(src, dst),
                                 daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class FakeGateway:
    """A local HTTP server standing in for Twilio or a webhook receiver."""

    def __init__(self, script=(200,), body="ok", delay=0.0):
        self.script = list(script)
        self.body = body
        self.delay = delay
        self.requests = []
        self.lock = threading.Lock()
        gw = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with gw.lock:
                    gw.requests.append(Req(self.command, self.path,
                                           dict(self.headers.items()), body,
                                           time.time()))
                    i = len(gw.requests) - 1
                    status = gw.script[min(i, len(gw.script) - 1)]
                if gw.delay:
                    time.sleep(gw.delay)
                out = gw.body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def wait_requests(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.requests) < n:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(self.requests)} of {n} requests within "
                    f"{timeout} s")
            time.sleep(0.02)
        return self.requests


# -- the otpd side ----------------------------------------------------------

API_KEY = "delivery-test-key-0123456789"
CODE_RE = re.compile(r"(?<!\d)(\d{4,10})(?!\d)")


class Api:
    """The provider API of one otpd (its key seeded with OTPD_API_KEYS)."""

    def __init__(self, srv, key=API_KEY):
        self.srv = srv
        self.http = requests.Session()
        self.http.headers["X-API-Key"] = key

    def send(self, phone):
        r = self.http.post(self.srv.url("/otp/send"), timeout=10,
                           json={"phoneNumber": phone,
                                 "idempotencyKey": os.urandom(8).hex()})
        assert r.status_code == 200, r.text
        return r.json()["data"]

    def verify(self, rid, code):
        r = self.http.post(self.srv.url("/otp/verify"), timeout=10,
                           json={"requestId": rid, "otpCode": code})
        assert r.status_code == 200, r.text
        return r.json()["data"]["verified"]

    def delivery(self, rid):
        r = self.http.get(self.srv.url(f"/otp/{rid}"), timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["data"]["delivery"]

    def wait_delivery(self, rid, want, timeout=10):
        deadline = time.monotonic() + timeout
        while (got := self.delivery(rid)) != want:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"delivery of {rid} is {got!r}, not {want!r}, after "
                    f"{timeout} s\n{outbox_rows(self.srv)}")
            time.sleep(0.05)


def outbox_rows(srv):
    """Every outbox row of an otpd's SQLite store, oldest first."""
    import sqlite3
    con = sqlite3.connect(f"file:{srv.db_path}?mode=ro", uri=True, timeout=5)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(
            "SELECT id, request_id, to_phone, state, attempts, driver,"
            " last_error, expires FROM outbox ORDER BY id")]
    finally:
        con.close()
