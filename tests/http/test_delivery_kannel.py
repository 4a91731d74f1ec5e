"""Delivery through a real Kannel: Debian's bearerbox and smsbox with a fake
SMSC, and fakesmsc as the phones, all on loopback (see gateways.Kannel).

A code sent through otpd reaches the phone with the right number and code,
Kannel's delivery report comes back to /hooks/kannel/dlr and the message
becomes delivered; with the gateway down, nothing accepted is lost and
nothing is sent twice."""

import collections
import re
import time

import pytest
import requests

from gateways import (API_KEY, CODE_RE, Api, Kannel, kannel_available,
                      outbox_rows)
from conftest import free_port
from helpers import PHONE, iso_to_epoch

pytestmark = pytest.mark.skipif(not kannel_available(),
                                reason="kannel and kannel-extras not installed")


@pytest.fixture
def kannel(tmp_path):
    gw = Kannel(tmp_path / "kannel")
    yield gw
    gw.stop()


def start(otpd, gw, *extra):
    srv = otpd("--sms-from", "otpd", *extra, sms=gw.spec,
               env={"OTPD_API_KEYS": API_KEY})
    return srv, Api(srv)


def test_code_reaches_the_phone_and_the_report_comes_back(otpd, kannel):
    kannel.start()
    admin = f"127.0.0.1:{free_port()}"
    srv, api = start(otpd, kannel, "--admin-listen", admin)
    rid = api.send("+1 (415) 555-0100")["requestId"]
    (sms,) = kannel.wait_received(1)
    assert sms.to == PHONE and sms.sender == "otpd"
    code = CODE_RE.search(sms.text).group(1)
    assert sms.text == f"{code} is your otpd code. It expires in 5 minutes."
    # Kannel's report (type 1, delivered) reaches /hooks/kannel/dlr
    api.wait_delivery(rid, "delivered")
    (row,) = outbox_rows(srv)
    assert row["state"] == "delivered" and row["attempts"] == 1
    assert api.verify(rid, code) is True
    assert code not in srv.log_text()
    assert '"route":"/hooks/kannel/dlr","status":200' in srv.log_text()
    # both stages of the delivery histogram: accepted, and delivered (the
    # report brings back when the message was queued)
    text = requests.get(f"http://{admin}/metrics", timeout=5).text
    for stage in ("accepted", "delivered"):
        assert re.search(r'^otpd_sms_delivery_seconds_count\{stage="%s"\} 1$'
                         % stage, text, re.M), text


def test_gateway_down_nothing_lost_nothing_doubled(otpd, kannel):
    # Kannel is not running: every try is refused, and retried
    srv, api = start(otpd, kannel, "--sms-backoff-ms", "200",
                     "--sms-attempts", "30", "--limit-phone", "0",
                     "--limit-key", "0")
    phones = [f"+1415555{2000 + i:04d}" for i in range(50)]
    sent = {p: api.send(p) for p in phones}
    time.sleep(1.0)
    assert kannel.received() == []
    rows = outbox_rows(srv)
    assert len(rows) == 50 and {r["state"] for r in rows} == {"queued"}
    assert all(r["attempts"] >= 1 for r in rows)

    kannel.start()
    got = kannel.wait_received(50, timeout=30)
    time.sleep(1.5)  # room for a double to show up
    got = kannel.received()
    per_phone = collections.Counter(m.to for m in got)
    assert sorted(per_phone) == sorted(phones)
    assert set(per_phone.values()) == {1}, per_phone.most_common(3)
    for m in got:
        expires = iso_to_epoch(sent[m.to]["expiresAt"])
        assert m.at < expires, (m, sent[m.to])
        # each phone got its own code
        code = CODE_RE.search(m.text).group(1)
        assert api.verify(sent[m.to]["requestId"], code) is True
    deadline = time.monotonic() + 10
    while {r["state"] for r in outbox_rows(srv)} != {"delivered"}:
        assert time.monotonic() < deadline, outbox_rows(srv)
        time.sleep(0.1)
