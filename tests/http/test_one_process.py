"""One otpd per port and per SQLite file: a second one started by mistake
(`make run` twice) refuses to start, names what is taken, and exits 2."""

import subprocess

from conftest import OTPD_BIN, clean_env, free_port


def run_second(argv, env=None, timeout=10):
    return subprocess.run(argv, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout,
                          env=clean_env(env or {}))


def test_second_otpd_on_a_taken_port_exits_2(otpd, tmp_path):
    srv = otpd()
    argv = [OTPD_BIN, "--listen", f"127.0.0.1:{srv.port}", "--store",
            f"sqlite:{tmp_path}/other.db", "--sms", "null"]
    r = run_second(argv)
    assert r.returncode == 2, r
    assert f"127.0.0.1:{srv.port}" in r.stderr
    assert "in use" in r.stderr
    # the first one still answers, and alone
    assert srv.browser().get(srv.url("/healthz")).status_code == 200


def test_second_otpd_on_the_same_sqlite_file_exits_2(otpd):
    srv = otpd()
    argv = [OTPD_BIN, "--listen", f"127.0.0.1:{free_port()}", "--store",
            f"sqlite:{srv.db_path}", "--sms", "null"]
    r = run_second(argv)
    assert r.returncode == 2, r
    assert str(srv.db_path) in r.stderr
    assert f"pid {srv.proc.pid}" in r.stderr


def test_lock_goes_with_a_killed_process(otpd):
    srv = otpd()
    srv.kill()  # kill -9: no clean-up ran
    srv.start()
    assert srv.browser().get(srv.url("/readyz")).status_code == 200


def test_lock_file_is_private(otpd):
    srv = otpd()
    lock = srv.db_path.parent / (srv.db_path.name + ".lock")
    assert lock.stat().st_mode & 0o777 == 0o600
    assert lock.read_text().strip() == str(srv.proc.pid)
