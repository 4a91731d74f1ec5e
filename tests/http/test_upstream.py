"""Upstream mode: otpd A (login API, --provider startmessaging) in front of
otpd B (local, provider API). The code arrives in B's SMS sink.

A reaches B through a small TCP relay owned by the test, so that B can be
restarted on another port, and so that the test can let B process a request
and then lose B's answer on its way back to A (what a network failure or a
timeout does).
"""

import socket
import threading
import time

import pytest

from conftest import free_port
from helpers import (COOKIE, ISO_SECONDS_RE, OTHER_PHONE, PHONE, assert_error,
                     assert_rate_limited, iso_to_epoch, session_cookie,
                     set_cookies, wrong_code)
from tcpproxy import accept_each, hang_up
from test_provider import KEY, UNKNOWN_KEY, provider

B_LIMITS_OFF = ("--limit-phone", "0", "--resend-cooldown", "0")


class Relay:
    """TCP relay 127.0.0.1:port -> 127.0.0.1:target.

    mode "forward": bytes pass both ways;
    mode "refuse": a new or reused connection is closed before anything
                   reaches the target;
    mode "swallow": requests reach the target, its answers are dropped and
                   the connection to the client is closed.
    `sends` counts the POST /otp/send requests that reached the target."""

    def __init__(self, target):
        self.target = target
        self.mode = "forward"
        self.sends = 0
        self.swallowed = 0
        self.lock = threading.Lock()
        self.socks = set()
        self.closed = False
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        accept_each(self.lsock, lambda: self.closed, lambda c: threading.Thread(
            target=self._serve, args=(c,), daemon=True).start())

    def _serve(self, c):
        if self.mode == "refuse":
            self._close(c)
            return
        try:
            u = socket.create_connection(("127.0.0.1", self.target),
                                         timeout=10)
        except OSError:
            self._close(c)
            return
        u.settimeout(None)
        with self.lock:
            self.socks.update((c, u))
        threading.Thread(target=self._pump, args=(c, u, True),
                         daemon=True).start()
        self._pump(u, c, False)

    def _pump(self, src, dst, to_target):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if to_target:
                    if self.mode == "refuse":
                        break
                    with self.lock:
                        self.sends += data.count(b"POST /otp/send ")
                elif self.mode == "swallow":
                    with self.lock:
                        self.swallowed += 1
                    break
                dst.sendall(data)
        except OSError:
            pass
        self._close(src)
        self._close(dst)

    def _close(self, s):
        hang_up(s)
        with self.lock:
            self.socks.discard(s)

    def close(self):
        self.closed = True
        self.lsock.close()
        with self.lock:
            socks = list(self.socks)
        for s in socks:
            self._close(s)


@pytest.fixture
def relays():
    made = []

    def make(target):
        r = Relay(target)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def front(otpd, upstream_url, *extra, key=KEY, key_var="OTPD_UPSTREAM_API_KEY",
          env=None):
    """otpd A in upstream mode."""
    e = {key_var: key}
    e.update(env or {})
    return otpd("--provider", "startmessaging", "--upstream-url", upstream_url,
                *extra, env=e)


@pytest.fixture
def pair(otpd, relays):
    """(A, B, relay): B local with limits off, A in front through the relay,
    A's per-phone limits off too (the cooldown would hide double sends)."""
    b = provider(otpd, *B_LIMITS_OFF)
    relay = relays(b.port)
    a = front(otpd, relay.url(), *B_LIMITS_OFF)
    return a, b, relay


def restart_b(b, relay):
    b.start()
    relay.target = b.port


