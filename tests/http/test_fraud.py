"""SMS pumping and spend, through the real binary on SQLite and Redis: a
burst of sends to one number prefix that nobody verifies is blocked after
a few (nothing sent, 429 fraud_suspected with the block's Retry-After, in
both APIs), the block shows in otpctl fraud list and ends with fraud
unblock, the allow list (flag or otpctl) bypasses the rules, monitor mode
only logs and counts, and the spend cap answers 503 spend_limit.

The suites run with the rules off (conftest.TEST_DEFAULTS); every test
here turns them on with --fraud."""

import json
import re
import subprocess
import time

import pytest
import requests

from conftest import clean_env, free_port
from helpers import assert_error
from test_otpctl import OTPCTL_BIN

SECRET = "ab" * 32
KEY = "fraud-test-key-0123456789abcdef"
BLOCK_TTL = 43200


def burst_phones(n, base=5550000):
    """n numbers of one prefix (+1 415), none of them ever verified."""
    return [f"+1415{base + i:07d}" for i in range(n)]


class Node:
    def __init__(self, srv, store, env):
        self.srv, self.store, self.env = srv, store, env

    def ctl(self, *args):
        return subprocess.run(
            [OTPCTL_BIN, "--store", self.store, "--json", *args],
            env=clean_env(self.env), cwd=self.srv.dir, capture_output=True,
            text=True, timeout=20)

    def ctl_json(self, *args):
        p = self.ctl(*args)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        return json.loads(p.stdout)

    def wait_sms(self, n, timeout=10):
        """The sink's messages once it holds n (delivery is asynchronous);
        a settle pause after, so that one too many would show."""
        deadline = time.monotonic() + timeout
        while len(self.srv.sms_messages()) < n:
            assert time.monotonic() < deadline, self.srv.sms_messages()
            time.sleep(0.02)
        time.sleep(0.3)
        return self.srv.sms_messages()

    def metrics(self):
        return requests.get(f"http://{self.admin}/metrics", timeout=5).text

    def send_all(self, phones):
        """Each phone from a browser of its own; the status codes."""
        out = []
        for p in phones:
            out.append(self.srv.send(self.srv.browser(), p))
        return out


@pytest.fixture(params=["sqlite", "redis"])
def node(request, otpd, redis_server):
    def make(*extra, env=None):
        admin = f"127.0.0.1:{free_port()}"
        e = {"OTPD_API_KEYS": KEY}
        e.update(env or {})
        args = ["--admin-listen", admin, "--limit-phone", "0",
                "--resend-cooldown", "0", *extra]
        if request.param == "redis":
            rs = redis_server()
            e["OTPD_SECRET"] = SECRET
            srv = otpd("--store", rs.url, *args, env=e)
            n = Node(srv, rs.url, {"OTPD_SECRET": SECRET})
        else:
            srv = otpd(*args, env=e)
            n = Node(srv, f"sqlite:{srv.db_path}", {})
        n.admin = admin
        return n

    return make


