"""A store outage is logged once per interval with a count, not once per
thread and try (with Redis down otpd used to write ~5 warnings a second)."""

import json
import time

import requests

SECRET = "5e" * 32


def test_redis_down_logs_once_per_interval(otpd, redis_server):
    rs = redis_server()
    srv = otpd("--store", rs.url, env={"OTPD_SECRET": SECRET})
    rs.kill()
    t_end = time.monotonic() + 3
    answers = set()
    while time.monotonic() < t_end:
        r = requests.post(srv.url("/auth/send-otp"), timeout=5,
                          json={"phone": "+14155550100"})
        answers.add(r.status_code)
        requests.get(srv.url("/readyz"), timeout=5)
        time.sleep(0.01)
    assert answers == {503}, answers
    srv.stop()
    noisy = [json.loads(ln) for ln in srv.log_text().splitlines()
             if ln.startswith("{")]
    noisy = [ln for ln in noisy if ln["level"] in ("warn", "error")]
    by_msg = {}
    for ln in noisy:
        by_msg[ln["msg"]] = by_msg.get(ln["msg"], 0) + 1
    # 3 s of an outage, a 10 s interval: each kind of trouble once
    assert by_msg and all(n == 1 for n in by_msg.values()), by_msg
