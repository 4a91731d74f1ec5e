"""The proof-of-work step-up of the login API (issue 15, section 4), on the
real binary: an address that already sent codes to two other regions in
24 h must show a proof of work for its next send (the rules' ip_spread
step-up). The send is answered 428 with a challenge bound to the session
(whose cookie the answer sets) and the phone; a solved one lets the send
go once, on SQLite and on Redis (where it is used up for every otpd on
the same store). The provider API meets the same trigger and never answers
428. Every check is counted in otpd_pow_checks_total{outcome}. The same
step on the hosted login page without JavaScript."""

import hashlib
import re
import time

import pytest
import requests

from conftest import free_port
from helpers import session_cookie

SECRET = "cd" * 32
KEY = "stepup-test-key-0123456789abcdef"
DEFAULT_BITS = 13  # src/core/config.c, --fraud-pow-bits

US, GB, FR = "+14155550100", "+447400123456", "+33612345678"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def start(otpd, *extra, env=None):
    # the rules on, whatever the suite's default; clients by X-Forwarded-For
    return otpd("--fraud", "enforce", "--trusted-proxies", "127.0.0.1",
                "--resend-cooldown", "0", *extra, env=env)


@pytest.fixture(params=["sqlite", "redis"])
def nodes(request, otpd, redis_server):
    """nodes(n, *extra) -> n otpd on one store (SQLite: n must be 1), each
    with its admin listener in .admin and the API key KEY."""
    def make(n, *extra):
        env = {"OTPD_API_KEYS": KEY, "OTPD_SECRET": SECRET}
        store = ()
        if request.param == "redis":
            store = ("--store", redis_server().url)
        else:
            assert n == 1
        out = []
        for _ in range(n):
            admin = f"127.0.0.1:{free_port()}"
            srv = start(otpd, *store, "--admin-listen", admin, *extra,
                        env=env)
            srv.admin = admin
            out.append(srv)
        return out

    make.store = request.param
    return make


def pow_checks(srv):
    """otpd_pow_checks_total by outcome, from the admin listener."""
    text = requests.get(f"http://{srv.admin}/metrics", timeout=5).text
    got = dict(re.findall(r'^otpd_pow_checks_total\{outcome="(\w+)"\} (\d+)$',
                          text, re.M))
    return {k: int(v) for k, v in got.items()}


def api_send(srv, phone, ip):
    return requests.post(srv.url("/otp/send"), json={"phoneNumber": phone},
                         headers={"X-API-Key": KEY, "X-Forwarded-For": ip},
                         timeout=10)


def send(srv, b, phone, ip, pow=None):
    body = {"phone": phone}
    if pow is not None:
        body["pow"] = pow
    return b.post(srv.url("/auth/send-otp"), json=body, timeout=10,
                  headers={"X-Forwarded-For": ip})


def solve(challenge):
    """The first counter whose "<challenge>.<counter>" hashes (SHA-256) to
    the challenge's leading zero bits."""
    bits = int(challenge.split(".")[1])
    c = 0
    while True:
        sol = f"{challenge}.{c}"
        h = int.from_bytes(hashlib.sha256(sol.encode()).digest(), "big")
        if h >> (256 - bits) == 0:
            return sol
        c += 1


def spread(srv, ip):
    """Two sends from ip to two regions, the first code typed (an address
    that never had one accepted is blocked at its second region): the
    next region needs a proof."""
    b = requests.Session()
    n = len(srv.messages_to(US)) + 1
    r = send(srv, b, US, ip)
    assert r.status_code == 200, r.text
    code = srv.wait_code(US, count=n)
    r = b.post(srv.url("/auth/verify-otp"), json={"code": code},
               headers={"X-Forwarded-For": ip}, timeout=10)
    assert r.status_code == 200, r.text
    r = send(srv, requests.Session(), GB, ip)
    assert r.status_code == 200, r.text


def challenged(r, bits):
    assert r.status_code == 428, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    j = r.json()
    assert j["code"] == "challenge_required"
    assert j["bits"] == bits
    # fixed widths: 63 bytes, so "<challenge>." is one SHA-256 block
    assert re.fullmatch(r"2\.%02d\.\d{12}\.[\w-]{22}\.[\w-]{22}" % bits,
                        j["challenge"]), j
    assert len(j["challenge"]) == 63
    return j["challenge"]


