"""One process per SQLite file: a message left claimed by an otpd killed
with -9 is an orphan, and the next otpd on the file sends it at once, not
after the 30 s lease."""

import http.client
import json
import time

from gateways import FakeGateway
from helpers import PHONE

SECRET = "whsec-0123456789abcdef-test"


def test_restart_after_kill_sends_the_leased_message_at_once(otpd):
    hung = FakeGateway(delay=60).start()
    good = FakeGateway().start()
    try:
        srv = otpd("--sms-timeout", "30", sms=f"webhook:{hung.url}/",
                   env={"OTPD_WEBHOOK_SECRET": SECRET})
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        c.request("POST", "/auth/send-otp", json.dumps({"phone": PHONE}),
                  {"Content-Type": "application/json"})
        assert c.getresponse().status == 200
        hung.wait_requests(1, timeout=5)  # leased, in the hung send
        srv.kill()
        started = time.monotonic()
        srv.start(sms=f"webhook:{good.url}/")
        good.wait_requests(1, timeout=2)
        assert time.monotonic() - started < 2 + 0.5
        first, again = hung.requests[0], good.requests[0]
        key = "Idempotency-Key"
        assert first.headers.get(key) and \
            first.headers.get(key) == again.headers.get(key)
        assert "previous run taken back" in srv.log_text()
    finally:
        hung.stop()
        good.stop()
