"""Tenancy (issue 12, finding 3): a provider request belongs to the API key
that made it, and login-flow codes are not reachable through the provider
API. Another key gets the 404 of an unknown id, and its tries count
nothing on the owner's request."""

import json
import re
import sqlite3

from helpers import PHONE
from test_provider import (KEY2, Api, assert_envelope_error, ok_data,
                           provider)


def first_code(srv):
    return srv.wait_code(PHONE)


def test_another_key_cannot_read_or_verify_a_request(otpd):
    srv = provider(otpd)
    a, b = Api(srv), Api(srv, KEY2)
    rid = ok_data(a.send(PHONE))["requestId"]
    code = first_code(srv)
    assert_envelope_error(b.status(rid), 404, "not_found")
    for _ in range(6):  # more than the code's tries: none counted
        assert_envelope_error(b.verify(rid, code), 404, "not_found")
    st = ok_data(a.status(rid))
    assert st["attemptsRemaining"] == 5, st
    assert ok_data(a.verify(rid, code))["verified"] is True


def test_an_unknown_id_and_another_keys_id_answer_alike(otpd):
    srv = provider(otpd)
    a, b = Api(srv), Api(srv, KEY2)
    rid = ok_data(a.send(PHONE))["requestId"]
    unknown = "0" * 32
    assert b.status(rid).json() == b.status(unknown).json()
    assert b.verify(rid, "123456").json() == \
        b.verify(unknown, "123456").json()


def test_a_login_code_is_not_reachable_through_the_provider_api(otpd):
    srv = provider(otpd)
    br = srv.browser()
    assert srv.send(br, PHONE).status_code == 200
    code = first_code(srv)
    # the id, as someone who saw it (a log, a payload) would have it
    con = sqlite3.connect(f"file:{srv.db_path}?mode=ro", uri=True)
    rid = con.execute("SELECT id FROM codes").fetchone()[0]
    con.close()
    api = Api(srv)
    assert_envelope_error(api.status(rid), 404, "not_found")
    assert_envelope_error(api.verify(rid, code), 404, "not_found")
    # the login still works with its code: nothing was spent
    r = srv.verify(br, code)
    assert r.status_code == 200, r.text


def test_a_new_send_retires_only_the_same_keys_code(otpd):
    srv = provider(otpd, "--resend-cooldown", "0")
    a, b = Api(srv), Api(srv, KEY2)
    ra = ok_data(a.send(PHONE))["requestId"]
    ok_data(b.send(PHONE))
    assert ok_data(a.status(ra))["status"] == "pending"
    ra2 = ok_data(a.send(PHONE))["requestId"]
    assert ok_data(a.status(ra))["status"] == "failed"
    assert ok_data(a.status(ra2))["status"] == "pending"


def test_request_ids_stay_out_of_the_log(otpd):
    # a log line carries the route's template and, for a message, the id's
    # keyed tag: whoever reads the log cannot open the request
    srv = provider(otpd)
    api = Api(srv)
    rid = ok_data(api.send(PHONE))["requestId"]
    code = first_code(srv)
    ok_data(api.status(rid))
    ok_data(api.verify(rid, code))
    srv.stop()
    log = srv.log_text()
    assert '"msg":"sms sent"' in log and '"request":"' in log, log
    assert rid not in log
    # the request lines name it by the same tag as the delivery's line,
    # so an operator can follow one request through the log
    lines = [json.loads(ln) for ln in log.splitlines()]
    sent = [ln["request"] for ln in lines if ln.get("msg") == "sms sent"]
    routes = {ln["route"]: ln.get("request") for ln in lines
              if ln.get("msg") == "request"}
    assert len(sent) == 1 and re.fullmatch("[0-9a-f]{16}", sent[0]), sent
    for route in ("/otp/send", "/otp/{id}", "/otp/verify"):
        assert routes.get(route) == sent[0], (route, routes)


def test_a_login_send_names_its_request_by_the_tag(otpd):
    srv = otpd()
    b = srv.browser()
    assert srv.send(b, PHONE).status_code == 200
    srv.wait_code(PHONE)
    srv.login(srv.browser(), "+14155550101")
    msgs = srv.sms_messages()
    srv.stop()
    lines = [json.loads(ln) for ln in srv.log_text().splitlines()]
    sends = [ln for ln in lines if ln.get("msg") == "request" and
             ln["route"] == "/auth/send-otp"]
    tags = {ln["request"] for ln in lines if ln.get("msg") == "sms sent"}
    assert len(sends) == 2 and {ln["request"] for ln in sends} == tags, lines
    assert all(m["request_id"] not in srv.log_text() for m in msgs)
