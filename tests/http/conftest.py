"""Fixtures for the black-box HTTP suite.

Every test gets fresh otpd processes from the `otpd` factory:

    srv = otpd()                                  # defaults (limits off per IP)
    srv = otpd("--resend-cooldown", "0")          # extra flags
    srv = otpd(env={"OTPD_SECRET": "ab" * 32})    # extra environment
    srv = otpd(sms="file:{dir}/missing/sms.jsonl")  # another SMS sink

A private redis-server (no persistence, free loopback port) for the tests of
otpd processes sharing one store:

    rs = redis_server()                           # started; rs.url
    srv = otpd("--store", rs.url, env={"OTPD_SECRET": "ab" * 32})
    rs.kill(); rs.start()                         # same port, empty again

The binary is $OTPD_BIN (default: build/otpd under the repo root). Each server
lives in its own temp dir (srv.dir) holding otpd.db, sms.jsonl and otpd.log
(otpd's stderr). srv.stop() / srv.kill() / srv.start() restart the same server
on the same dir. When a test fails, the tail of each of its servers' logs is
added to the report.
"""

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
OTPD_BIN = os.environ.get("OTPD_BIN") or str(REPO / "build" / "otpd")

CODE_RE = re.compile(r"(?<!\d)(\d{4,10})(?!\d)")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The one place the suites turn the SMS-pumping rules off (README, "SMS
# pumping and spend"): the tests send to thousands of numbers that never
# verify, on purpose. A test of the rules passes --fraud (a flag wins over
# the environment) or its own OTPD_FRAUD.
TEST_DEFAULTS = {"OTPD_FRAUD": "off"}


def clean_env(extra=None):
    """The test runner's environment without any OTPD_* setting of its
    own, with TEST_DEFAULTS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTPD_")}
    env.update(TEST_DEFAULTS)
    env.update(extra or {})
    return env


def require_binary():
    if not os.access(OTPD_BIN, os.X_OK):
        pytest.fail(f"otpd binary not found or not executable: {OTPD_BIN} "
                    "(build it with `make` or set OTPD_BIN)")


class Child:
    """A child process in self.proc: kill -9 it, or end it (SIGTERM, 5 s,
    then SIGKILL); both do nothing once it has exited."""
    proc = None

    def kill(self):
        """kill -9."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def end(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


class Otpd(Child):
    def __init__(self, workdir, extra=(), env=None, sms=None):
        self.dir = Path(workdir)
        self.extra = list(extra)
        self.env = dict(env or {})
        self.sms_spec = sms or "file:{dir}/sms.jsonl"
        self.proc = None
        self.port = None
        self.log_path = self.dir / "otpd.log"
        self.sms_path = self.dir / "sms.jsonl"
        self.db_path = self.dir / "otpd.db"

    # -- process control -------------------------------------------------
    def argv(self):
        argv = [OTPD_BIN, "--listen", f"127.0.0.1:{self.port}",
                "--store", f"sqlite:{self.db_path}",
                "--sms", self.sms_spec.format(dir=self.dir)]
        if "--limit-ip" not in self.extra:
            argv += ["--limit-ip", "0"]
        return argv + self.extra

    def start(self, extra=None, env=None, sms=None):
        """(Re)starts on the same dir, on a new free port."""
        require_binary()
        assert self.proc is None or self.proc.poll() is not None, \
            "already running"
        if extra is not None:
            self.extra = list(extra)
        if env is not None:
            self.env = dict(env)
        if sms is not None:
            self.sms_spec = sms
        self.port = free_port()
        with open(self.log_path, "ab") as log, \
                open(self.dir / "otpd.out", "ab") as out:
            self.proc = subprocess.Popen(
                self.argv(), stdin=subprocess.DEVNULL, stdout=out,
                stderr=log, env=clean_env(self.env), cwd=self.dir)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"otpd exited with {self.proc.returncode} during start-up"
                    f"\nargv: {self.argv()}\n--- log tail ---\n"
                    + self.log_tail())
            try:
                r = requests.get(self.url("/healthz"), timeout=1)
                if r.status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "otpd did not answer GET /healthz with 200 within 10 s"
                    f"\nargv: {self.argv()}\n--- log tail ---\n"
                    + self.log_tail())
            time.sleep(0.02)

    def stop(self, timeout=5):
        """SIGTERM, wait, then SIGKILL. Returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"otpd did not exit within {timeout} s of SIGTERM")

    def teardown(self):
        self.end()

    # -- HTTP ------------------------------------------------------------
    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def browser(self):
        """A new simulated browser (its own cookie jar)."""
        return requests.Session()

    def send(self, browser, phone, **kw):
        return browser.post(self.url("/auth/send-otp"), json={"phone": phone},
                            timeout=10, **kw)

    def verify(self, browser, code, phone=None, **kw):
        body = {"code": code}
        if phone is not None:
            body["phone"] = phone
        return browser.post(self.url("/auth/verify-otp"), json=body,
                            timeout=10, **kw)

    def login(self, browser, phone):
        """A full send/verify flow; returns the verify response."""
        r = self.send(browser, phone)
        assert r.status_code == 200, r.text
        code = self.wait_code(phone)
        r = self.verify(browser, code)
        assert r.status_code == 200, r.text
        return r

    # -- SMS sink --------------------------------------------------------
    def sms_messages(self, path=None):
        path = Path(path or self.sms_path)
        try:
            data = path.read_text()
        except FileNotFoundError:
            return []
        out = []
        for line in data.splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    # a line still being written: complete lines only
                    break
        return out

    def messages_to(self, phone):
        return [m for m in self.sms_messages() if m.get("to") == phone]

    def wait_code(self, phone, count=1, timeout=10):
        """Polls the sink until the count-th message to `phone` arrived;
        returns the code (first run of 4-10 digits of its body)."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages_to(phone)
            if len(msgs) >= count:
                m = CODE_RE.search(msgs[count - 1]["body"])
                assert m, f"no code in SMS body {msgs[count - 1]['body']!r}"
                return m.group(1)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"SMS #{count} to {phone} not delivered within "
                    f"{timeout} s; sink has {self.sms_messages()!r}")
            time.sleep(0.02)

    # -- state -----------------------------------------------------------
    def db_count(self, table):
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True,
                              timeout=5)
        try:
            return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        finally:
            con.close()

    def db_states(self):
        """The state of every outbox message, oldest first."""
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True,
                              timeout=5)
        try:
            return [r[0] for r in con.execute(
                "SELECT state FROM outbox ORDER BY id")]
        finally:
            con.close()

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, text, timeout=5):
        """The log once it holds `text` (e.g. the start-up line, which otpd
        writes just after /healthz starts to answer); fails after timeout."""
        deadline = time.monotonic() + timeout
        while text not in self.log_text():
            assert time.monotonic() < deadline, \
                f"{text!r} not in the log within {timeout} s:\n" \
                + self.log_tail()
            time.sleep(0.02)
        return self.log_text()

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for i, srv in enumerate(getattr(item, "_otpd_servers", [])):
            rep.sections.append(
                (f"otpd log tail (server {i}, {srv.dir})", srv.log_tail()))