def nothing_sent_to(srv, phone, wait=0.3):
    time.sleep(wait)  # the outbox worker would have sent it by now
    assert srv.messages_to(phone) == []


def test_third_region_needs_a_proof_and_a_solved_one_sends(otpd):
    srv = start(otpd)  # the default --fraud-pow-bits
    ip = "198.51.100.7"
    spread(srv, ip)
    b = requests.Session()
    r = send(srv, b, FR, ip)
    ch = challenged(r, DEFAULT_BITS)
    # the challenge is bound to this new session: its cookie comes along
    tok, _ = session_cookie(r)
    assert tok
    nothing_sent_to(srv, FR)
    t = time.monotonic()
    sol = solve(ch)
    print(f"python solved {DEFAULT_BITS} bits in {time.monotonic() - t:.2f} s, "
          f"counter {sol.rsplit('.', 1)[1]}")
    r = send(srv, b, FR, ip, pow=sol)
    assert r.status_code == 200, r.text
    assert srv.wait_code(FR)
    # used once: the same solution again is a new challenge
    r = send(srv, b, FR, ip, pow=sol)
    assert challenged(r, DEFAULT_BITS) != ch
    time.sleep(0.3)
    assert len(srv.messages_to(FR)) == 1


def test_a_proof_is_bound_to_its_session_and_phone(otpd):
    srv = start(otpd, "--fraud-pow-bits", "12")
    ip = "198.51.100.8"
    spread(srv, ip)
    mine, other = requests.Session(), requests.Session()
    sol = solve(challenged(send(srv, mine, FR, ip), 12))
    # another session (its own cookie) with my solution
    challenged(send(srv, other, FR, ip), 12)
    challenged(send(srv, other, FR, ip, pow=sol), 12)
    # no cookie at all: yet another new session
    challenged(send(srv, requests.Session(), FR, ip, pow=sol), 12)
    # my session, another phone of the same region
    challenged(send(srv, mine, "+33612345679", ip, pow=sol), 12)
    nothing_sent_to(srv, FR)
    # none of those used it up
    r = send(srv, mine, FR, ip, pow=sol)
    assert r.status_code == 200, r.text
    assert srv.wait_code(FR)


def test_a_tampered_or_unsolved_proof_is_a_new_challenge(otpd):
    srv = start(otpd, "--fraud-pow-bits", "12")
    ip = "198.51.100.9"
    spread(srv, ip)
    b = requests.Session()
    ch = challenged(send(srv, b, FR, ip), 12)
    sol = solve(ch)
    v, bits, exp, nonce, mac, ctr = sol.split(".")
    for bad in (
            f"{v}.08.{exp}.{nonce}.{mac}.{ctr}",           # fewer bits
            f"{v}.{bits}.{int(exp) + 3600:012d}.{nonce}.{mac}.{ctr}",  # later
            f"1.{int(bits)}.{int(exp)}.{nonce}.{mac}.{ctr}",  # version 1
            f"{v}.{bits}.{exp}.{nonce}.{mac[::-1]}.{ctr}",  # forged MAC
            f"{v}.{bits}.{exp}.{nonce[::-1]}.{mac}.{ctr}",  # other nonce
            f"{ch}.{int(ctr) + 1}",                         # not solved
            ch,                                              # no counter
            "",
            "garbage"):
        r = send(srv, b, FR, ip, pow=bad)
        challenged(r, 12)
    nothing_sent_to(srv, FR)
    assert send(srv, b, FR, ip, pow=sol).status_code == 200


def test_pow_field_is_checked_like_any_other(otpd):
    srv = start(otpd)
    b = requests.Session()
    for body, code in (({"phone": US, "pow": 5}, "invalid_field"),
                       ({"phone": US, "pow": "1." * 100}, "field_too_long"),
                       ({"phone": US, "pow": "", "x": 1}, "unknown_field")):
        r = b.post(srv.url("/auth/send-otp"), json=body, timeout=10)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == code
    # an address with no spread needs none: a pow given anyway changes
    # nothing
    r = send(srv, b, US, "198.51.100.10", pow="2.13.000000000001.x.y.1")
    assert r.status_code == 200, r.text


