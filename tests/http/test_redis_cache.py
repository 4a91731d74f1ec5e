"""The session cache on a shared Redis store (src/store/redis/tracking.c):
/auth/check answered from process memory, kept coherent by Redis's
invalidation messages.

Two otpd processes, A and B, on one private redis-server. A session read on
A is cached there (A's hit counter says so); a logout, a rotation by a new
verify or an `otpctl session revoke` through B stops A's check within
100 ms. Then the invalidation path broken: A's tracking connection killed
(CLIENT KILL TYPE pubsub), Redis restarted empty, or the whole path to
Redis frozen (a TcpProxy in front of A only): A never answers 204 for a
session that is gone for longer than a cached row may live (1 s).
Deadlines are polled, never slept.
"""

import socket
import subprocess
import time

import pytest
import requests

from conftest import clean_env, free_port
from helpers import PHONE
from tcpproxy import TcpProxy
from test_otpctl import OTPCTL_BIN
from test_redis import wait_code

SECRET = "c4" * 32
ENV = {"OTPD_SECRET": SECRET}
WITHIN = 0.1  # a change on B is seen by A's check within this
MAX_AGE = 1.0  # tracking.c's MAX_AGE_MS: no cached row is older


def node(otpd, url):
    port = free_port()
    srv = otpd("--store", url, "--admin-listen", f"127.0.0.1:{port}",
               "--resend-cooldown", "0",
               env=ENV)
    srv.admin = f"http://127.0.0.1:{port}"
    return srv


def metric(srv, name):
    text = requests.get(srv.admin + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def redis_cmd(port, *args):
    """One command on a fresh connection to Redis: its raw answer."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(out)
        return s.recv(4096)


def wait_for(cond, what, timeout=5):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def tracking(srv):
    """Waits until srv's cache hears Redis's invalidations."""
    wait_for(lambda: metric(srv, "otpd_redis_tracking_up") == 1,
             "tracking connection not up")


def logged_in(a, servers, nth=1):
    """A browser logged in on a as PHONE, its session cached on a."""
    br = a.browser()
    assert a.send(br, PHONE).status_code == 200
    assert a.verify(br, wait_code(servers, PHONE, nth)).status_code == 200
    tracking(a)
    hits = metric(a, "otpd_session_cache_hits_total")

    def cached():
        r = br.get(a.url("/auth/check"), timeout=5)
        assert r.status_code == 204 and r.headers["X-Auth-Phone"] == PHONE
        return metric(a, "otpd_session_cache_hits_total") >= hits + 2

    # (the notice of A's own verify may drop the first fill: it comes
    # from Redis a moment later)
    wait_for(cached, "A's check not answered from its cache")
    return br


def stale_browser(br):
    """The cookie as it is now, in a browser of its own (a logout clears
    it in the browser that logs out)."""
    s = requests.Session()
    s.cookies.update(dict(br.cookies))
    return s


def check_stops(srv, br, within, since):
    """Polls srv's check until it is no longer 204; asserts that happened
    within `within` s of `since` (a check that started later and still
    answered 204 fails it). Returns the first other status."""
    while True:
        t0 = time.monotonic()
        status = br.get(srv.url("/auth/check"), timeout=5).status_code
        if status != 204:
            return status
        assert t0 - since < within, (
            f"A still answered 204 {t0 - since:.3f} s after the change")


@pytest.fixture
def ab(otpd, redis_server):
    rs = redis_server()
    a, b = node(otpd, rs.url), node(otpd, rs.url)
    return rs, a, b


def test_logout_on_b_stops_check_on_a_within_100ms(ab):
    rs, a, b = ab
    br = logged_in(a, [a, b])
    old = stale_browser(br)
    assert br.post(b.url("/auth/logout"), timeout=5).status_code == 204
    assert check_stops(a, old, WITHIN, time.monotonic()) == 401
    assert metric(a, "otpd_redis_invalidations_total") >= 1
    assert old.get(a.url("/auth/session"), timeout=5).status_code == 401


def test_over_unix_socket_logout_on_b_stops_check_on_a(otpd, redis_server):
    """A on Redis's unix socket (its store, its pipe, its tracking
    connection), B on TCP: one store, and A's cache as coherent."""
    rs = redis_server()
    a, b = node(otpd, rs.unix_url), node(otpd, rs.url)
    br = logged_in(a, [a, b])
    clients = redis_cmd(rs.port, "CLIENT", "LIST").decode()
    assert "addr=/" in clients or "laddr=" + rs.sock in clients, clients
    old = stale_browser(br)
    assert br.post(b.url("/auth/logout"), timeout=5).status_code == 204
    assert check_stops(a, old, WITHIN, time.monotonic()) == 401
    assert metric(a, "otpd_redis_invalidations_total") >= 1


def test_rotation_by_verify_on_b_stops_the_old_token_on_a(ab):
    rs, a, b = ab
    br = logged_in(a, [a, b])
    old = stale_browser(br)
    # log in again through B: the verify rotates the token
    assert b.send(br, PHONE).status_code == 200
    assert b.verify(br, wait_code([a, b], PHONE, 2)).status_code == 200
    assert check_stops(a, old, WITHIN, time.monotonic()) == 401
    r = br.get(a.url("/auth/check"), timeout=5)
    assert r.status_code == 204 and r.headers["X-Auth-Phone"] == PHONE


