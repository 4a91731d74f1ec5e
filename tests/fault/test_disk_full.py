"""A full disk under a running otpd (SQLite on a 2 MiB tmpfs, filled by
another file) under continuing traffic: sends answer 503 storage_full with
Retry-After, never 500; a code sent before still verifies; /readyz says
storage_full; the log says "disk full" once; no SMS goes out twice; and when
the other file is removed, sends answer 200 again without a restart.

Needs root (mount -t tmpfs); skipped with the reason otherwise."""

import collections
import json
import os
import subprocess
import time

import pytest
import requests

PHONE_A = "+14155550100"


def mount_tmpfs(path, size="2m"):
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}",
                        "tmpfs", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): "
                    + (r.stderr.strip() or f"exit {r.returncode}"))


def fill(path):
    """Writes path until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096) > 0:
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def send(srv, browser, i):
    return srv.send(browser, "+1415556%04d" % i)


def test_disk_full_answers_503_and_recovers_without_restart(otpd, tmp_path):
    disk = tmp_path / "disk"
    mount_tmpfs(disk)
    try:
        srv = otpd("--store", f"sqlite:{disk}/otpd.db", "--limit-phone", "0",
                   "--resend-cooldown", "0")
        a = srv.browser()
        assert srv.send(a, PHONE_A).status_code == 200
        code_a = srv.wait_code(PHONE_A)
        b = srv.browser()
        for i in range(20):
            assert send(srv, b, i).status_code == 200

        fill(disk / "filler")
        answers = collections.Counter()
        first_full = None
        for i in range(20, 400):
            r = send(srv, b, i)
            assert r.status_code in (200, 503), r.text
            if r.status_code == 503:
                assert r.json()["code"] == "storage_full", r.text
                assert int(r.headers["Retry-After"]) > 0
                first_full = first_full or i
            answers[r.status_code] += 1
            if answers[503] >= 30:
                break
        assert answers[503] >= 30, answers
        r = requests.get(srv.url("/readyz"), timeout=5)
        assert r.status_code == 503
        assert r.json()["code"] == "storage_full"
        # the reserve's room: a code sent before still logs in
        r = srv.verify(a, code_a)
        assert r.status_code == 200, r.text

        os.remove(disk / "filler")
        freed = time.monotonic()
        for i in range(400, 1000):
            r = send(srv, b, i)
            if r.status_code == 200:
                break
            assert r.json()["code"] == "storage_full", r.text
        assert r.status_code == 200
        recovery = time.monotonic() - freed
        assert recovery < 2, recovery
        assert requests.get(srv.url("/readyz"), timeout=5).status_code == 200
        print(f"\ndisk full after {first_full} sends; "
              f"recovered {recovery * 1000:.0f} ms after space returned")

        log = srv.log_text()
        assert log.count('"msg":"disk full"') == 1, log[-2000:]
        assert '"status":500' not in log
        srv.stop()
        ids = collections.Counter(m["request_id"] for m in srv.sms_messages())
        assert ids and max(ids.values()) == 1, \
            [k for k, v in ids.items() if v > 1]
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