# -- the happy path ----------------------------------------------------------
def test_full_login_through_upstream(pair):
    a, b, relay = pair
    br = a.browser()
    before = time.time()
    r = a.send(br, "+1 415-555-0100")
    assert r.status_code == 200, r.text
    body = r.json()
    assert ISO_SECONDS_RE.match(body["expires_at"]), body
    # B's expiresAt has whole seconds: what is left of it at A may be 299.x
    assert body["expires_in"] in (299, 300), body
    exp = iso_to_epoch(body["expires_at"])
    assert before + 300 - 2 <= exp <= time.time() + 300 + 1, body
    session_cookie(r)
    code = b.wait_code(PHONE)
    # the upstream's request id stays inside A
    rid = b.messages_to(PHONE)[0].get("request_id")
    if rid:
        assert rid not in r.text
        assert all(rid not in c for c in set_cookies(r))
    r = a.verify(br, code)
    assert r.status_code == 200, r.text
    assert r.json() == {"verified": True, "phone": PHONE}
    s = br.get(a.url("/auth/session"))
    assert s.status_code == 200 and s.json()["phone"] == PHONE, s.text
    c = br.get(a.url("/auth/check"))
    assert c.status_code == 204 and c.headers.get("X-Auth-Phone") == PHONE
    # A sent no SMS itself, and asked B once
    assert a.sms_messages() == []
    assert relay.sends == 1
    assert b.db_count("outbox") == 1
    # an upstream call does not park a fiber: A's waits get threads
    a.wait_log('"waits":"threads"')
    b.wait_log('"waits":"fibers"')


def test_wrong_codes_through_upstream(pair):
    a, b, _ = pair
    br = a.browser()
    assert a.send(br, PHONE).status_code == 200
    code = b.wait_code(PHONE)
    for left in (4, 3, 2, 1, 0):
        r = a.verify(br, wrong_code(code))
        assert r.status_code == 401, r.text
        assert r.json()["verified"] is False
        assert r.json()["attempts_remaining"] == left, r.text
    # dead, as with the local provider
    assert_error(a.verify(br, code), 400, "session_expired")
    assert br.get(a.url("/auth/session")).status_code == 401


def test_upstream_key_from_startmessaging_variable(otpd):
    b = provider(otpd, *B_LIMITS_OFF)
    a = front(otpd, b.url(""), key_var="STARTMESSAGING_API_KEY")
    br = a.browser()
    assert a.send(br, PHONE).status_code == 200
    code = b.wait_code(PHONE)
    r = a.verify(br, code)
    assert r.status_code == 200, r.text


def test_upstream_refusing_the_key_is_502(otpd):
    b = provider(otpd, *B_LIMITS_OFF)
    a = front(otpd, b.url(""), key=UNKNOWN_KEY)
    r = a.send(a.browser(), PHONE)
    assert_error(r, 502, "upstream_failed")
    assert b.db_count("outbox") == 0


def test_upstream_unreachable_is_502(otpd):
    a = front(otpd, f"http://127.0.0.1:{free_port()}")
    r = a.send(a.browser(), PHONE)
    assert_error(r, 502, "upstream_failed")
    assert a.sms_messages() == []


# -- B goes away and comes back ---------------------------------------------
def test_b_down_then_back_verify_with_the_same_session(pair):
    a, b, relay = pair
    br = a.browser()
    assert a.send(br, PHONE).status_code == 200
    code = b.wait_code(PHONE)
    cookie = br.cookies.get(COOKIE)
    b.stop()
    r = a.verify(br, code)
    assert_error(r, 502, "upstream_failed")
    assert br.cookies.get(COOKIE) == cookie
    restart_b(b, relay)
    # the failed verify used no attempt and kept the session
    r = a.verify(br, code)
    assert r.status_code == 200, r.text
    assert r.json() == {"verified": True, "phone": PHONE}
    assert br.get(a.url("/auth/session")).json()["phone"] == PHONE


def test_b_down_then_back_send_with_the_same_session(pair):
    a, b, relay = pair
    br = a.browser()
    assert a.send(br, PHONE).status_code == 200
    b.wait_code(PHONE)
    cookie = br.cookies.get(COOKIE)
    b.stop()
    r = a.send(br, PHONE)
    assert_error(r, 502, "upstream_failed")
    assert br.cookies.get(COOKIE) == cookie, set_cookies(r)
    restart_b(b, relay)
    r = a.send(br, PHONE)
    assert r.status_code == 200, r.text
    code = b.wait_code(PHONE, count=2)
    r = a.verify(br, code)
    assert r.status_code == 200, r.text
    # the retried send is one SMS, the first send another
    assert b.db_count("outbox") == 2
    assert len(b.messages_to(PHONE)) == 2


def test_first_send_with_b_down_then_retry(pair):
    a, b, relay = pair
    b.stop()
    br = a.browser()
    assert_error(a.send(br, PHONE), 502, "upstream_failed")
    restart_b(b, relay)
    r = a.send(br, PHONE)
    assert r.status_code == 200, r.text
    code = b.wait_code(PHONE)
    r = a.verify(br, code)
    assert r.status_code == 200, r.text
    assert b.db_count("outbox") == 1


