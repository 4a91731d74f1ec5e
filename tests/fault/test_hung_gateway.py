"""A hung gateway does not idle the delivery pool: with a list of two
webhook gateways, the first hung (it never answers in time), every message
goes out through the second within a few seconds instead of each worker
waiting out --sms-timeout per message (only the first calls do); and with one gateway that hangs and
then recovers, the messages wait for it and all arrive, each once.

Budget: about 12 s of the fault suite's 60."""

import time

from gateways import FakeGateway

SECRET = "whsec-hung-0123456789abcdef"
N = 24


def send_all(srv, n, base):
    phones = [f"+44740090{base + i:04d}" for i in range(n)]
    for p in phones:
        r = srv.send(srv.browser(), p)
        assert r.status_code == 200, r.text
    return phones


def delivered_to(gw):
    import json
    with gw.lock:
        return [json.loads(r.body)["to"] for r in gw.requests]


def test_a_hung_first_gateway_does_not_hold_the_pool(otpd):
    hung = FakeGateway(delay=30).start()
    good = FakeGateway().start()
    try:
        srv = otpd("--sms-timeout", "5", "--sms-workers", "4",
                   "--limit-phone", "0", "--resend-cooldown", "0",
                   sms=f"webhook:{hung.url}/,webhook:{good.url}/",
                   env={"OTPD_WEBHOOK_SECRET": SECRET})
        started = time.monotonic()
        phones = send_all(srv, N, 0)
        good.wait_requests(N, timeout=9)
        took = time.monotonic() - started
        assert sorted(delivered_to(good)) == sorted(phones)
        # The first calls (one a worker) wait out the 5 s before anything is
        # known; then one probe at a time, the rest go on at once. Before:
        # every worker 5 s a message on the hung one, N / 4 * 5 s = 30 s.
        assert took < 8, took
        assert len(hung.requests) <= 4, len(hung.requests)
        assert "sms driver hung" in srv.log_text()
    finally:
        hung.stop()
        good.stop()


def test_one_gateway_that_recovers_gets_every_message_once(otpd):
    gw = FakeGateway(delay=3).start()  # hangs past the 2 s mark, then
    try:                               # answers 200
        srv = otpd("--sms-timeout", "10", "--sms-workers", "4",
                   "--limit-phone", "0", "--resend-cooldown", "0",
                   sms=f"webhook:{gw.url}/",
                   env={"OTPD_WEBHOOK_SECRET": SECRET})
        phones = send_all(srv, 8, 100)
        time.sleep(0.5)
        gw.delay = 0  # it recovers
        gw.wait_requests(8, timeout=15)
        time.sleep(0.3)
        got = delivered_to(gw)
        assert sorted(set(got)) == sorted(phones), got
        assert len(got) == len(phones), got  # none twice
    finally:
        gw.stop()
