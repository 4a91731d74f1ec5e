"""Small shared helpers for the HTTP suite (no fixtures here)."""

import calendar
import re
import socket
import time

COOKIE = "otpd_session"
ISO_SECONDS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")

PHONE = "+14155550100"
MASKED = "+1415*****00"
OTHER_PHONE = "+14155550123"


def set_cookies(resp):
    """Every Set-Cookie header of a response, raw."""
    return resp.raw.headers.getlist("Set-Cookie")


def parse_set_cookie(raw):
    """'n=v; Path=/; HttpOnly' -> ('n', 'v', {'path': '/', 'httponly': True})"""
    parts = [p.strip() for p in raw.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        if not p:
            continue
        k, eq, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), value.strip(), attrs


def session_cookie(resp):
    """(value, attrs) of the one otpd_session Set-Cookie of a response."""
    found = [parse_set_cookie(c) for c in set_cookies(resp)]
    found = [(v, a) for n, v, a in found if n == COOKIE]
    assert len(found) == 1, \
        f"expected one {COOKIE} Set-Cookie, got {set_cookies(resp)!r}"
    return found[0]


def iso_to_epoch(s):
    s = re.sub(r"\.\d+Z$", "Z", s)
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def wrong_code(code):
    """A code of the same length that is certainly not `code`."""
    n = len(code)
    return str((int(code) + 1) % 10 ** n).zfill(n)


def json_answer(resp, status, what=""):
    """The JSON object of an answer with `status` and a JSON content type."""
    assert resp.status_code == status, \
        f"expected {status} {what}, got {resp.status_code}: {resp.text!r}"
    assert resp.headers.get("Content-Type", "").startswith(
        "application/json"), resp.headers
    body = resp.json()
    assert isinstance(body, dict), body
    return body


def assert_code(got, code, body):
    """`got` is `code`, or one of them when `code` is a tuple, list or set."""
    if isinstance(code, (tuple, list, set)):
        assert got in code, body
    else:
        assert got == code, body


def assert_error(resp, status, code):
    """A JSON error {"error": <message>, "code": <code>} with `status`."""
    body = json_answer(resp, status, code)
    assert isinstance(body.get("error"), str) and body["error"], body
    assert_code(body.get("code"), code, body)
    return body


def assert_rate_limited(resp, lo, hi, code="rate_limited"):
    """429 `code` (each limit has its own) with Retry-After == body
    retry_after in [lo, hi]."""
    body = assert_error(resp, 429, code)
    ra = resp.headers.get("Retry-After")
    assert ra is not None and re.fullmatch(r"\d+", ra), resp.headers
    assert lo <= int(ra) <= hi, ra
    assert body.get("retry_after") == int(ra), (body, ra)
    return int(ra)


# -- raw sockets -----------------------------------------------------------
def recv_response(sock, deadline):
    """Reads one HTTP/1.1 response with a Content-Length (or none) body.
    Returns (status, headers dict lower-cased, body bytes)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed mid-response: {buf!r}")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed mid-body")
        rest += chunk
    return status, headers, rest[:n]


def wait_closed(sock, timeout):
    """True if the peer closes the socket within `timeout` seconds (any data
    sent before the close is read and dropped)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            if sock.recv(65536) == b"":
                return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
