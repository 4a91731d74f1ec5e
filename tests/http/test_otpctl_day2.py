"""otpctl's day-2 commands against SQLite and Redis: through the running
otpd's admin socket, and on the store itself when no otpd runs. session
revoke, phone show, stats, outbox dead / retry --all, purge, backup; the
human lines and --json."""

import json
import os
import shutil
import signal
import stat
import subprocess
import time

import pytest

from conftest import clean_env
from gateways import API_KEY, Api
from helpers import OTHER_PHONE, PHONE
from test_delivery_http import gateways  # noqa: F401 (a fixture)
from test_otpctl import OTPCTL_BIN

SECRET = "ab" * 32
MASKED = "+1415*****00"
WEBHOOK_SECRET = "whsec-0123456789abcdef-test"


class Node:
    """One otpd, and the otpctl arguments that reach its store."""

    def __init__(self, srv, store, env):
        self.srv, self.store, self.env = srv, store, env

    def ctl(self, *args):
        return subprocess.run(
            [OTPCTL_BIN, "--store", self.store, *args],
            env=clean_env(self.env), cwd=self.srv.dir, capture_output=True,
            text=True, timeout=20)

    def ctl_json(self, *args):
        p = self.ctl("--json", *args)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        return json.loads(p.stdout)

    def commands_seen(self):
        """How many commands the running otpd says it ran."""
        return self.srv.log_text().count('"msg":"otpctl command"')


@pytest.fixture(params=["sqlite", "redis"])
def node(request, otpd, redis_server):
    """Factory: node(*flags, sms=None, env=None) -> a started Node."""

    def make(*extra, sms=None, env=None):
        e = dict(env or {})
        if request.param == "redis":
            rs = redis_server()
            e["OTPD_SECRET"] = SECRET
            srv = otpd("--store", rs.url, *extra, env=e, sms=sms)
            return Node(srv, rs.url, {"OTPD_SECRET": SECRET})
        srv = otpd(*extra, env=e, sms=sms)
        return Node(srv, f"sqlite:{srv.db_path}", {})

    make.backend = request.param
    return make


def login(srv, browser, phone, nth):
    """Logs browser in as phone, whose nth SMS carries the code."""
    assert srv.send(browser, phone).status_code == 200
    code = srv.wait_code(phone, count=nth)
    assert srv.verify(browser, code).status_code == 200


def session_status(srv, browser):
    return browser.get(srv.url("/auth/session"), timeout=10).status_code


def wait_outbox(n, state, count):
    deadline = time.monotonic() + 10
    while (got := n.ctl_json("stats")["outbox"][state]) != count:
        assert time.monotonic() < deadline, f"{got} {state}, not {count}"
        time.sleep(0.05)


def test_session_revoke_is_401_at_once_everywhere(node):
    n = node("--resend-cooldown", "0")
    srv = n.srv
    a, b, other = srv.browser(), srv.browser(), srv.browser()
    login(srv, a, PHONE, 1)
    login(srv, b, PHONE, 2)
    login(srv, other, OTHER_PHONE, 1)
    for br in (a, b, other, a, b):  # twice: SQLite's cache answers
        assert session_status(srv, br) == 200
    p = n.ctl("session", "revoke", "--phone", PHONE)
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"revoked 2 sessions of {MASKED}\n"
    assert n.commands_seen() == 1  # the running otpd did it
    assert session_status(srv, a) == 401
    assert session_status(srv, b) == 401
    assert session_status(srv, other) == 200
    assert n.ctl_json("session", "revoke", "--phone", "+1 415 555 0100") \
        == {"phone": MASKED, "revoked": 0}
    # no otpd: otpctl on the store itself, seen after the restart
    c = srv.browser()
    login(srv, c, PHONE, 3)
    srv.stop()
    assert n.ctl_json("session", "revoke", "--phone", PHONE)["revoked"] == 1
    srv.start()
    assert session_status(srv, c) == 401
    assert session_status(srv, other) == 200
    for bad in (("session", "revoke", "--phone", "nope"),
                ("session", "revoke", PHONE)):
        p = n.ctl(*bad)
        assert p.returncode == 2 and p.stdout == "", (bad, p.stdout)