def test_otpctl_revoke_through_b_stops_check_on_a(ab):
    rs, a, b = ab
    br = logged_in(a, [a, b])
    p = subprocess.run(
        [OTPCTL_BIN, "--store", rs.url, "session", "revoke", "--phone",
         PHONE], env=clean_env(ENV), cwd=b.dir, capture_output=True,
        text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert "revoked 1 session" in p.stdout
    assert check_stops(a, br, WITHIN, time.monotonic()) == 401


def test_tracking_connection_killed_then_logout_on_b(ab):
    rs, a, b = ab
    br = logged_in(a, [a, b])
    old = stale_browser(br)
    connects = metric(a, "otpd_redis_tracking_connects_total")
    # every process's tracking connection, A's among them, closed by Redis
    assert redis_cmd(rs.port, "CLIENT", "KILL", "TYPE", "pubsub") \
        .startswith(b":")
    assert br.post(b.url("/auth/logout"), timeout=5).status_code == 204
    assert check_stops(a, old, MAX_AGE, time.monotonic()) == 401
    # A subscribes again by itself, and caches again
    wait_for(lambda: metric(a, "otpd_redis_tracking_connects_total")
             > connects, "A did not subscribe again")
    logged_in(a, [a, b], nth=2)


def test_while_tracking_is_down_checks_read_redis(ab):
    # The tracking connections killed and kept from coming back (the
    # default user may no longer run CLIENT, which only they need): A
    # answers every check from Redis, so a logout through B is seen at
    # once, not after a cached row's age; back, A caches again.
    rs, a, b = ab
    br = logged_in(a, [a, b])
    old = stale_browser(br)
    admin = ("AUTH", "admin", "pw")
    assert redis_cmd(rs.port, "ACL", "SETUSER", "admin", "on", ">pw",
                     "+@all", "~*", "&*") == b"+OK\r\n"
    assert redis_cmd(rs.port, "ACL", "SETUSER", "default", "-client") \
        == b"+OK\r\n"
    assert redis_cmd(rs.port, *admin).startswith(b"+OK")
    kill = b"*4\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$4\r\nTYPE\r\n" \
        b"$6\r\npubsub\r\n"
    with socket.create_connection(("127.0.0.1", rs.port), timeout=5) as s:
        s.sendall(b"*3\r\n$4\r\nAUTH\r\n$5\r\nadmin\r\n$2\r\npw\r\n"
                  + kill)
        got = b""
        while got.count(b"\r\n") < 2:
            got += s.recv(100)
        assert got.startswith(b"+OK\r\n:"), got
    wait_for(lambda: metric(a, "otpd_redis_tracking_up") == 0,
             "A's tracking still up")
    hits = metric(a, "otpd_session_cache_hits_total")
    for _ in range(5):
        assert br.get(a.url("/auth/check"), timeout=5).status_code == 204
    assert metric(a, "otpd_session_cache_hits_total") == hits
    assert br.post(b.url("/auth/logout"), timeout=5).status_code == 204
    assert old.get(a.url("/auth/check"), timeout=5).status_code == 401
    assert redis_cmd(rs.port, "ACL", "SETUSER", "default", "+client") \
        == b"+OK\r\n"
    logged_in(a, [a, b], nth=2)  # tracking back (within its 1 s backoff)


def test_redis_restarted_empty_never_leaves_a_serving_the_session(ab):
    rs, a, b = ab
    br = logged_in(a, [a, b])
    rs.kill()
    since = time.monotonic()
    rs.start()  # nothing kept: the session is gone
    status = check_stops(a, br, MAX_AGE, since)
    assert status in (401, 503), status
    wait_for(lambda: br.get(a.url("/auth/check"), timeout=5).status_code
             == 401, "A's check did not settle on 401")
    for _ in range(20):
        assert br.get(a.url("/auth/check"), timeout=5).status_code == 401


def test_frozen_path_to_redis_stops_cached_checks_within_max_age(
        otpd, redis_server):
    # A reaches Redis through a proxy, B directly: the proxy freezes, so
    # A's tracking connection goes silent (no close, no error) and its
    # PING goes unanswered; a logout through B must not leave A answering
    # 204 from memory past the rows' maximum age.
    rs = redis_server()
    proxy = TcpProxy().start(0, rs.port)
    try:
        a, b = node(otpd, proxy.url), node(otpd, rs.url)
        br = logged_in(a, [a, b])
        old = stale_browser(br)
        proxy.freeze()
        assert br.post(b.url("/auth/logout"), timeout=5).status_code == 204
        since = time.monotonic()
        status = check_stops(a, old, MAX_AGE, since)
        assert status == 503, status  # Redis unreachable: not a pass
        # the 503 may come before the unanswered PING's deadline: the
        # tracker must see its silent connection as lost while frozen
        wait_for(lambda: metric(a, "otpd_redis_tracking_lost_total") >= 1,
                 "A's tracker never gave up its frozen connection")
        proxy.thaw()
        wait_for(lambda: old.get(a.url("/auth/check"), timeout=5)
                 .status_code == 401, "A's check did not come back as 401")
    finally:
        proxy.stop()