def decisions(text, **labels):
    """The value of otpd_fraud_decisions_total{labels}, or 0."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(r'^otpd_fraud_decisions_total\{' + re.escape(want)
                  + r'\} (\d+)$', text, re.M)
    return int(m.group(1)) if m else 0


def test_a_burst_is_blocked_and_nothing_is_sent(node):
    n = node("--fraud", "enforce")
    phones = burst_phones(12)
    got = n.send_all(phones)
    codes = [r.status_code for r in got]
    # a new prefix: three unverified sends, then the prefix is blocked
    assert codes == [200] * 3 + [429] * 9, codes
    r = got[3]
    assert_error(r, 429, "fraud_suspected")
    assert BLOCK_TTL - 5 <= int(r.headers["Retry-After"]) <= BLOCK_TTL, \
        r.headers
    assert r.json()["retry_after"] == int(r.headers["Retry-After"])
    # only the three that went reached the gateway
    sent = {m["to"] for m in n.wait_sms(3)}
    assert sent == set(phones[:3]), sent
    # the provider API meets the same block, in its envelope
    r = requests.post(n.srv.url("/otp/send"), headers={"X-API-Key": KEY},
                      json={"phoneNumber": "+14155559999"}, timeout=5)
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["success"] is False
    assert body["error"]["code"] == "fraud_suspected", body
    # counted, and logged once, with the prefix masked
    text = n.metrics()
    assert decisions(text, rule="prefix_conversion", action="block",
                     mode="enforce") == 1, text
    assert decisions(text, rule="block", action="refuse",
                     mode="enforce") == 9, text
    assert re.search(r'^otpd_otp_sends_total\{api="login",'
                     r'outcome="fraud_suspected"\} 9$', text, re.M), text
    log = n.srv.log_text()
    assert log.count('"msg":"fraud: send refused"') == 1, log
    assert '"key":"p:+1415"' in log and "+14155550003" not in log
    # otpctl shows it, and ends it
    entries = n.ctl_json("fraud", "list")["entries"]
    assert [(e["key"], e["kind"], e["rule"], e["live"]) for e in entries] \
        == [("p:+1415", "block", "prefix_conversion", True)], entries
    assert n.ctl_json("fraud", "unblock", "p:+1415") == \
        {"removed": "p:+1415"}
    p = n.ctl("fraud", "unblock", "p:+1415")
    assert p.returncode == 1, p.stderr
    assert "no block or allow entry p:+1415" in p.stderr, p.stderr
    # the burst still shows in the signals: the rule blocks it again
    # (an operator who trusts the prefix allows it: the next test)
    assert_error(n.srv.send(n.srv.browser(), phones[5]), 429,
                 "fraud_suspected")
    assert [e["live"] for e in n.ctl_json("fraud", "list")["entries"]] \
        == [True]
    # another prefix was never touched
    assert n.srv.send(n.srv.browser(), "+12015550123").status_code == 200


def test_an_address_that_never_verified_is_blocked_at_its_second_country(
        node):
    # Pumping spread thin over many countries: one address, numbers in
    # one region and then another, no code ever typed.
    n = node("--fraud", "enforce", "--trusted-proxies", "127.0.0.1")

    def send(phone, ip):
        return n.srv.send(n.srv.browser(), phone,
                          headers={"X-Forwarded-For": ip})

    assert send("+14155550100", "198.51.100.7").status_code == 200
    # the same region again (a retry, a second number) goes
    assert send("+14155550101", "198.51.100.7").status_code == 200
    r = send("+447400123456", "198.51.100.7")
    assert_error(r, 429, "fraud_suspected")
    assert BLOCK_TTL - 5 <= int(r.headers["Retry-After"]) <= BLOCK_TTL
    # the address is blocked now, whatever the region
    assert_error(send("+14155550102", "198.51.100.7"), 429,
                 "fraud_suspected")
    entries = n.ctl_json("fraud", "list")["entries"]
    assert [(e["key"], e["rule"]) for e in entries] == \
        [("ip:198.51.100.7", "ip_spread")], entries
    assert len(n.wait_sms(2)) == 2
    # an address whose code was typed may reach another country
    b = n.srv.browser()
    h = {"X-Forwarded-For": "198.51.100.8"}
    assert n.srv.send(b, "+14155550103", headers=h).status_code == 200
    code = n.srv.wait_code("+14155550103")
    assert n.srv.verify(b, code, headers=h).status_code == 200
    assert send("+447400123457", "198.51.100.8").status_code == 200


def test_a_verified_user_is_never_counted_as_pumping(node):
    n = node("--fraud", "enforce")
    # ten people of one new prefix who each verify their code
    for i, phone in enumerate(burst_phones(10, base=7770000)):
        b = n.srv.browser()
        assert n.srv.send(b, phone).status_code == 200
        code = n.srv.wait_code(phone)
        assert n.srv.verify(b, code).status_code == 200
    assert n.ctl_json("fraud", "list")["entries"] == []


def test_the_allow_list_bypasses_the_rules(node):
    n = node("--fraud", "enforce", "--fraud-allow", "+1415")
    codes = [r.status_code for r in n.send_all(burst_phones(8))]
    assert codes == [200] * 8, codes
    assert decisions(n.metrics(), rule="allow", action="passed",
                     mode="enforce") == 8


def test_otpctl_allow_beats_a_standing_block(node):
    n = node("--fraud", "enforce")
    phones = burst_phones(6)
    assert [r.status_code for r in n.send_all(phones[:4])] == \
        [200, 200, 200, 429]
    assert n.ctl_json("fraud", "allow", "+1415") == {"allowed": "p:+1415"}
    assert n.srv.send(n.srv.browser(), phones[4]).status_code == 200
    kinds = {e["key"]: e["kind"] for e in
             n.ctl_json("fraud", "list")["entries"]}
    assert kinds == {"p:+1415": "allow"}, kinds  # the allow replaced it
    p = n.ctl("fraud", "allow", "+14")
    assert p.returncode == 2, p.stderr
    # a whole number: the store names it by its keyed tag, never in clear
    assert n.ctl_json("fraud", "allow", "+16505550111") == \
        {"allowed": "e:+1650*****11"}
    for i in range(5):  # a new prefix, but that one number is allowed
        assert n.srv.send(n.srv.browser(), "+16505550111").status_code \
            == 200
    keys = [e["key"] for e in n.ctl_json("fraud", "list")["entries"]]
    assert "e:+1650*****11" in keys, keys
    assert "16505550111" not in n.ctl("fraud", "list").stdout


def test_monitor_mode_only_counts(node):
    n = node("--fraud", "monitor")
    codes = [r.status_code for r in n.send_all(burst_phones(8))]
    assert codes == [200] * 8, codes
    assert len(n.wait_sms(8)) == 8
    text = n.metrics()
    # sends 4 to 8 each saw three or more unverified before them
    assert decisions(text, rule="prefix_conversion", action="block",
                     mode="monitor") == 5, text
    assert decisions(text, rule="prefix_conversion", action="block",
                     mode="enforce") == 0
    assert n.ctl_json("fraud", "list")["entries"] == []
    assert '"msg":"fraud: would refuse (monitor)"' in n.srv.log_text()


def test_the_spend_cap_answers_503_and_otpctl_shows_the_spend(node, tmp_path):
    prices = tmp_path / "prices.csv"
    prices.write_text("region,price\nUS,0.25\nGB,0.04\n")
    n = node("--fraud", "off", "--spend-prices", str(prices),
             "--spend-cap-hour", "10,US=0.5")
    b = n.srv.browser()
    assert n.srv.send(b, "+14155550100").status_code == 200
    assert n.srv.send(n.srv.browser(), "+14155550101").status_code == 200
    r = n.srv.send(n.srv.browser(), "+14155550102")
    assert_error(r, 503, "spend_limit")
    assert 0 < int(r.headers["Retry-After"]) <= 3600
    assert r.json()["retry_after"] == int(r.headers["Retry-After"])
    assert len(n.wait_sms(2)) == 2  # nothing sent, nothing charged
    # another region has its own room under the cap in all
    assert n.srv.send(n.srv.browser(), "+447400123456").status_code == 200
    # the provider API too
    r = requests.post(n.srv.url("/otp/send"), headers={"X-API-Key": KEY},
                      json={"phoneNumber": "+14155550103"}, timeout=5)
    assert r.status_code == 503 and \
        r.json()["error"]["code"] == "spend_limit", r.text
    s = n.ctl_json("spend")
    assert s["hour"] == pytest.approx(0.54) and s["cap_hour"] == 10, s
    us = [x for x in s["regions"] if x["region"] == "US"][0]
    assert us["hour"] == pytest.approx(0.5) and us["cap_hour"] == 0.5, s
    assert decisions(n.metrics(), rule="spend_cap", action="refuse",
                     mode="enforce") == 2
    log = n.srv.log_text()
    assert log.count("spend cap reached") == 1, log  # once per window
