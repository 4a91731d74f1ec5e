"""Brute force and lockout (issue 12, finding 1): the two numbers README
states, each held from many client addresses through a trusted proxy.

With the defaults (--limit-phone 5, --code-attempts 5): each (phone, client
address) and each (phone, session) has 5 codes an hour, under a ceiling of
20 an hour for the phone from everyone together. So an outsider needs 4
distinct addresses to spend the phone's hour (and keep spending 20 an hour
to keep it spent), and at most 20 codes x 5 tries = 100 wrong guesses can
be made at once on one phone, however many addresses and sessions try.
The cooldown is off here: per (phone, address) it only spaces one
address's sends (30 s), and the tests make no sleeps.
"""

from helpers import PHONE, assert_rate_limited

CEILING = 20   # 4 x --limit-phone
ATTEMPTS = 5   # --code-attempts


def client(i):
    return {"X-Forwarded-For": f"198.51.{100 + i // 250}.{1 + i % 250}"}


def proxied(otpd):
    return otpd("--trusted-proxies", "127.0.0.1", "--resend-cooldown", "0")


def test_three_addresses_cannot_lock_a_phone_out(otpd):
    srv = proxied(otpd)
    victim = srv.browser()
    me = client(0)
    assert srv.send(victim, PHONE, headers=me).status_code == 200
    mine = srv.wait_code(PHONE)
    n = 1
    for i in range(1, 4):  # three attackers spend all they have
        for _ in range(5):
            assert srv.send(srv.browser(), PHONE,
                            headers=client(i)).status_code == 200
            n += 1
        assert_rate_limited(srv.send(srv.browser(), PHONE,
                                     headers=client(i)),
                            1, 3600, "phone_ip_rate_limited")
    # the victim's code was not retired by the strangers' sends
    srv.wait_code(PHONE, count=n)
    r = srv.verify(victim, mine, headers=me)
    assert r.status_code == 200, r.text
    # and a new send of the victim's still goes
    assert srv.send(srv.browser(), PHONE, headers=me).status_code == 200


def test_four_addresses_spend_the_phones_hour(otpd):
    srv = proxied(otpd)
    for i in range(1, 5):
        for _ in range(5):
            assert srv.send(srv.browser(), PHONE,
                            headers=client(i)).status_code == 200
    assert_rate_limited(srv.send(srv.browser(), PHONE, headers=client(0)),
                        1, 3600, "phone_rate_limited")


def test_many_addresses_get_at_most_100_wrong_guesses(otpd):
    srv = proxied(otpd)
    sessions = []
    for i in range(CEILING + 10):  # one fresh address and session a send
        b = srv.browser()
        r = srv.send(b, PHONE, headers=client(i))
        if r.status_code != 200:
            assert_rate_limited(r, 1, 3600, "phone_rate_limited")
            continue
        sessions.append((b, client(i)))
    assert len(sessions) == CEILING
    srv.wait_code(PHONE, count=CEILING)
    codes = {m["body"] for m in srv.messages_to(PHONE)}
    # a guess that is none of the codes sent to the phone
    guess = next(f"{g:06d}" for g in range(10 ** 6)
                 if not any(f"{g:06d}" in c for c in codes))
    guesses = 0
    for b, h in sessions:
        for _ in range(ATTEMPTS + 3):  # past the 5 tries: nothing left
            r = srv.verify(b, guess, headers=h)
            if r.status_code == 401 and r.json().get("verified") is False:
                guesses += 1
            else:  # out of tries: the session has no live code
                assert r.status_code == 400, r.text
    assert guesses == CEILING * ATTEMPTS, guesses
