"""Test numbers (--test-numbers): a fixed code, no SMS to any gateway, no
per-phone limit or cooldown (the per-IP limit stays), counted and logged as
test traffic, the session marked as a test one; whoever knows one logs in
as it, so start-up names them (masked)."""

import subprocess

import requests

from conftest import OTPD_BIN, clean_env, free_port
from helpers import PHONE, assert_error

TEST = "+12015550123"  # a 555-01xx line: fictional, no subscriber owns it
CODE = "246810"
KEY = "testnum-key-0123456789abcdef"


def start(otpd, *extra, env=None):
    e = {"OTPD_API_KEYS": KEY}
    e.update(env or {})
    return otpd("--test-numbers", f"{TEST}={CODE},+447700900123=13579",
                *extra, env=e)


def test_a_test_number_logs_in_with_its_code_and_gets_no_sms(otpd):
    srv = start(otpd)
    b = srv.browser()
    for typed in ("+1 (201) 555-0123", TEST):  # as a person types it, too
        r = srv.send(b, typed)
        assert r.status_code == 200, r.text
    r = srv.verify(b, "000000")  # a wrong code: counted like any other
    assert r.status_code == 401 and r.json()["attempts_remaining"] == 4, r.text
    r = srv.verify(b, CODE)
    assert r.status_code == 200 and r.json()["verified"], r.text
    s = b.get(srv.url("/auth/session"), timeout=5).json()
    assert s["phone"] == TEST and s["test"] is True, s
    # a real number's session is not a test one, and gets its SMS
    real = srv.browser()
    srv.login(real, PHONE)
    s = real.get(srv.url("/auth/session"), timeout=5).json()
    assert "test" not in s, s
    assert [m["to"] for m in srv.sms_messages()] == [PHONE]
    log = srv.log_text()
    assert "test numbers log in with a fixed code" in log
    assert "+1201*****23" in log and TEST not in log and CODE not in log
    assert "test number: code issued, no SMS" in log


def test_matched_before_number_validation(otpd):
    """A test number is matched before libphonenumber's check: the UK's
    drama range (+44 7700 900xxx), which it calls invalid, logs in as a
    test number and only as one."""
    srv = start(otpd)
    drama = "+447700900124"  # not on the list: refused as invalid
    assert_error(srv.send(srv.browser(), drama), 400, "invalid_phone")
    b = srv.browser()
    r = srv.send(b, "+447700900123")
    assert r.status_code == 200, r.text
    r = srv.verify(b, "13579")
    assert r.status_code == 200 and r.json()["phone"] == "+447700900123"
    assert srv.sms_messages() == []


def test_no_per_phone_limit_or_cooldown_but_the_ip_limit(otpd):
    srv = start(otpd, "--limit-ip", "12", "--limit-phone", "2")
    b = srv.browser()
    got = [srv.send(b, TEST).status_code for _ in range(12)]
    assert got == [200] * 12, got  # no cooldown, no per-phone hour
    assert_error(srv.send(b, TEST), 429, "ip_rate_limited")


def test_the_provider_api_too_and_counted_as_test(otpd):
    srv = start(otpd, "--admin-listen", f"127.0.0.1:{free_port()}")
    h = {"X-API-Key": KEY}
    r = requests.post(srv.url("/otp/send"), json={"phoneNumber": TEST},
                      headers=h, timeout=5)
    assert r.status_code == 200, r.text
    rid = r.json()["data"]["requestId"]
    st = requests.get(srv.url(f"/otp/{rid}"), headers=h, timeout=5).json()
    assert st["data"]["delivery"] == "sent", st
    r = requests.post(srv.url("/otp/verify"), headers=h, timeout=5,
                      json={"requestId": rid, "otpCode": CODE})
    assert r.json()["data"]["verified"] is True, r.text
    assert srv.sms_messages() == []
    admin = srv.extra[srv.extra.index("--admin-listen") + 1]
    text = requests.get(f"http://{admin}/metrics", timeout=5).text
    assert 'otpd_otp_sends_total{api="provider",outcome="test"} 1' in text


def test_bad_lists_stop_otpd(tmp_path):
    for bad in ("+12015550123", "+1201=123456", "12015550123=123456",
                "+12015550123=12", "@/nonexistent/file"):
        p = subprocess.run(
            [OTPD_BIN, "--test-numbers", bad, "--store",
             f"sqlite:{tmp_path}/otpd.db"],
            env=clean_env(), capture_output=True, text=True, timeout=10)
        assert p.returncode == 2, (bad, p.stderr)
        assert "--test-numbers" in p.stderr, p.stderr


def test_a_file_of_numbers(otpd, tmp_path):
    f = tmp_path / "numbers"
    f.write_text(f"# app-store review\n{TEST}={CODE}\n")
    srv = otpd("--test-numbers", f"@{f}")
    b = srv.browser()
    assert srv.send(b, TEST).status_code == 200
    assert srv.verify(b, CODE).status_code == 200


def test_refused_in_upstream_mode(tmp_path):
    p = subprocess.run(
        [OTPD_BIN, "--test-numbers", f"{TEST}={CODE}", "--provider",
         "startmessaging", "--upstream-url", "http://127.0.0.1:9/",
         "--listen", f"127.0.0.1:{free_port()}",
         "--store", f"sqlite:{tmp_path}/otpd.db"],
        env=clean_env({"OTPD_UPSTREAM_API_KEY": "k" * 20}),
        capture_output=True, text=True, timeout=10)
    assert p.returncode == 2, p.stderr
    assert "--test-numbers needs the local provider" in p.stderr
