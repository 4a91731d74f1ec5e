"""The request log line: who (client IP after trusted proxies), what
(method, the route's template, never a request id), the answer; always
valid JSON and UTF-8. And errors a client can act on (unknown_field names
the field; a 405's Allow is its own request's)."""

import json
import socket

import requests

from helpers import PHONE


def request_lines(srv):
    srv.stop()
    out = []
    for raw in srv.log_path.read_bytes().splitlines():
        text = raw.decode("utf-8")  # raises if a line is not UTF-8
        ln = json.loads(text)
        if ln.get("msg") == "request":
            out.append(ln)
    return out


def test_line_has_client_ip_method_route_and_status(otpd):
    srv = otpd("--trusted-proxies", "127.0.0.1")
    b = srv.browser()
    assert srv.send(b, PHONE, headers={"X-Forwarded-For": "198.51.100.61"}
                    ).status_code == 200
    rid = "0123456789abcdef0123456789abcdef"
    requests.get(srv.url(f"/otp/{rid}"), timeout=5)
    requests.get(srv.url("/no/such/page"), timeout=5)
    lines = request_lines(srv)
    send = [ln for ln in lines if ln["route"] == "/auth/send-otp"]
    assert send and send[0]["ip"] == "198.51.100.61", lines
    assert send[0]["method"] == "POST" and send[0]["status"] == 200
    status = [ln for ln in lines if ln["route"] == "/otp/{id}"]
    assert status and status[0]["status"] == 401, lines
    assert rid not in srv.log_text()
    missing = [ln for ln in lines if ln["status"] == 404]
    assert missing and missing[0]["route"] == "unknown", lines
    assert missing[0]["ip"] == "127.0.0.1"


def test_stray_bytes_in_the_method_keep_the_line_valid(otpd):
    srv = otpd()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(b"G\xffT /healthz HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        s.recv(4096)
    lines = request_lines(srv)  # every line decodes as UTF-8 and JSON
    assert any("\ufffd" in ln["method"] for ln in lines), lines


def test_unknown_field_is_named(otpd):
    srv = otpd()
    r = requests.post(srv.url("/auth/send-otp"),
                      json={"phone": PHONE, "phon": "x"}, timeout=5)
    assert r.status_code == 400
    assert r.json()["code"] == "unknown_field"
    assert r.json()["field"] == "phon"
    # a name that is not a plain word is not echoed back
    r = requests.post(srv.url("/auth/send-otp"),
                      json={"phone": PHONE, "<script>": 1}, timeout=5)
    assert r.json()["code"] == "unknown_field"
    assert "field" not in r.json()
    assert "phon" not in srv.log_text()


def test_allow_belongs_to_its_own_request(otpd):
    srv = otpd()
    s = requests.Session()  # one keep-alive connection, one server thread
    for path, allow in (("/auth/send-otp", "POST"), ("/auth/session", "GET"),
                        ("/auth/logout", "POST"), ("/healthz", "GET")) * 3:
        r = s.delete(srv.url(path), timeout=5)
        assert r.status_code == 405
        assert r.headers["Allow"] == allow, (path, r.headers)


def answer_of(s):
    """Reads one answer (head and its Content-Length body) from s."""
    got = b""
    while b"\r\n\r\n" not in got:
        d = s.recv(65536)
        assert d, got
        got += d
    head, body = got.split(b"\r\n\r\n", 1)
    n = next(int(ln.split(b":", 1)[1]) for ln in head.split(b"\r\n")
             if ln.lower().startswith(b"content-length:"))
    while len(body) < n:
        d = s.recv(65536)
        assert d, got
        body += d
    return head.decode()


def allow_of(head):
    return [ln.split(":", 1)[1].strip() for ln in head.split("\r\n")
            if ln.lower().startswith("allow:")]


def test_allow_of_a_waiting_request_is_not_taken_by_another(otpd):
    # One server thread serves both connections. The first 405 waits for
    # its body while the same thread answers another connection's 405 and
    # a 200: its Allow must still be its own (a per-thread buffer gave it
    # the other request's, or none).
    srv = otpd("--threads", "1")
    a = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    b = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    try:
        a.sendall(b"DELETE /auth/send-otp HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        # 100 Continue: the head was read and routed, the body not yet
        assert a.recv(65536).startswith(b"HTTP/1.1 100 ")
        b.sendall(b"DELETE /auth/session HTTP/1.1\r\nHost: x\r\n\r\n")
        head = answer_of(b)
        assert head.startswith("HTTP/1.1 405 ") and allow_of(head) == ["GET"]
        b.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer_of(b).startswith("HTTP/1.1 200 ")
        a.sendall(b"{}")
        head = answer_of(a)
        assert head.startswith("HTTP/1.1 405 "), head
        assert allow_of(head) == ["POST"], head
    finally:
        a.close()
        b.close()
