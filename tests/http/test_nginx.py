"""otpd behind real nginx, configured by examples/nginx/otpd.conf (ports
rewritten): the auth_request gate, page views at a visitor's pace, a
protected POST with a body, and the per-IP limit keyed on the visitor."""

import re
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from conftest import REPO, free_port
from helpers import PHONE

EXAMPLE = REPO / "examples" / "nginx" / "otpd.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


class App(BaseHTTPRequestHandler):
    """The protected app: echoes who nginx says is logged in."""

    def answer(self, body):
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer(f"page {self.path} for {self.headers.get('X-Auth-Phone')}")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        got = len(self.rfile.read(n))
        self.answer(f"posted {got} bytes for "
                    f"{self.headers.get('X-Auth-Phone')}")

    def log_message(self, *args):
        pass


class Nginx:
    def __init__(self, workdir, otpd_port, app_port):
        self.dir = Path(workdir)
        self.port = free_port()
        (self.dir / "tmp").mkdir(parents=True)
        site = EXAMPLE.read_text()
        site = site.replace("server 127.0.0.1:8080;",
                            f"server 127.0.0.1:{otpd_port};")
        site = site.replace("server 127.0.0.1:3000;",
                            f"server 127.0.0.1:{app_port};")
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        assert str(otpd_port) in site and str(self.port) in site
        (self.dir / "site.conf").write_text(site)
        d = self.dir
        (d / "nginx.conf").write_text(f"""
pid {d}/nginx.pid;
error_log {d}/error.log warn;
daemon off;
worker_processes 1;
user root;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp;
    proxy_temp_path {d}/tmp;
    fastcgi_temp_path {d}/tmp;
    uwsgi_temp_path {d}/tmp;
    scgi_temp_path {d}/tmp;
    include {d}/site.conf;
}}
""")
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(d), "-c", str(d / "nginx.conf")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(d / "stderr.log", "wb"))
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(self.url("/auth/session"), timeout=1)
                return
            except requests.RequestException:
                if self.proc.poll() is not None or \
                        time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start: " +
                                       (d / "stderr.log").read_text())
                time.sleep(0.05)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def error_log(self):
        p = self.dir / "error.log"
        return p.read_text() if p.exists() else ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def gate(otpd, tmp_path):
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (scripts/deps test installs it)")
    app = ThreadingHTTPServer(("127.0.0.1", 0), App)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    # the per-IP limit at its default, as a deployment runs it
    srv = otpd("--limit-ip", "60", "--trusted-proxies", "127.0.0.1")
    ngx = Nginx(tmp_path / "nginx", srv.port, app.server_address[1])
    yield srv, ngx
    ngx.stop()
    app.shutdown()


def login_through(srv, ngx, phone=PHONE):
    b = requests.Session()
    r = b.post(ngx.url("/auth/send-otp"), json={"phone": phone}, timeout=10)
    assert r.status_code == 200, r.text
    code = srv.wait_code(phone)
    r = b.post(ngx.url("/auth/verify-otp"), json={"code": code}, timeout=10)
    assert r.status_code == 200, r.text
    return b


def test_anonymous_visitor_is_sent_to_the_login_page(gate):
    srv, ngx = gate
    r = requests.get(ngx.url("/orders?id=7"), allow_redirects=False,
                     timeout=10)
    assert r.status_code == 302, r.text
    assert r.headers["Location"].endswith("/login?rd=/orders?id=7")


def test_two_hundred_page_views_and_a_post_with_a_body(gate):
    srv, ngx = gate
    b = login_through(srv, ngx)
    statuses = []
    for i in range(200):
        r = b.get(ngx.url(f"/page/{i}"), timeout=10)
        statuses.append(r.status_code)
        if r.status_code != 200:
            break
    assert statuses == [200] * 200, (statuses[-1], ngx.error_log())
    assert r.text == f"page /page/199 for {PHONE}"
    t0 = time.monotonic()
    r = b.post(ngx.url("/upload"), data=b"x" * 10240, timeout=10)
    took = time.monotonic() - t0
    assert r.status_code == 200, (r.status_code, ngx.error_log())
    assert r.text == f"posted 10240 bytes for {PHONE}"
    assert took < 2, took
    assert "unexpected status" not in ngx.error_log()


def test_client_cannot_claim_a_phone_through_the_gate(gate):
    srv, ngx = gate
    r = requests.get(ngx.url("/page"), headers={"X-Auth-Phone": PHONE},
                     allow_redirects=False, timeout=10)
    assert r.status_code == 302
    b = login_through(srv, ngx, "+14155550142")
    r = b.get(ngx.url("/page"), headers={"X-Auth-Phone": PHONE}, timeout=10)
    assert r.text == "page /page for +14155550142"


def test_send_limit_counts_the_visitor_not_nginx(gate):
    srv, ngx = gate
    h = {"X-Forwarded-For": "198.51.100.77"}
    # each send from a new phone; the 61st from one visitor is refused
    # while another visitor behind the same nginx still gets through
    codes = []
    for i in range(61):
        r = requests.post(ngx.url("/auth/send-otp"), headers=h, timeout=10,
                          json={"phone": f"+1415555{1000 + i:04d}"})
        codes.append(r.status_code)
    assert codes[:60] == [200] * 60, codes
    assert codes[60] == 429
    r = requests.post(ngx.url("/auth/send-otp"), timeout=10,
                      headers={"X-Forwarded-For": "198.51.100.78"},
                      json={"phone": "+14155552000"})
    assert r.status_code == 200, r.text
