"""Redis frozen and killed under a send load (otpd on a private Redis,
through tcpproxy.py for the freeze):

- frozen: every send answers 503 within ~500 ms (one command timeout; then
  the stall answers at once while one probe at a time tries Redis); a send
  answered backend_unavailable is never delivered; a send whose command had
  left when Redis froze answers outcome_unknown (it runs at the thaw); after
  the thaw, 200s again within a second, no restart.
- killed and restarted: 503 only while it is down, never a 200 for a code
  that was not stored (each one verifies), recovery without a restart."""

import collections
import re
import time

import requests

from helpers import PHONE
from load import Load
from tcpproxy import TcpProxy

ENV = {"OTPD_SECRET": "5e" * 32}
CODE_RE = re.compile(r"(?<!\d)(\d{4,10})(?!\d)")


def delivered(srv):
    return collections.Counter(m["to"] for m in srv.sms_messages())


def first_200_after(load, t, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ok = [a for a in load.between(t, time.monotonic()) if a.status == 200]
        if ok:
            return min(a.t1 for a in ok) - t
        time.sleep(0.02)
    raise AssertionError("no 200 within %s s" % timeout)


def test_frozen_redis_answers_503_within_500_ms(otpd, redis_server):
    rs = redis_server()
    proxy = TcpProxy().start(0, rs.port)
    try:
        # a claim whose answer the freeze lost comes back after the lease
        # (at least the longest try: 1 + 1 + 2 s here)
        srv = otpd("--store", proxy.url, "--limit-phone", "0",
                   "--outbox-lease", "4", "--sms-timeout", "1",
                   "--sms-connect-timeout", "1", env=ENV)
        load = Load(srv, threads=6).start()
        time.sleep(0.5)
        proxy.freeze()
        frozen = time.monotonic()
        time.sleep(2.5)
        proxy.thaw()
        thawed = time.monotonic()
        back = first_200_after(load, thawed)
        time.sleep(0.3)
        load.stop()

        during = [a for a in load.between(frozen, thawed - 0.5)]
        assert during, "no request during the freeze"
        slow = max(a.t1 - a.t0 for a in during)
        codes = collections.Counter(a.code for a in during)
        assert set(codes) <= {"backend_unavailable", "outcome_unknown"}, codes
        assert all(a.status == 503 for a in during)
        assert all(int(a.retry_after) > 0 for a in during)
        assert slow < 0.7, slow  # measured 0.41-0.45 s
        # in flight when it froze: the longest wait, one command timeout
        inflight = [a for a in load.results if a.t0 < frozen < a.t1]
        first = max(a.t1 for a in inflight) - frozen if inflight else 0
        held = collections.Counter(a.code for a in inflight)
        print(f"\nfrozen Redis: {len(during)} sends in the freeze, slowest "
              f"{slow * 1000:.0f} ms; in flight at the freeze answered "
              f"after {first * 1000:.0f} ms ({held}); {codes}; 200 again "
              f"{back * 1000:.0f} ms after the thaw")
        assert back < 1.0

        # what was answered 200 is sent (a claim lost in the freeze after
        # its lease); what was answered backend_unavailable never is
        ok = {a.phone for a in load.results if a.status == 200}
        deadline = time.monotonic() + 8
        while not ok <= set(delivered(srv)) and time.monotonic() < deadline:
            time.sleep(0.1)
        got = delivered(srv)
        for a in load.results:
            if a.code == "backend_unavailable":
                assert got[a.phone] == 0, a
            elif a.status == 200:
                assert got[a.phone] >= 1, a
        # a second copy only for a message whose ack the freeze lost (the
        # workers' batches in hand: a few), sent again after the lease
        twice = [p for p in ok if got[p] > 1]
        print(f"sent twice (ack lost in the freeze): {len(twice)}")
        assert len(twice) <= 4, twice
        assert requests.get(srv.url("/readyz"), timeout=5).status_code == 200
    finally:
        proxy.stop()


def test_redis_killed_under_load_503_only_while_down(otpd, redis_server):
    rs = redis_server()
    srv = otpd("--store", rs.url, "--limit-phone", "0", env=ENV)
    load = Load(srv, threads=4).start()
    time.sleep(0.5)
    rs.kill()
    down = time.monotonic()
    time.sleep(1.5)
    up_start = time.monotonic()
    rs.start()
    up = time.monotonic()
    back = first_200_after(load, up)
    time.sleep(0.3)
    load.stop()

    before = load.between(0, down - 0.45)
    assert before and all(a.status == 200 for a in before)
    during = load.between(down + 0.45, up_start)
    assert during and all(a.status == 503 for a in during), \
        collections.Counter((a.status, a.code) for a in during)
    assert all(a.status in (200, 503) for a in load.results)
    assert all(int(a.retry_after) > 0
               for a in load.results if a.status == 503)
    assert back < 2.0, back
    print(f"\nRedis killed: {len(during)} sends answered 503 while down, "
          f"200 again {back * 1000:.0f} ms after it came back")
    # A 200 is a stored code: every send answered 200 after the restart
    # has its SMS delivered (its message was committed with it); a send
    # answered backend_unavailable while Redis was down has none. (Redis
    # runs without persistence here: what was acknowledged before the kill
    # died with it; docs/RELIABILITY.md says what appendfsync can lose.)
    after = {a.phone for a in load.results if a.status == 200 and a.t0 > up}
    assert after
    deadline = time.monotonic() + 10
    while not after <= {m["to"] for m in srv.sms_messages()}:
        assert time.monotonic() < deadline, \
            sorted(after - {m["to"] for m in srv.sms_messages()})[:5]
        time.sleep(0.05)
    refused = {a.phone for a in during if a.code == "backend_unavailable"}
    assert refused
    assert not refused & {m["to"] for m in srv.sms_messages()}
    assert srv.proc.poll() is None