def test_phone_show_limit_and_last_sends_masked(node):
    n = node("--resend-cooldown", "0", "--limit-phone", "5")
    srv = n.srv
    br = srv.browser()
    assert srv.send(srv.browser(), OTHER_PHONE).status_code == 200
    for i in (1, 2):
        assert srv.send(br, PHONE).status_code == 200
        srv.wait_code(PHONE, count=i)
    d = n.ctl_json("phone", "show", PHONE)
    assert d["phone"] == MASKED
    # the ceiling: 4 x --limit-phone an hour for the phone, 2 taken
    assert d["limit"] == {"limited": True, "per_hour": 20, "left": 18,
                          "retry_after_ms": 0}
    assert [m["code"] for m in d["sends"]] == ["pending", "retired"]
    assert {m["to"] for m in d["sends"]} == {MASKED}
    assert d["sends"][0]["id"] > d["sends"][1]["id"]
    p = n.ctl("phone", "show", "+1 (415) 555-0100")
    assert p.returncode == 0, p.stderr
    assert f"phone\t{MASKED}\n" in p.stdout
    assert "limit\t18 of 20 sends an hour left\n" in p.stdout
    rows = [ln.split("\t") for ln in p.stdout.splitlines()
            if ln.startswith("  ") and not ln.startswith("  id\t")]
    assert [r[3] for r in rows] == ["pending", "retired"], p.stdout
    assert PHONE[1:] not in p.stdout and "5550100" not in p.stdout
    srv.stop()  # the same answer from the store itself
    d2 = n.ctl_json("phone", "show", PHONE)
    assert d2["limit"]["left"] == 18 and len(d2["sends"]) == 2


def test_stats_sends_verified_by_country(node):
    n = node("--resend-cooldown", "0")
    srv = n.srv
    login(srv, srv.browser(), PHONE, 1)
    assert srv.send(srv.browser(), OTHER_PHONE).status_code == 200
    srv.wait_code(OTHER_PHONE)
    wait_outbox(n, "sent", 2)
    d = n.ctl_json("stats")
    assert sum(d["outbox"].values()) == 2 and d["dead_letters"] == 0
    want = {"sends": 2, "verified": 1, "conversion": 0.5,
            "by_country": {"1": {"sends": 2, "verified": 1,
                                 "conversion": 0.5}}}
    assert d["windows"] == {"hour": want, "day": want}
    assert d["since_start"]["sends"] == {"issued": 2}
    assert d["since_start"]["verifications"] == {"approved": 1}
    p = n.ctl("stats")
    assert p.returncode == 0, p.stderr
    assert "hour\t2\t1\t50%\t +1: 1/2 50%\n" in p.stdout, p.stdout
    assert "dead letters: 0\n" in p.stdout
    srv.stop()
    d2 = n.ctl_json("stats")
    assert d2["windows"] == d["windows"] and "since_start" not in d2


def test_outbox_dead_then_retry_all(node, gateways):
    gw = gateways([400, 400, 200])
    n = node("--sms-backoff-ms", "50", "--resend-cooldown", "0",
             sms=f"webhook:{gw.url}/",
             env={"OTPD_API_KEYS": API_KEY,
                  "OTPD_WEBHOOK_SECRET": WEBHOOK_SECRET})
    api = Api(n.srv)
    rids = []
    for phone in (PHONE, OTHER_PHONE):
        rids.append(api.send(phone)["requestId"])
        api.wait_delivery(rids[-1], "failed")
    dead = n.ctl_json("outbox", "dead")["messages"]
    assert sorted(m["request_id"] for m in dead) == sorted(rids)
    assert {m["state"] for m in dead} == {"failed"}
    assert {m["to"] for m in dead} == {MASKED, "+1415*****23"}
    assert all(m["error"].startswith("webhook: HTTP 400") for m in dead)
    p = n.ctl("outbox", "dead")
    assert len(p.stdout.splitlines()) == 2 and PHONE not in p.stdout
    assert n.ctl_json("outbox", "list", "sent") == {"messages": []}
    p = n.ctl("outbox", "retry", "--all")
    assert p.returncode == 0 and p.stdout == "requeued 2\n", p
    for rid in rids:  # woken at once, not at the next poll
        api.wait_delivery(rid, "sent", timeout=3)
    assert n.ctl_json("outbox", "dead") == {"messages": []}
    assert n.ctl_json("outbox", "retry", "--all") == {"requeued": 0,
                                                      "left": 0}
    for bad in (("outbox", "retry"), ("outbox", "retry", "x"),
                ("outbox", "dead", "now")):
        assert n.ctl(*bad).returncode == 2


