"""kill -9 under a send load, three times over one SQLite file: every send
answered 200 is delivered and its code verifies after the restart; a
message is delivered twice only when the gateway had already received it
before the kill (its acknowledgement died with the process), always with
the same Idempotency-Key, and never when it was merely leased.

Budget: about 15 s of the fault suite's 60 (3 rounds of 0.8 s of load,
a restart, the deliveries, then every code verified)."""

import json
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import requests

from gateways import FakeGateway
from load import Load

KEY = "crash-test-key-0123456789abcdef"
SECRET = "whsec-crash-0123456789abcdef"
ROUNDS = 3
LOAD_S = 0.6
THREADS = 4


class ProviderLoad(Load):
    """THREADS senders over the provider API (load.py's Load, another
    route), each to phones of its own; keeps (request id, phone) of every
    send answered 200. A sender stops when the server is gone."""

    def __init__(self, srv, base):
        super().__init__(srv, threads=THREADS)
        self.base = base
        self.acked = []

    def _run(self):
        s = requests.Session()
        s.headers["X-API-Key"] = KEY
        while not self._stop.is_set():
            with self._lock:
                self._next += 1
                phone = f"+447400{self.base + self._next:06d}"
            try:
                r = s.post(self.srv.url("/otp/send"), timeout=5,
                           json={"phoneNumber": phone})
            except requests.RequestException:
                return
            if r.status_code == 200:
                with self._lock:
                    self.acked.append((r.json()["data"]["requestId"], phone))


def deliveries(gw):
    """request id -> [(gateway's receive time, Idempotency-Key, code)]"""
    out = defaultdict(list)
    with gw.lock:
        reqs = list(gw.requests)
    for r in reqs:
        body = json.loads(r.body)
        code = "".join(ch for ch in body["body"].split()[0] if ch.isdigit())
        out[body["request_id"]].append(
            (r.at, r.headers.get("Idempotency-Key"), code))
    return out


def wait_delivered(gw, rids, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        got = deliveries(gw)
        missing = [rid for rid in rids if rid not in got]
        if not missing:
            return got
        assert time.monotonic() < deadline, \
            f"{len(missing)} of {len(rids)} acknowledged sends never " \
            f"delivered, e.g. {missing[:3]}"
        time.sleep(0.05)


def test_kill_9_under_load_loses_nothing_and_doubles_only_in_flight(otpd):
    gw = FakeGateway().start()
    srv = otpd("--limit-phone", "0", "--limit-key", "0",
               "--resend-cooldown", "0", sms=f"webhook:{gw.url}/",
               env={"OTPD_API_KEYS": KEY, "OTPD_WEBHOOK_SECRET": SECRET})
    acked = {}
    kills = []  # the time of each kill, on the gateway's clock
    try:
        for round_ in range(ROUNDS):
            load = ProviderLoad(srv, base=round_ * 200_000).start()
            time.sleep(LOAD_S)
            srv.kill()
            kills.append(time.time())  # dead now: what came before, came
            # from the live process
            load.stop()
            assert load.acked, "no send was answered before the kill"
            acked.update(load.acked)
            srv.start()  # the same file, gateway and secret
            wait_delivered(gw, list(acked))

        got = wait_delivered(gw, list(acked))
        t_verify = time.monotonic()
        local = threading.local()

        def verify(rid):
            if not hasattr(local, "s"):
                local.s = requests.Session()
                local.s.headers["X-API-Key"] = KEY
            r = local.s.post(srv.url("/otp/verify"), timeout=5,
                             json={"requestId": rid,
                                   "otpCode": got[rid][-1][2]})
            ok = r.status_code == 200 and r.json()["data"]["verified"]
            return None if ok else (rid, r.status_code, r.text)

        with ThreadPoolExecutor(THREADS) as pool:
            wrong = [w for w in pool.map(verify, acked) if w]
        assert not wrong, f"{len(wrong)} codes did not verify: {wrong[:3]}"
        t_verify = time.monotonic() - t_verify

        doubled = {rid: d for rid, d in got.items() if len(d) > 1}
        for rid, d in doubled.items():
            # the same message, the same key, the same code
            assert len({k for _, k, _ in d}) == 1, d
            assert len({c for _, _, c in d}) == 1, d
            # in flight at a kill: first received before it (or just
            # after: bytes written before the SIGKILL can reach the
            # gateway's thread a scheduling slice later), again after
            firsts = [t for t, _, _ in d[:-1]]
            assert any(any(t < k + 0.05 and k < d[-1][0] for k in kills)
                       for t in firsts), (rid, d, kills)
        assert len(doubled) <= ROUNDS * THREADS * 2, len(doubled)
        print(f"crash: {ROUNDS} kills, {len(acked)} sends acknowledged, "
              f"0 lost, {len(doubled)} delivered twice (in flight at the "
              f"kill); verified in {t_verify:.1f} s")
    finally:
        gw.stop()
