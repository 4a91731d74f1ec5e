"""A send load for the fault suite: a few threads, each sending to phones
of its own (never the same one twice) over the login API, recording every
answer with its time, until stopped.

    load = Load(srv, threads=4).start()
    ...
    load.stop()
    load.results   # [Answer(phone, status, code, t0, t1, retry_after)],
                   # t monotonic, retry_after the header or None
"""

import threading
import time
from collections import namedtuple

import requests

Answer = namedtuple("Answer", "phone status code t0 t1 retry_after")


class Load:
    def __init__(self, srv, threads=4, prefix="+1415"):
        self.srv = srv
        self.threads = threads
        self.prefix = prefix
        self.results = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = []
        self._next = 0

    def _phone(self):
        with self._lock:
            self._next += 1
            n = self._next
        return f"{self.prefix}7{n:06d}"

    def _run(self):
        s = requests.Session()
        while not self._stop.is_set():
            phone = self._phone()
            t0 = time.monotonic()
            try:
                r = s.post(self.srv.url("/auth/send-otp"),
                           json={"phone": phone}, timeout=10)
                status = r.status_code
                code = r.json().get("code") if status != 200 else None
                retry_after = r.headers.get("Retry-After")
            except requests.RequestException:
                status, code, retry_after = None, "no answer", None
                s = requests.Session()
            t1 = time.monotonic()
            with self._lock:
                self.results.append(Answer(phone, status, code, t0, t1,
                                           retry_after))

    def start(self):
        for _ in range(self.threads):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._workers:
            t.join(15)
        return self.results

    def between(self, t0, t1):
        """Answers to requests started in [t0, t1)."""
        with self._lock:
            return [a for a in self.results if t0 <= a.t0 < t1]
