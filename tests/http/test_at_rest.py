"""What a copy of the data directory gives away: the files are otpd's
user's only (0600), and a directory every user may write to is refused."""

import os
import stat
import subprocess

from conftest import OTPD_BIN, clean_env, free_port
from helpers import PHONE


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def store_files(srv):
    return [p for p in srv.dir.iterdir()
            if p.name.startswith("otpd.db") or "secret" in p.name]


def test_database_files_are_private(server):
    b = server.browser()
    assert server.send(b, PHONE).status_code == 200
    server.wait_code(PHONE)
    names = {p.name for p in store_files(server)}
    assert {"otpd.db", "otpd.db-wal", "otpd.db-shm",
            "otpd.db.lock"} <= names, names
    for p in store_files(server):
        assert mode(p) == 0o600, f"{p.name} is {oct(mode(p))}"


def test_an_old_store_is_made_private_at_start(otpd):
    srv = otpd()
    assert srv.send(srv.browser(), PHONE).status_code == 200
    assert srv.stop() == 0
    for p in store_files(srv):
        os.chmod(p, 0o644)
    srv.start()
    for p in store_files(srv):
        assert mode(p) == 0o600, f"{p.name} is {oct(mode(p))}"


def test_a_directory_everyone_may_write_is_refused(tmp_path):
    d = tmp_path / "open"
    d.mkdir()
    os.chmod(d, 0o777)
    p = subprocess.run(
        [OTPD_BIN, "--listen", f"127.0.0.1:{free_port()}", "--store",
         f"sqlite:{d}/otpd.db", "--sms", "console"],
        env=clean_env(), capture_output=True, text=True, timeout=10)
    assert p.returncode != 0
    assert "writable by every user" in p.stderr, p.stderr
    assert not (d / "otpd.db").exists()
