"""Every store operation failing through the fault decorator
(OTPD_TEST_FAULTS, src/store/store_faults.c), one otpd per operation, under
a login (send, wrong code, right code, session, logout): every answer is
JSON, a failure is 503 (never 500), and no partial state is left: as many
codes as outbox messages. Then the ambiguous case: code_issue run but its
answer lost ("after") answers 503 outcome_unknown, counted, and its SMS
goes out; lost before it ran ("before"), backend_unavailable and none."""

import time

import pytest

from helpers import wrong_code

OPS = ["code_issue", "code_get", "code_verify", "limit_take", "limit_give",
       "session_get", "session_bind", "session_rotate", "session_delete",
       "outbox_claim", "outbox_ack", "outbox_ack_claim", "outbox_retry",
       "outbox_fail",
       "outbox_reclaim", "purge"]


def login_answers(srv, phone):
    br = srv.browser()
    out = [srv.send(br, phone)]
    code = None
    if out[0].status_code == 200:
        deadline = time.monotonic() + 3
        while not srv.messages_to(phone) and time.monotonic() < deadline:
            time.sleep(0.02)
        if srv.messages_to(phone):
            code = srv.wait_code(phone)
    out.append(srv.verify(br, wrong_code(code or "000000")))
    if code:
        out.append(srv.verify(br, code))
    out.append(br.get(srv.url("/auth/session"), timeout=5))
    out.append(br.post(srv.url("/auth/logout"), timeout=5))
    return out


@pytest.mark.parametrize("op", OPS)
def test_each_operation_failing_answers_503_json_and_leaves_no_half(otpd,
                                                                     op):
    srv = otpd("--limit-phone", "0", "--resend-cooldown", "0",
               env={"OTPD_TEST_FAULTS": f"{op}:before:unavail"})
    for r in login_answers(srv, "+14155550100"):
        assert r.status_code != 500, (op, r.text)
        if r.status_code >= 500:
            assert r.status_code == 503, (op, r.text)
            assert r.json()["code"] == "backend_unavailable", (op, r.text)
            assert int(r.headers["Retry-After"]) > 0
        elif r.status_code not in (204,):
            r.json()
    assert srv.db_count("codes") == srv.db_count("outbox"), op



def test_answer_lost_after_the_issue_ran_is_outcome_unknown(otpd):
    # the shortest lease the timeouts allow: 4 s
    srv = otpd("--sms-timeout", "1", "--sms-connect-timeout", "1",
               "--outbox-lease", "4",
               env={"OTPD_TEST_FAULTS": "code_issue:after:outcome"})
    r = srv.send(srv.browser(), "+14155550100")
    assert r.status_code == 503
    assert r.json()["code"] == "outcome_unknown"
    assert int(r.headers["Retry-After"]) > 0
    # it ran: the code and its message are stored, the SMS goes out; the
    # issue wrote it claimed for this process's workers, and with the
    # answer lost none was handed it: it goes when that lease runs out
    assert srv.db_count("codes") == 1 == srv.db_count("outbox")
    srv.wait_code("+14155550100")


def test_unavailable_means_nothing_was_done(otpd):
    srv = otpd(env={"OTPD_TEST_FAULTS": "code_issue:before:unavail"})
    r = srv.send(srv.browser(), "+14155550100")
    assert r.status_code == 503
    assert r.json()["code"] == "backend_unavailable"
    time.sleep(1.5)  # two worker polls: nothing may be sent
    assert srv.db_count("codes") == 0 == srv.db_count("outbox")
    assert srv.messages_to("+14155550100") == []


def test_a_failed_ack_is_tried_again_not_left_to_the_lease(otpd):
    # the first ack fails: the SMS is out, the store did not take the ack
    srv = otpd(env={"OTPD_TEST_FAULTS": "outbox_ack:before:unavail:1"})
    assert srv.send(srv.browser(), "+14155550100").status_code == 200
    srv.wait_code("+14155550100")
    # marked sent within the round (before: 'sending' until the 30 s
    # lease ran out, then sent again)
    deadline = time.monotonic() + 3
    while srv.db_states() != ["sent"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.db_states() == ["sent"]
    assert "sms ack failed, then landed" in srv.log_text()
    assert len(srv.messages_to("+14155550100")) == 1
