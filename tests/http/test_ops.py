"""Operations: health, logs, command line, restarts, the outbox's durability."""

import json
import os
import re
import stat
import subprocess
import time

import requests

from conftest import OTPD_BIN, clean_env, free_port, require_binary
from helpers import COOKIE, MASKED, PHONE, wrong_code


def test_healthz(server):
    r = requests.get(server.url("/healthz"))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"status": "ok"}


# -- logs ------------------------------------------------------------------
def full_flow(srv):
    b = srv.browser()
    r = srv.send(b, PHONE)
    assert r.status_code == 200, r.text
    first = b.cookies.get(COOKIE)
    code = srv.wait_code(PHONE)
    assert srv.verify(b, wrong_code(code)).status_code == 401
    r = srv.verify(b, code, phone=PHONE)
    assert r.status_code == 200, r.text
    second = b.cookies.get(COOKIE)
    assert b.get(srv.url("/auth/session")).status_code == 200
    assert b.get(srv.url("/auth/check")).status_code == 204
    assert b.post(srv.url("/auth/logout")).status_code == 204
    return code, [first, second]


def wait_log(srv, needle, timeout=5):
    deadline = time.monotonic() + timeout
    while needle not in srv.log_text():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_logs_are_json_lines(server):
    full_flow(server)
    assert server.stop() is not None
    lines = [ln for ln in server.log_text().splitlines() if ln.strip()]
    assert lines, "otpd logged nothing"
    for ln in lines:
        assert isinstance(json.loads(ln), dict), ln


def test_logs_mask_phone_and_never_hold_code_or_token(server):
    code, tokens = full_flow(server)
    assert wait_log(server, MASKED), \
        f"masked phone {MASKED} never logged:\n{server.log_tail()}"
    server.stop()
    log = server.log_text()
    assert "14155550100" not in log
    assert not re.search(rf"(?<!\d){code}(?!\d)", log), "code leaked"
    for t in tokens:
        assert t and t not in log, "session token leaked"


def test_passed_checks_and_probes_log_at_debug(otpd):
    """nginx calls /auth/check on every page view and logs the page itself:
    a passed check (and a health probe) is a debug line, a refused one and
    every other route stay at info."""
    for level, quiet in (("info", True), ("debug", False)):
        srv = otpd("--log-level", level)
        b = srv.browser()
        srv.login(b, PHONE)
        assert b.get(srv.url("/auth/check")).status_code == 204
        assert requests.get(srv.url("/auth/check")).status_code == 401
        assert requests.get(srv.url("/healthz")).status_code == 200
        assert srv.stop() is not None
        seen = {(ln["route"], ln["status"])
                for ln in map(json.loads, srv.log_text().splitlines())
                if ln.get("msg") == "request"}
        assert ("/auth/check", 401) in seen
        assert ("/auth/verify-otp", 200) in seen
        assert (("/auth/check", 204) in seen) is not quiet, (level, seen)
        assert (("/healthz", 200) in seen) is not quiet, (level, seen)


def listening(srv):
    """The start-up line, written just after the server answers."""
    text = srv.wait_log('"msg":"listening"')
    return next(ln for ln in map(json.loads, text.splitlines())
                if ln.get("msg") == "listening")


def test_server_threads_follow_the_cpu_affinity(otpd):
    """--threads 0 (the default) is one server thread a CPU otpd may run
    on: under `taskset -c N` (or systemd's CPUAffinity=) one, not one a
    core of the machine, which would take turns on that CPU."""
    mask = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(mask)})
    try:
        one = otpd()
    finally:
        os.sched_setaffinity(0, mask)
    b = one.browser()
    one.login(b, PHONE)
    assert b.get(one.url("/auth/check")).status_code == 204
    assert listening(one)["threads"] == 1
    assert listening(otpd())["threads"] == len(mask)
    assert listening(otpd("--threads", "3"))["threads"] == 3