def test_login_page_without_javascript_says_the_step_needs_it(otpd):
    srv = start(otpd, "--fraud-pow-bits", "12")
    ip = "198.51.100.11"
    spread(srv, ip)
    b = requests.Session()
    h = dict(FORM, **{"X-Forwarded-For": ip})
    r = b.post(srv.url("/login"), data={"rd": "/", "phone": FR}, headers=h,
               allow_redirects=False, timeout=10)
    assert r.status_code == 428
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<noscript>" in r.text
    assert "this step needs JavaScript" in r.text
    m = re.search(r'data-pow="([^"]+)"', r.text)
    assert m, r.text
    assert 'name="pow" value=""' in r.text
    assert 'role="status" aria-live="polite"' in r.text
    # the page keeps what was typed, and sets the session's cookie
    assert f'value="{FR}"' in r.text
    assert session_cookie(r)[0]
    nothing_sent_to(srv, FR)
    # what the script does: the same form again, with the solution
    r = b.post(srv.url("/login"), headers=h, allow_redirects=False,
               data={"rd": "/", "phone": FR, "pow": solve(m.group(1))},
               timeout=10)
    assert r.status_code == 200, r.text
    assert 'id="code"' in r.text
    assert srv.wait_code(FR)


def test_a_solution_is_used_once_on_every_store_and_counted(nodes):
    n = 2 if nodes.store == "redis" else 1
    srvs = nodes(n, "--fraud-pow-bits", "10")
    a, b = srvs[0], srvs[-1]
    assert pow_checks(a) == {"ok": 0, "bad": 0, "reused": 0, "expired": 0}
    ip = "198.51.100.20"
    spread(a, ip)
    br = requests.Session()
    sol = solve(challenged(send(a, br, FR, ip), 10))
    r = send(a, br, FR, ip, pow=sol)
    assert r.status_code == 200, r.text
    assert a.wait_code(FR)
    # the same solution again, at this otpd and (Redis) at another one on
    # the same store with the same secret and the same session cookie:
    # used, a new challenge, nothing sent
    for srv in srvs:
        cookies = {c.name: c.value for c in br.cookies}
        r = requests.post(srv.url("/auth/send-otp"), timeout=10,
                          json={"phone": FR, "pow": sol}, cookies=cookies,
                          headers={"X-Forwarded-For": ip})
        challenged(r, 10)
    challenged(send(a, br, FR, ip, pow=sol + "0"), 10)  # not solved
    time.sleep(0.3)
    assert len(a.messages_to(FR)) == 1
    assert b is a or b.messages_to(FR) == []
    got = [pow_checks(s) for s in srvs]
    assert sum(g["ok"] for g in got) == 1, got
    assert sum(g["reused"] for g in got) == n, got
    assert sum(g["bad"] for g in got) == 1, got
    assert all(g["expired"] == 0 for g in got), got


def test_the_provider_api_never_asks_for_a_proof(nodes):
    srv = nodes(1)[0]
    ip = "198.51.100.21"
    # the same trigger as the login API's: two regions from one address,
    # through the provider API itself
    for phone in (US, GB):
        r = api_send(srv, phone, ip)
        assert r.status_code == 200, r.text
    r = api_send(srv, FR, ip)
    assert r.status_code == 200, r.text
    assert "challenge" not in r.text
    # and after the login API's own sends from another address: the login
    # API asks, the provider API does not
    ip2 = "198.51.100.22"
    spread(srv, ip2)
    challenged(send(srv, requests.Session(), "+33612345670", ip2),
               DEFAULT_BITS)
    r = api_send(srv, "+33612345671", ip2)
    assert r.status_code == 200, r.text
    text = requests.get(f"http://{srv.admin}/metrics", timeout=5).text
    m = re.search(r'^otpd_fraud_decisions_total\{rule="ip_spread",'
                  r'action="passed",mode="enforce"\} (\d+)$', text, re.M)
    assert m and int(m.group(1)) == 2, text
    assert pow_checks(srv)["ok"] == 0
