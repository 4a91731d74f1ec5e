"""A store that fails, seen from outside: otpd started with OTPD_TEST_FAULTS
(src/store/store_faults.h, docs/TESTING.md) answers 503 JSON and changes
nothing (with a Retry-After, as every 503); restarted without it, no trace
of the failed send is left."""

import re
import subprocess

from conftest import OTPD_BIN, clean_env
from helpers import OTHER_PHONE, PHONE, assert_error
from test_otpctl import otpctl

FAIL_ISSUE = {"OTPD_TEST_FAULTS": "code_issue:before:unavail"}


def test_failed_issue_is_503_and_leaves_nothing(otpd):
    srv = otpd(env=FAIL_ISSUE)
    b = srv.browser()
    r = srv.send(b, PHONE)
    assert_error(r, 503, "backend_unavailable")
    assert r.headers.get("Retry-After") == "1", r.headers
    # the second one, with the session cookie the first set, is answered
    # from the shared plain error: it carries Retry-After too
    r = srv.send(b, PHONE)
    assert_error(r, 503, "backend_unavailable")
    assert r.headers.get("Retry-After") == "1", r.headers
    assert "OTPD_TEST_FAULTS is set" in srv.log_text()
    # what does not issue a code still works
    assert srv.verify(b, "123456").status_code == 400
    assert srv.stop() == 0

    srv.start(env={})
    assert srv.log_text().count("OTPD_TEST_FAULTS is set") == 1
    p = otpctl(srv.db_path, "outbox", "list")
    assert p.returncode == 0 and p.stdout == "", p.stdout + p.stderr
    assert srv.db_count("codes") == 0
    assert_error(srv.verify(b, "123456"), 400, "session_expired")
    # the outbox runs oldest first: the one message delivered is the new one
    assert srv.send(srv.browser(), OTHER_PHONE).status_code == 200
    srv.wait_code(OTHER_PHONE)
    assert [m["to"] for m in srv.sms_messages()] == [OTHER_PHONE]


def test_bad_fault_spec_stops_otpd(tmp_path):
    p = subprocess.run(
        [OTPD_BIN, "--store", f"sqlite:{tmp_path}/otpd.db"],
        env=clean_env({"OTPD_TEST_FAULTS": "code_issue:sometimes:unavail"}),
        cwd=tmp_path, capture_output=True, text=True, timeout=10)
    assert p.returncode == 2
    assert "OTPD_TEST_FAULTS" in p.stderr and "WHEN" in p.stderr


def test_help_does_not_mention_faults():
    p = subprocess.run([OTPD_BIN, "--help"], env=clean_env(),
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0
    assert not re.search(r"TEST_FAULTS|\bfaults?\b", p.stdout, re.I)
