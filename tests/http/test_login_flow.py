"""The login API: send a code, verify it, end up with a session."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import (COOKIE, ISO_SECONDS_RE, OTHER_PHONE, PHONE, assert_error,
                     iso_to_epoch, session_cookie, wrong_code)


# -- send ------------------------------------------------------------------
def test_send_answers_expiry_and_retry_after(server):
    b = server.browser()
    before = time.time()
    r = server.send(b, PHONE)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["expires_in"] == 300
    assert body["retry_after"] == 30
    assert ISO_SECONDS_RE.match(body["expires_at"]), body
    exp = iso_to_epoch(body["expires_at"])
    assert before + 300 - 5 <= exp <= time.time() + 300 + 5, body


def test_send_delivers_six_digit_code_to_the_number(server):
    r = server.send(server.browser(), PHONE)
    assert r.status_code == 200, r.text
    code = server.wait_code(PHONE)
    assert re.fullmatch(r"\d{6}", code)
    msgs = server.sms_messages()
    assert len(msgs) == 1
    assert msgs[0]["to"] == PHONE
    assert code in msgs[0]["body"]


def test_send_accepts_json_with_charset(server):
    r = server.browser().post(
        server.url("/auth/send-otp"), data=b'{"phone": "+14155550100"}',
        headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200, r.text
    server.wait_code(PHONE)


@pytest.mark.parametrize("written", [
    "+1 (415) 555-0100",
    "+1.415.555.0100",
    "0014155550100",
    "+1 415-555-0100",
])
def test_send_normalises_phone_to_e164(server, written):
    r = server.send(server.browser(), written)
    assert r.status_code == 200, r.text
    server.wait_code(PHONE)
    assert [m["to"] for m in server.sms_messages()] == [PHONE]


@pytest.mark.parametrize("bad", [
    "hello",
    "",
    "4155550100",          # no country code
    "+1415555010a",        # a letter
    "+1234567",            # 7 digits: too short
    "+1415555010012345",   # 16 digits: too long
    "+0123456789",         # no calling code starts with 0
    "++14155550100",
])
def test_send_rejects_invalid_phone(server, bad):
    r = server.send(server.browser(), bad)
    assert_error(r, 400, "invalid_phone")
    assert server.db_count("codes") == 0
    assert server.db_count("outbox") == 0


# -- verify ----------------------------------------------------------------
def test_full_login_flow(server):
    b = server.browser()
    assert server.send(b, PHONE).status_code == 200
    code = server.wait_code(PHONE)
    r = server.verify(b, code)
    assert r.status_code == 200, r.text
    assert r.json() == {"verified": True, "phone": PHONE}
    s = b.get(server.url("/auth/session"))
    assert s.status_code == 200, s.text
    assert s.json()["phone"] == PHONE


def test_verify_rotates_session_token(server):
    b = server.browser()
    r = server.send(b, PHONE)
    old, _ = session_cookie(r)
    code = server.wait_code(PHONE)
    r = server.verify(b, code)
    assert r.status_code == 200, r.text
    new, attrs = session_cookie(r)
    assert new and new != old
    assert attrs.get("path") == "/" and attrs.get("httponly") is True
    # the new token is the logged-in one, the old one is worth nothing
    r = server.browser().get(server.url("/auth/session"),
                             headers={"Cookie": f"{COOKIE}={new}"})
    assert r.status_code == 200, r.text
    r = server.browser().get(server.url("/auth/session"),
                             headers={"Cookie": f"{COOKIE}={old}"})
    assert_error(r, 401, "unauthorized")


def test_wrong_code_counts_down_attempts(server):
    b = server.browser()
    server.send(b, PHONE)
    bad = wrong_code(server.wait_code(PHONE))
    for left in (4, 3, 2, 1, 0):
        r = server.verify(b, bad)
        assert r.status_code == 401, r.text
        assert r.json()["verified"] is False
        assert r.json()["attempts_remaining"] == left


def test_wrong_code_then_right_code_logs_in(server):
    b = server.browser()
    server.send(b, PHONE)
    code = server.wait_code(PHONE)
    assert server.verify(b, wrong_code(code)).status_code == 401
    r = server.verify(b, code)
    assert r.status_code == 200, r.text
    assert r.json() == {"verified": True, "phone": PHONE}


def test_code_is_dead_after_five_wrong_attempts(server):
    b = server.browser()
    server.send(b, PHONE)
    code = server.wait_code(PHONE)
    for _ in range(5):
        assert server.verify(b, wrong_code(code)).status_code == 401
    r = server.verify(b, code)
    body = assert_error(r, 400, "session_expired")
    assert body["error"] == "session expired"
    assert b.get(server.url("/auth/session")).status_code == 401


def test_verify_without_cookie_is_session_expired(server):
    server.send(server.browser(), PHONE)
    code = server.wait_code(PHONE)
    r = server.verify(server.browser(), code)  # another browser, no cookie
    assert_error(r, 400, "session_expired")


def test_verify_with_unknown_cookie_is_session_expired(server):
    server.send(server.browser(), PHONE)
    code = server.wait_code(PHONE)
    r = server.verify(server.browser(), code,
                      headers={"Cookie": f"{COOKIE}=not-a-real-token"})
    assert_error(r, 400, "session_expired")


def test_code_is_single_use(server):
    b = server.browser()
    r = server.send(b, PHONE)
    old, _ = session_cookie(r)
    code = server.wait_code(PHONE)
    assert server.verify(b, code).status_code == 200
    # again on the rotated session: no live code is bound any more
    assert_error(server.verify(b, code), 400, "session_expired")
    # and with the pre-rotation cookie
    r = server.verify(server.browser(), code,
                      headers={"Cookie": f"{COOKIE}={old}"})
    assert_error(r, 400, "session_expired")


def test_verify_phone_mismatch_with_right_code_is_refused(server):
    b = server.browser()
    server.send(b, PHONE)
    code = server.wait_code(PHONE)
    r = server.verify(b, code, phone=OTHER_PHONE)
    assert r.status_code == 401, r.text
    assert r.json()["verified"] is False
    assert r.json()["attempts_remaining"] == 4
    assert b.get(server.url("/auth/session")).status_code == 401


def test_verify_phone_mismatch_counts_an_attempt(server):
    b = server.browser()
    server.send(b, PHONE)
    code = server.wait_code(PHONE)
    r = server.verify(b, wrong_code(code), phone=OTHER_PHONE)
    assert r.json().get("attempts_remaining") == 4, r.text
    r = server.verify(b, code, phone=OTHER_PHONE)
    assert r.status_code == 401 and r.json()["attempts_remaining"] == 3, \
        r.text
    # the session's phone is the phone the code went to
    r = server.verify(b, code)
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == PHONE
    assert b.get(server.url("/auth/session")).json()["phone"] == PHONE


@pytest.mark.parametrize("written", [PHONE, "+1 (415) 555-0100",
                                     "0014155550100"])
def test_verify_phone_same_number_any_format_is_accepted(server, written):
    b = server.browser()
    server.send(b, PHONE)
    code = server.wait_code(PHONE)
    r = server.verify(b, code, phone=written)
    assert r.status_code == 200, r.text
    assert r.json() == {"verified": True, "phone": PHONE}


def test_new_send_retires_old_code_same_browser(otpd):
    srv = otpd("--resend-cooldown", "0")
    b = srv.browser()
    assert srv.send(b, PHONE).status_code == 200
    old = srv.wait_code(PHONE)
    n = 1
    while True:  # a fresh code that differs from the old one
        assert srv.send(b, PHONE).status_code == 200
        n += 1
        new = srv.wait_code(PHONE, count=n)
        if new != old or n == 4:
            break
    assert new != old
    r = srv.verify(b, old)
    assert r.status_code in (400, 401), r.text
    assert r.json().get("verified") is not True
    r = srv.verify(b, new)
    assert r.status_code == 200, r.text


def test_new_send_keeps_the_code_of_another_browser(otpd):
    # Changed on purpose (issue 12, finding 1): a send retires only its own
    # session's codes, so a stranger's send to the same phone no longer
    # kills the code a person is typing.
    srv = otpd("--resend-cooldown", "0")
    a, b = srv.browser(), srv.browser()
    assert srv.send(a, PHONE).status_code == 200
    code_a = srv.wait_code(PHONE)
    assert srv.send(b, PHONE).status_code == 200
    code_b = srv.wait_code(PHONE, count=2)
    r = srv.verify(a, code_a)
    assert r.status_code == 200, r.text
    assert a.get(srv.url("/auth/session")).status_code == 200
    r = srv.verify(b, code_b)
    assert r.status_code == 200, r.text


def test_code_length_flag(otpd):
    srv = otpd("--code-length", "8")
    b = srv.browser()
    assert srv.send(b, PHONE).status_code == 200
    code = srv.wait_code(PHONE)
    assert re.fullmatch(r"\d{8}", code)
    r = srv.verify(b, code)
    assert r.status_code == 200, r.text


def test_concurrent_logins_all_succeed(server):
    phones = [f"+1415555{1000 + i:04d}" for i in range(20)]
    start = threading.Barrier(len(phones))

    def flow(phone):
        b = server.browser()
        start.wait(10)
        r = server.send(b, phone)
        assert r.status_code == 200, (phone, r.status_code, r.text)
        code = server.wait_code(phone, timeout=20)
        r = server.verify(b, code)
        assert r.status_code == 200, (phone, r.status_code, r.text)
        assert r.json()["phone"] == phone
        r = b.get(server.url("/auth/session"))
        assert r.status_code == 200 and r.json()["phone"] == phone, r.text
        return phone

    with ThreadPoolExecutor(len(phones)) as pool:
        done = list(pool.map(flow, phones))
    assert sorted(done) == sorted(phones)
    assert len(server.sms_messages()) == len(phones)