def test_waits_run_on_fibers_on_sqlite(otpd):
    """With the local provider a send and a verify wait for their COMMIT
    (or Redis round trip) on a fiber (--fibers, the default); --fibers
    false gives them threads, and the login works either way."""
    for flags, waits in (((), "fibers"), (("--fibers", "false"), "threads"),
                         (("--wait-threads", "0"), "server threads")):
        srv = otpd(*flags)
        assert listening(srv)["waits"] == waits, flags
        b = srv.browser()
        srv.login(b, PHONE)
        assert b.get(srv.url("/auth/check")).status_code == 204


# -- command line ----------------------------------------------------------
def run_cli(args, env=None, cwd=None):
    require_binary()
    return subprocess.run([OTPD_BIN] + args, env=clean_env(env), cwd=cwd,
                          capture_output=True, text=True, timeout=10)


def test_help_lists_main_flags(tmp_path):
    p = run_cli(["--help"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    for flag in ("--listen", "--store", "--sms"):
        assert flag in p.stdout, p.stdout


def test_bad_flag_value_exits_naming_the_flag(tmp_path):
    p = run_cli(["--listen", f"127.0.0.1:{free_port()}",
                 "--store", f"sqlite:{tmp_path}/otpd.db", "--sms", "null",
                 "--code-length", "11"], cwd=tmp_path)
    assert p.returncode != 0
    assert "--code-length" in p.stderr, p.stderr


def test_bad_env_value_exits_naming_the_variable(tmp_path):
    p = run_cli(["--listen", f"127.0.0.1:{free_port()}",
                 "--store", f"sqlite:{tmp_path}/otpd.db", "--sms", "null"],
                env={"OTPD_CODE_LENGTH": "abc"}, cwd=tmp_path)
    assert p.returncode != 0
    assert "OTPD_CODE_LENGTH" in p.stderr, p.stderr


def test_unknown_flag_exits_non_zero(tmp_path):
    p = run_cli(["--listen", f"127.0.0.1:{free_port()}",
                 "--store", f"sqlite:{tmp_path}/otpd.db", "--sms", "null",
                 "--no-such-flag"], cwd=tmp_path)
    assert p.returncode != 0
    assert "--no-such-flag" in p.stderr, p.stderr


def test_sigterm_exits_cleanly(server):
    assert server.stop() == 0


# -- restarts --------------------------------------------------------------
def secret_files(srv):
    return [p for p in srv.dir.iterdir() if "secret" in p.name]


def test_code_survives_restart_with_generated_secret(server):
    b = server.browser()
    assert server.send(b, PHONE).status_code == 200
    code = server.wait_code(PHONE)
    assert server.stop() is not None
    server.start()
    r = server.verify(b, code)
    assert r.status_code == 200, r.text
    assert r.json() == {"verified": True, "phone": PHONE}


def test_generated_secret_file_is_private(server):
    assert server.send(server.browser(), PHONE).status_code == 200
    server.wait_code(PHONE)
    found = secret_files(server)
    assert len(found) == 1, found
    mode = stat.S_IMODE(found[0].stat().st_mode)
    assert mode == 0o600, oct(mode)


def test_secret_from_env_writes_no_file(otpd):
    srv = otpd(env={"OTPD_SECRET": "5a" * 32})
    b = srv.browser()
    srv.login(b, PHONE)
    assert secret_files(srv) == []


def test_session_survives_restart(server):
    b = server.browser()
    server.login(b, PHONE)
    server.stop()
    server.start()
    r = b.get(server.url("/auth/session"))
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == PHONE


def test_outbox_message_survives_kill_and_is_sent_once(otpd):
    srv = otpd(sms="file:{dir}/missing/sms.jsonl")
    b = srv.browser()
    assert srv.send(b, PHONE).status_code == 200
    deadline = time.monotonic() + 5
    while srv.db_count("outbox") < 1:
        assert time.monotonic() < deadline, "no outbox row"
        time.sleep(0.02)
    assert srv.sms_messages() == []
    srv.kill()
    srv.start(sms="file:{dir}/sms.jsonl")
    code = srv.wait_code(PHONE, timeout=15)
    # watch a moment longer for a duplicate
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        assert len(srv.sms_messages()) == 1, srv.sms_messages()
        time.sleep(0.05)
    r = srv.verify(b, code)
    assert r.status_code == 200, r.text