# -- retries send one SMS -----------------------------------------------------
def settle_b(b, a):
    """A send to another phone through A, waited for: a message B queued
    before it has had its turn with B's delivery worker."""
    n = len(b.messages_to(OTHER_PHONE))
    assert a.send(a.browser(), OTHER_PHONE).status_code == 200
    b.wait_code(OTHER_PHONE, count=n + 1)


def test_retried_send_after_lost_answer_sends_one_sms(pair):
    a, b, relay = pair
    br = a.browser()
    relay.mode = "swallow"
    r = a.send(br, PHONE)
    assert_error(r, 502, "upstream_failed")
    # B did its part: the code is on its way
    code = b.wait_code(PHONE)
    assert relay.swallowed >= 1
    relay.mode = "forward"
    r = a.send(br, PHONE)  # the user presses "send" again
    assert r.status_code == 200, r.text
    assert b.db_count("outbox") == 1
    settle_b(b, a)
    assert len(b.messages_to(PHONE)) == 1, b.sms_messages()
    # and the one code logs in
    r = a.verify(br, code)
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == PHONE


def test_two_sends_whose_answers_arrived_are_two_sends(pair):
    a, b, relay = pair
    br = a.browser()
    assert a.send(br, PHONE).status_code == 200
    first = b.wait_code(PHONE)
    assert a.send(br, PHONE).status_code == 200
    second = b.wait_code(PHONE, count=2)
    assert b.db_count("outbox") == 2
    assert relay.sends == 2
    # the session follows the latest code
    if first != second:
        r = a.verify(br, first)
        assert r.status_code in (400, 401), r.text
    r = a.verify(br, second)
    assert r.status_code == 200, r.text


def test_two_browsers_same_phone_are_two_sends(pair):
    a, b, _ = pair
    assert a.send(a.browser(), PHONE).status_code == 200
    assert a.send(a.browser(), PHONE).status_code == 200
    b.wait_code(PHONE, count=2)
    assert b.db_count("outbox") == 2


# -- local limits in front ----------------------------------------------------
def test_local_phone_limit_applies_before_upstream(otpd, relays):
    b = provider(otpd, *B_LIMITS_OFF)
    relay = relays(b.port)
    a = front(otpd, relay.url(), "--limit-phone", "1", "--resend-cooldown",
              "0")
    assert a.send(a.browser(), PHONE).status_code == 200
    b.wait_code(PHONE)
    r = a.send(a.browser(), PHONE)
    assert_rate_limited(r, 1, 3600, "phone_ip_rate_limited")
    assert relay.sends == 1
    assert b.db_count("outbox") == 1
    settle_b(b, a)
    assert len(b.messages_to(PHONE)) == 1


def test_local_cooldown_applies_before_upstream(otpd, relays):
    b = provider(otpd, *B_LIMITS_OFF)
    relay = relays(b.port)
    a = front(otpd, relay.url())  # default cooldown: 30 s
    br = a.browser()
    assert a.send(br, PHONE).status_code == 200
    assert_rate_limited(a.send(br, PHONE), 1, 30, "resend_cooldown")
    assert relay.sends == 1
    assert b.db_count("outbox") == 1


def test_missing_upstream_key_is_a_bad_setting_exit_2(tmp_path):
    # README: bad settings exit 2 (systemd's RestartPreventExitStatus=2)
    import subprocess
    from conftest import OTPD_BIN, clean_env
    r = subprocess.run(
        [OTPD_BIN, "--listen", f"127.0.0.1:{free_port()}", "--store",
         f"sqlite:{tmp_path}/otpd.db", "--sms", "null", "--provider",
         "startmessaging", "--upstream-url", "http://127.0.0.1:9"],
        env=clean_env({}), capture_output=True, text=True, timeout=10)
    assert r.returncode == 2, r
    assert "OTPD_UPSTREAM_API_KEY" in r.stderr


