"""The HTTP layer: keep-alive, slow clients, response framing."""

import json
import socket
import time

import requests

from helpers import OTHER_PHONE, PHONE, recv_response, wait_closed


def connect(srv, timeout=5):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    return s


def healthz_request(port):
    return (f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Accept: application/json\r\n\r\n").encode()


def test_keep_alive_serves_two_requests_on_one_connection(server):
    with connect(server) as s:
        deadline = time.monotonic() + 5
        for _ in range(2):
            s.sendall(healthz_request(server.port))
            status, headers, body = recv_response(s, deadline)
            assert status == 200
            assert json.loads(body) == {"status": "ok"}
            assert headers.get("connection", "").lower() != "close"


def test_error_response_keeps_connection_or_announces_close(server):
    """An error may end the connection, but never silently: either the
    response says `Connection: close` and the server closes, or the next
    request on the same connection is answered."""
    with connect(server) as s:
        deadline = time.monotonic() + 5
        s.sendall(f"GET /nope HTTP/1.1\r\nHost: 127.0.0.1:{server.port}"
                  "\r\n\r\n".encode())
        status, headers, body = recv_response(s, deadline)
        assert status == 404
        assert json.loads(body)["code"] == "not_found"
        if headers.get("connection", "").lower() == "close":
            assert wait_closed(s, 5)
        else:
            s.sendall(healthz_request(server.port))
            status, _, _ = recv_response(s, deadline)
            assert status == 200


def test_keep_alive_with_post_body(server):
    body = b'{"phone": "+14155550100"}'
    with connect(server) as s:
        deadline = time.monotonic() + 5
        s.sendall(f"POST /auth/send-otp HTTP/1.1\r\n"
                  f"Host: 127.0.0.1:{server.port}\r\n"
                  "Content-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status, headers, resp = recv_response(s, deadline)
        assert status == 200, resp
        assert "otpd_session=" in headers.get("set-cookie", "")
        s.sendall(healthz_request(server.port))
        status, _, _ = recv_response(s, deadline)
        assert status == 200
    server.wait_code(PHONE)


def test_slow_client_is_disconnected(otpd):
    srv = otpd("--conn-timeout", "1")
    with connect(srv) as slow:
        slow.sendall(b"GET /heal")  # a partial request line, then silence
        # others are served meanwhile
        r = requests.get(srv.url("/healthz"), timeout=2)
        assert r.status_code == 200
        assert wait_closed(slow, 5), "server kept the slow connection open"


def test_slow_body_is_disconnected(otpd):
    srv = otpd("--conn-timeout", "1")
    with connect(srv) as slow:
        slow.sendall(f"POST /auth/send-otp HTTP/1.1\r\n"
                     f"Host: 127.0.0.1:{srv.port}\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: 100\r\n\r\n"
                     '{"phone": "+1'.encode())
        assert wait_closed(slow, 5), "server kept the slow connection open"
    assert srv.db_count("codes") == 0


def test_many_idle_connections_do_not_block_others(otpd):
    srv = otpd("--conn-timeout", "1")
    idle = [connect(srv) for _ in range(20)]
    try:
        for s in idle:
            s.sendall(b"POST /auth/send-otp HTTP/1.1\r\n")
        t0 = time.monotonic()
        r = requests.get(srv.url("/healthz"), timeout=3)
        assert r.status_code == 200
        assert time.monotonic() - t0 < 3
        for s in idle:
            assert wait_closed(s, 5)
    finally:
        for s in idle:
            s.close()


def test_responses_are_json_with_length(server):
    r = requests.get(server.url("/healthz"))
    assert r.headers["Content-Type"].startswith("application/json")
    assert int(r.headers["Content-Length"]) == len(r.content)
    r = requests.get(server.url("/nope"))
    assert r.headers["Content-Type"].startswith("application/json")
    assert int(r.headers["Content-Length"]) == len(r.content)


def test_cookie_header_of_9_kib_is_served(server):
    """A browser's Cookie header carries the site's other cookies too; the
    session is found among 130 of them, 9 KiB (nginx passes them all to
    auth_request; libmicrohttpd keeps an entry per cookie in the
    connection's memory pool)."""
    b = server.browser()
    server.login(b, PHONE)
    jar = "; ".join(f"analytics{i}={'v' * 60}" for i in range(130))
    token = b.cookies.get("otpd_session")
    h = {"Cookie": f"{jar}; otpd_session={token}"}
    assert 9000 < len(h["Cookie"]) < 9800
    r = requests.get(server.url("/auth/check"), headers=h, timeout=5)
    assert r.status_code == 204
    assert r.headers["X-Auth-Phone"] == PHONE


def test_oversized_request_head_gets_431_and_server_lives(server):
    for head in ({"Cookie": "a=" + "x" * 40000},
                 {f"X-Pad-{i}": "y" * 40 for i in range(600)}):
        with connect(server) as s:
            deadline = time.monotonic() + 5
            s.sendall(f"GET /auth/check HTTP/1.1\r\n"
                      f"Host: 127.0.0.1:{server.port}\r\n".encode() +
                      "".join(f"{k}: {v}\r\n" for k, v in head.items())
                      .encode() + b"\r\n")
            status, _, _ = recv_response(s, deadline)
            assert status == 431
    with connect(server) as s:
        s.sendall(f"GET /auth/check?{'q' * 40000} HTTP/1.1\r\n"
                  f"Host: 127.0.0.1:{server.port}\r\n\r\n".encode())
        status, _, _ = recv_response(s, time.monotonic() + 5)
        assert status == 414
    assert requests.get(server.url("/healthz"), timeout=5).status_code == 200


def test_body_at_its_cap_after_a_large_head(server):
    """The body cap (8 KiB) and a 6 KiB head fit together: bodies are not
    kept in the connection's memory pool."""
    body = b'{"phone": "+14155550100"' + b" " * (8192 - 25) + b"}"
    assert len(body) == 8192
    with connect(server) as s:
        deadline = time.monotonic() + 5
        s.sendall(f"POST /auth/send-otp HTTP/1.1\r\n"
                  f"Host: 127.0.0.1:{server.port}\r\n"
                  f"X-Pad: {'p' * 6000}\r\n"
                  "Content-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status, _, resp = recv_response(s, deadline)
        assert status == 200, resp


def test_checks_of_several_users_on_one_connection(server):
    """nginx's keep-alive connections carry many users' checks one after
    the other: each answer names its own phone (the server keeps the last
    answer of a connection and changes its phone), and an unknown session
    in between is refused."""
    tokens = {}
    for phone in (PHONE, OTHER_PHONE):
        b = server.browser()
        server.login(b, phone)
        tokens[phone] = b.cookies.get("otpd_session")
    with connect(server) as s:
        deadline = time.monotonic() + 5
        for phone in (PHONE, PHONE, OTHER_PHONE, None, PHONE, OTHER_PHONE):
            token = tokens[phone] if phone else "nope"
            for method in ("GET", "HEAD"):
                s.sendall(f"{method} /auth/check HTTP/1.1\r\n"
                          f"Host: 127.0.0.1:{server.port}\r\n"
                          f"Cookie: otpd_session={token}\r\n\r\n"
                          .encode())
                if method == "HEAD":  # no body follows, whatever the length
                    buf = b""
                    while b"\r\n\r\n" not in buf:
                        buf += s.recv(65536)
                    assert buf.split()[1] == (b"204" if phone else b"401")
                    assert buf.lower().count(b"x-auth-phone:") == (
                        1 if phone else 0)
                    continue
                status, headers, _ = recv_response(s, deadline)
                if phone is None:
                    assert status == 401
                    assert "x-auth-phone" not in headers
                else:
                    assert status == 204
                    assert headers["x-auth-phone"] == phone
                    assert headers["cache-control"] == "no-store"


def test_shared_error_answers_are_whole_and_logged(otpd):
    """Errors with nothing of the request in them go out as answers made
    once at start and shared by all threads: the same body and headers as
    any error, many at once, each request still logged with its error."""
    from concurrent.futures import ThreadPoolExecutor
    srv = otpd("--threads", "4")

    def check(i):
        return requests.get(srv.url("/auth/check"), timeout=10,
                            headers={"Cookie": f"otpd_session=bad{i}"})
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(check, range(400)))
    for r in answers:
        assert r.status_code == 401
        assert r.json() == {"error": "not logged in", "code": "unauthorized"}
        assert r.content.endswith(b"}\n")
        assert r.headers["Content-Type"] == "application/json"
        assert r.headers["Cache-Control"] == "no-store"
        assert int(r.headers["Content-Length"]) == len(r.content)
        assert "Set-Cookie" not in r.headers
    r = requests.get(srv.url("/nope"), timeout=5)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    # not plain: the Allow header, the envelope
    r = requests.delete(srv.url("/auth/check"), timeout=5)
    assert r.status_code == 405 and r.headers["Allow"] == "GET"
    r = requests.post(srv.url("/otp/send"), json={}, timeout=5)
    assert r.status_code == 401 and r.json()["success"] is False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [json.loads(ln) for ln in srv.log_text().splitlines()
                 if '"msg":"request"' in ln]
        if len(lines) >= 403:
            break
        time.sleep(0.05)
    errors = [ln.get("error") for ln in lines]
    assert errors.count("unauthorized") == 400
    assert "not_found" in errors and "method_not_allowed" in errors
    assert "invalid_api_key" in errors


def test_shared_answer_keeps_no_other_connections_headers(server):
    """A shared error answer goes to clients that close (HTTP/1.0,
    Connection: close) and to one that keeps its connection: the close is
    the connection's, never written into the shared answer."""
    def head_of(request):
        with connect(server) as s:
            s.sendall(request)
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += s.recv(65536)
            return buf.split(b"\r\n\r\n")[0].decode().lower()
    assert "connection: close" in head_of(b"GET /auth/check HTTP/1.0\r\n\r\n")
    assert "connection: close" in head_of(
        b"GET /auth/check HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = head_of(b"GET /auth/check HTTP/1.1\r\nHost: x\r\n\r\n")
    assert head.startswith("http/1.1 401")
    assert "connection: close" not in head
