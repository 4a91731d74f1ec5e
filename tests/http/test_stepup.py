"""The proof-of-work step-up of the login API (issue 15, section 4), on the
real binary: an address that already sent codes to two other regions in
24 h must show a proof of work for its next send (the rules' ip_spread
step-up). The send is answered 428 with a challenge bound to the session
(whose cookie the answer sets) and the phone; a solved one lets the send
go once. The same step on the hosted login page without JavaScript."""

import hashlib
import re
import time

import requests

from helpers import session_cookie

US, GB, FR = "+14155550100", "+447400123456", "+33612345678"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def start(otpd, *extra):
    # the rules on, whatever the suite's default; clients by X-Forwarded-For
    return otpd("--fraud", "enforce", "--trusted-proxies", "127.0.0.1",
                "--resend-cooldown", "0", *extra)


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
    """Two sends from ip to two regions: the next region needs a proof."""
    for phone in (US, GB):
        r = send(srv, requests.Session(), phone, ip)
        assert r.status_code == 200, r.text


def challenged(r, bits):
    assert r.status_code == 428, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    j = r.json()
    assert j["code"] == "challenge_required"
    assert j["bits"] == bits
    assert re.fullmatch(r"1\.%d\.\d+\.[\w-]{22}\.[\w-]{22}" % bits,
                        j["challenge"]), j
    return j["challenge"]


def nothing_sent_to(srv, phone, wait=0.3):
    time.sleep(wait)  # the outbox worker would have sent it by now
    assert srv.messages_to(phone) == []


def test_third_region_needs_a_proof_and_a_solved_one_sends(otpd):
    srv = start(otpd)  # default --fraud-pow-bits: 18
    ip = "198.51.100.7"
    spread(srv, ip)
    b = requests.Session()
    r = send(srv, b, FR, ip)
    ch = challenged(r, 18)
    # the challenge is bound to this new session: its cookie comes along
    tok, _ = session_cookie(r)
    assert tok
    nothing_sent_to(srv, FR)
    t = time.monotonic()
    sol = solve(ch)
    print(f"python solved 18 bits in {time.monotonic() - t:.2f} s, "
          f"counter {sol.rsplit('.', 1)[1]}")
    r = send(srv, b, FR, ip, pow=sol)
    assert r.status_code == 200, r.text
    assert srv.wait_code(FR)
    # used once: the same solution again is a new challenge
    r = send(srv, b, FR, ip, pow=sol)
    assert challenged(r, 18) != ch
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
            f"{v}.8.{exp}.{nonce}.{mac}.{ctr}",            # fewer bits
            f"{v}.{bits}.{int(exp) + 3600}.{nonce}.{mac}.{ctr}",  # later
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
    r = send(srv, b, US, "198.51.100.10", pow="1.18.1.x.y.1")
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