def test_purge_takes_only_what_expired(node):
    n = node("--resend-cooldown", "0")
    srv = n.srv
    br = srv.browser()
    assert srv.send(br, PHONE).status_code == 200
    code = srv.wait_code(PHONE)
    p = n.ctl("purge")
    assert p.returncode == 0 and p.stdout.startswith("removed "), p
    assert n.ctl_json("purge")["removed"] >= 0
    assert srv.verify(br, code).status_code == 200  # the live code stayed
    srv.stop()
    assert n.ctl("purge").returncode == 0


def test_backup_opens_in_a_new_otpd_and_its_code_verifies(otpd, tmp_path):
    srv = otpd()
    br = srv.browser()
    assert srv.send(br, PHONE).status_code == 200
    code = srv.wait_code(PHONE)
    n = Node(srv, f"sqlite:{srv.db_path}", {})
    copy = tmp_path / "copy.db"
    p = n.ctl("backup", str(copy))
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"backed up to {copy}\n" and "secret" in p.stderr
    assert n.commands_seen() == 1
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    p = n.ctl("backup", str(copy))  # never over a file
    assert p.returncode == 1 and "exists already" in p.stderr
    # the copy, with otpd's secret beside it, in a new otpd
    other = otpd(start=False)
    shutil.copy(copy, other.db_path)
    shutil.copy(srv.dir / "otpd.secret", other.dir / "otpd.secret")
    srv.stop()
    other.start()
    assert other.verify(br, code).status_code == 200
    # and with no otpd running, relative to otpctl's directory
    other.stop()
    p = Node(other, f"sqlite:{other.db_path}", {}).ctl("backup", "b2.db")
    assert p.returncode == 0, p.stderr
    assert (other.dir / "b2.db").exists()


def test_backup_of_redis_is_refused_with_the_reason(otpd, redis_server,
                                                    tmp_path):
    rs = redis_server()
    srv = otpd("--store", rs.url, env={"OTPD_SECRET": SECRET})
    n = Node(srv, rs.url, {"OTPD_SECRET": SECRET})
    p = n.ctl("backup", str(tmp_path / "r.db"))
    assert p.returncode == 1 and p.stdout == ""
    assert "redis store has no backup here" in p.stderr, p.stderr
    assert not (tmp_path / "r.db").exists()


def test_admin_socket_private_stale_and_off(otpd):
    srv = otpd()
    sock = srv.dir / "otpd.db.ctl"
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    n = Node(srv, f"sqlite:{srv.db_path}", {})
    assert n.ctl_json("key", "list") == {"keys": []}
    assert n.commands_seen() == 1
    # kill -9 leaves the socket: otpctl then opens the store itself, and
    # the next otpd replaces it
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    assert sock.exists()
    key = n.ctl("key", "create", "web")
    assert key.returncode == 0, key.stderr
    srv.start()
    assert [k["name"] for k in n.ctl_json("key", "list")["keys"]] == ["web"]
    assert n.commands_seen() == 2
    srv.stop()
    assert not sock.exists()  # a clean stop removes it
    # --admin-socket elsewhere, and off
    alt = srv.dir / "alt.sock"
    srv.start(extra=["--admin-socket", str(alt)])
    assert alt.exists() and not sock.exists()
    p = n.ctl("--admin-socket", str(alt), "--json", "stats")
    assert p.returncode == 0 and json.loads(p.stdout)["dead_letters"] == 0
    srv.stop()
    srv.start(extra=["--admin-socket", "off"])
    assert not sock.exists() and not alt.exists()