# -- a send that did not happen takes nothing (issue 11, finding 5) ----------
def test_failed_upstream_send_takes_no_cooldown_and_no_hourly_count(
        otpd, relays):
    b = provider(otpd, *B_LIMITS_OFF)
    relay = relays(b.port)
    # one code an hour and the default 30 s cooldown: any count left
    # behind by a failed send would refuse the retry
    a = front(otpd, relay.url(), "--limit-phone", "1")
    br = a.browser()
    relay.mode = "refuse"
    for _ in range(3):
        assert_error(a.send(br, PHONE), 502, "upstream_failed")
    assert relay.sends == 0
    relay.mode = "forward"
    r = a.send(br, PHONE)
    assert r.status_code == 200, r.text
    b.wait_code(PHONE)
    # a code that was issued takes them
    assert_rate_limited(a.send(br, PHONE), 1, 30, "resend_cooldown")
    assert relay.sends == 1


def test_upstream_refusing_a_send_takes_no_cooldown(otpd):
    b = provider(otpd, *B_LIMITS_OFF)
    a = front(otpd, b.url(""), key=UNKNOWN_KEY)
    br = a.browser()
    for _ in range(2):  # B says 401 twice: no cooldown in between
        assert_error(a.send(br, PHONE), 502, "upstream_failed")
    assert b.db_count("outbox") == 0


def test_the_abuse_rules_hold_in_front_of_the_upstream(otpd, relays):
    """A's rules see every send it passes on, and a code verified through
    the upstream counts for its prefix: a burst that nobody verifies is
    refused at A before the upstream is asked, while a prefix with a
    verified user has the higher floor (B's rules are off: it is the paid
    provider)."""
    b = provider(otpd, *B_LIMITS_OFF)
    relay = relays(b.port)
    a = front(otpd, relay.url(), *B_LIMITS_OFF, "--fraud", "enforce")
    # one person of +1 650 logs in through A: that prefix now has history
    br = a.browser()
    assert a.send(br, "+16505550100").status_code == 200
    assert a.verify(br, b.wait_code("+16505550100")).status_code == 200
    # a burst to +1 415 numbers, a prefix nobody verified: three go
    codes = [a.send(a.browser(), f"+1415555{i:04d}").status_code
             for i in range(200, 205)]
    assert codes == [200] * 3 + [429] * 2, codes
    r = a.send(a.browser(), "+14155550299")
    assert_error(r, 429, "fraud_suspected")
    # +1 650 has a verified user: its fourth unverified send is refused
    # for minutes, not blocked for hours as +1 415 was
    got = [a.send(a.browser(), f"+1650555{i:04d}") for i in range(200, 204)]
    assert [r.status_code for r in got] == [200] * 3 + [429], got
    assert int(got[3].headers["Retry-After"]) <= 600, got[3].headers
    assert int(r.headers["Retry-After"]) > 3 * 3600
    assert relay.sends == 1 + 3 + 3


# -- waits hold no server thread --------------------------------------------
def test_a_hung_upstream_does_not_stall_check(otpd):
    """Sends wait on an upstream that accepts and never answers, more of
    them than A has server threads (one); meanwhile /auth/check and
    /healthz still answer at once, and the sends end 502 at the upstream
    timeout. (Without the wait pool the one thread would sit in the
    upstream call and check would wait up to its 2 s timeout.)"""
    hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    held = []  # accepted, read from, never answered

    def swallow():
        while True:
            try:
                c, _ = hole.accept()
            except OSError:
                return
            held.append(c)

    threading.Thread(target=swallow, daemon=True).start()
    try:
        a = front(otpd, f"http://127.0.0.1:{hole.getsockname()[1]}",
                  "--threads", "1", "--upstream-timeout", "3", *B_LIMITS_OFF)
        answers = []

        def send():
            answers.append(a.send(a.browser(), PHONE).status_code)

        senders = [threading.Thread(target=send) for _ in range(3)]
        for t in senders:
            t.start()
        deadline = time.monotonic() + 5
        while len(held) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(held) == 3 and answers == []  # all three in the upstream
        for _ in range(5):
            t0 = time.monotonic()
            r = a.browser().get(a.url("/auth/check"), timeout=2)
            assert r.status_code == 401
            assert time.monotonic() - t0 < 0.5
            assert a.browser().get(a.url("/healthz"),
                                   timeout=2).status_code == 200
        for t in senders:
            t.join(10)
        assert answers == [502, 502, 502]
    finally:
        hole.close()
        for c in held:
            c.close()
