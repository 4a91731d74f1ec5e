"""Sessions: the cookie, /auth/session, /auth/check and /auth/logout."""

import time

import pytest

from helpers import (COOKIE, ISO_RE, OTHER_PHONE, PHONE, assert_error,
                     iso_to_epoch, session_cookie)


def test_send_sets_session_cookie_with_default_flags(server):
    r = server.send(server.browser(), PHONE)
    assert r.status_code == 200, r.text
    value, attrs = session_cookie(r)
    assert len(value) >= 16, value
    assert attrs.get("path") == "/"
    assert attrs.get("httponly") is True
    assert str(attrs.get("samesite")).lower() == "lax"
    assert "max-age" in attrs and int(attrs["max-age"]) > 0, attrs
    assert "secure" not in attrs


def test_verify_cookie_has_the_same_flags(server):
    b = server.browser()
    server.send(b, PHONE)
    r = server.verify(b, server.wait_code(PHONE))
    assert r.status_code == 200, r.text
    _, attrs = session_cookie(r)
    assert attrs.get("path") == "/"
    assert attrs.get("httponly") is True
    assert str(attrs.get("samesite")).lower() == "lax"
    assert int(attrs["max-age"]) > 0
    assert "secure" not in attrs


def test_cookie_secure_flag(otpd):
    srv = otpd("--cookie-secure")
    r = srv.send(srv.browser(), PHONE)
    assert r.status_code == 200, r.text
    _, attrs = session_cookie(r)
    assert attrs.get("secure") is True
    assert attrs.get("httponly") is True
    assert str(attrs.get("samesite")).lower() == "lax"


def test_session_without_cookie_is_unauthorized(server):
    r = server.browser().get(server.url("/auth/session"))
    assert_error(r, 401, "unauthorized")


def test_session_after_send_only_is_unauthorized(server):
    b = server.browser()
    assert server.send(b, PHONE).status_code == 200
    r = b.get(server.url("/auth/session"))
    assert_error(r, 401, "unauthorized")


def test_session_reports_phone_and_authenticated_at(server):
    b = server.browser()
    before = time.time()
    server.login(b, PHONE)
    r = b.get(server.url("/auth/session"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["phone"] == PHONE
    assert ISO_RE.match(body["authenticated_at"]), body
    at = iso_to_epoch(body["authenticated_at"])
    assert before - 5 <= at <= time.time() + 5, body


def test_sessions_are_per_browser(server):
    a, b = server.browser(), server.browser()
    server.login(a, PHONE)
    assert b.get(server.url("/auth/session")).status_code == 401
    assert b.get(server.url("/auth/check")).status_code == 401
    assert a.get(server.url("/auth/session")).status_code == 200


def test_two_browsers_two_phones(server):
    a, b = server.browser(), server.browser()
    server.login(a, PHONE)
    server.login(b, OTHER_PHONE)
    assert a.get(server.url("/auth/session")).json()["phone"] == PHONE
    assert b.get(server.url("/auth/session")).json()["phone"] == OTHER_PHONE


def test_check_authenticated_is_204_with_phone_header(server):
    b = server.browser()
    server.login(b, PHONE)
    r = b.get(server.url("/auth/check"))
    assert r.status_code == 204, r.text
    assert r.headers.get("X-Auth-Phone") == PHONE
    assert r.content == b""


def test_check_unauthenticated_is_401(server):
    b = server.browser()
    r = b.get(server.url("/auth/check"))
    assert r.status_code == 401
    assert "X-Auth-Phone" not in r.headers
    server.send(b, PHONE)  # a pending session is not a login either
    r = b.get(server.url("/auth/check"))
    assert r.status_code == 401
    assert "X-Auth-Phone" not in r.headers


def test_logout_is_204_and_clears_cookie(server):
    b = server.browser()
    server.login(b, PHONE)
    r = b.post(server.url("/auth/logout"))
    assert r.status_code == 204, r.text
    _, attrs = session_cookie(r)
    assert attrs.get("max-age") == "0", attrs
    assert attrs.get("path") == "/"
    assert b.get(server.url("/auth/session")).status_code == 401


def test_logout_destroys_session_server_side(server):
    b = server.browser()
    server.login(b, PHONE)
    token = b.cookies.get(COOKIE)
    assert token
    r = b.post(server.url("/auth/logout"))
    assert r.status_code == 204, r.text
    replay = {"Cookie": f"{COOKIE}={token}"}
    r = server.browser().get(server.url("/auth/session"), headers=replay)
    assert_error(r, 401, "unauthorized")
    r = server.browser().get(server.url("/auth/check"), headers=replay)
    assert r.status_code == 401


def test_logout_only_ends_its_own_session(server):
    a, b = server.browser(), server.browser()
    server.login(a, PHONE)
    server.login(b, OTHER_PHONE)
    assert a.post(server.url("/auth/logout")).status_code == 204
    assert a.get(server.url("/auth/session")).status_code == 401
    assert b.get(server.url("/auth/session")).status_code == 200


def test_logout_without_session_is_204(server):
    r = server.browser().post(server.url("/auth/logout"))
    assert r.status_code == 204, r.text


# -- the session cache (--session-cache): writes are seen at once ----------
@pytest.mark.parametrize("cache", ["65536", "0"])
def test_logout_then_check_on_keep_alive_connections_is_401_at_once(
        otpd, cache):
    srv = otpd("--threads", "4", "--session-cache", cache)
    b = srv.browser()
    srv.login(b, PHONE)
    replay = {"Cookie": f"{COOKIE}={b.cookies.get(COOKIE)}"}
    # keep-alive connections, each served by a server thread, that have
    # all seen (and cached) the session
    watchers = [srv.browser() for _ in range(4)]
    for w in watchers:
        for _ in range(3):
            r = w.get(srv.url("/auth/check"), headers=replay)
            assert r.status_code == 204, r.text
    assert b.post(srv.url("/auth/logout")).status_code == 204
    for w in watchers:
        assert w.get(srv.url("/auth/check"), headers=replay).status_code \
            == 401
        assert w.get(srv.url("/auth/session"),
                     headers=replay).status_code == 401


def test_resend_then_verify_uses_the_new_code(otpd):
    # verify reads the session (cached) to find its code: a new send to
    # the same session must be seen by the next verify
    srv = otpd("--resend-cooldown", "0")
    b = srv.browser()
    assert srv.send(b, PHONE).status_code == 200
    first = srv.wait_code(PHONE)
    wrong = "000000" if first != "000000" else "111111"
    assert srv.verify(b, wrong).status_code == 401
    assert srv.send(b, PHONE).status_code == 200
    second = srv.wait_code(PHONE, count=2)
    if second != first:
        assert srv.verify(b, first).status_code == 401
    r = srv.verify(b, second)
    assert r.status_code == 200, r.text
    assert b.get(srv.url("/auth/check")).status_code == 204