@pytest.fixture
def otpd(request, tmp_path):
    """Factory: otpd(*extra_flags, env=None, sms=None) -> started Otpd."""
    servers = []
    request.node._otpd_servers = servers

    def make(*extra, env=None, sms=None, start=True):
        workdir = tmp_path / f"otpd{len(servers)}"
        workdir.mkdir()
        srv = Otpd(workdir, extra, env=env, sms=sms)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    for srv in servers:
        srv.teardown()


@pytest.fixture
def server(otpd):
    """One otpd with the default flags."""
    return otpd()


REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer(Child):
    """redis-server on a free loopback port and a unix socket, its files in
    `workdir` (the socket in a short directory of its own: a socket's path
    has at most 107 bytes)."""

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.sockdir = tempfile.mkdtemp(prefix="otpd-rs-", dir="/tmp")
        self.sock = os.path.join(self.sockdir, "redis.sock")
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def unix_url(self):
        return f"redis+unix://{self.sock}?db=0"

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=1) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def start(self):
        """(Re)starts on the same port, empty (nothing is persisted)."""
        if not os.access(REDIS_SERVER, os.X_OK):
            pytest.fail(f"redis-server not found: {REDIS_SERVER}")
        with open(self.dir / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind",
                 "127.0.0.1", "--unixsocket", self.sock,
                 "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
                 "--daemonize", "no", "--dir", str(self.dir)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start:\n" +
                                   (self.dir / "redis.log").read_text())
            time.sleep(0.02)
        return self

    def stop(self):
        self.end()


@pytest.fixture
def redis_server(tmp_path):
    """Factory: redis_server() -> a started RedisServer, stopped at the
    end of the test."""
    servers = []

    def make():
        rs = RedisServer(tmp_path / f"redis{len(servers)}")
        servers.append(rs)
        return rs.start()

    yield make
    for rs in servers:
        rs.stop()
        shutil.rmtree(rs.sockdir, ignore_errors=True)
