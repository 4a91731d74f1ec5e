"""/metrics on the admin listener (--admin-listen): never on the public port,
the counts a scrape shows after sends and verifies, `promtool check metrics`
on a real scrape, a real Prometheus scraping otpd and answering a PromQL
query with the number of sends, and docs/METRICS.md's alert rules through
`promtool check rules`.
"""

import re
import shutil
import socket
import subprocess
import time

import pytest
import requests

from conftest import OTPD_BIN, REPO, clean_env, free_port, require_binary
from helpers import OTHER_PHONE, PHONE, wrong_code

LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"')
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SAMPLE_RE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"[^"]*")*\})? (\S+)$')


def tool(name):
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not shutil.which(path):
        pytest.fail(f"{name} not found (Debian package prometheus: "
                    "scripts/deps test installs it)")
    return path


def admin(otpd, *extra, env=None):
    """An otpd with its admin listener on a free loopback port."""
    port = free_port()
    srv = otpd("--admin-listen", f"127.0.0.1:{port}", *extra, env=env)
    srv.admin = f"http://127.0.0.1:{port}"
    return srv


def scrape(srv):
    r = requests.get(srv.admin + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == CONTENT_TYPE
    return r.text


def samples(text):
    """{(name, frozenset of (label, value)): value} of a scrape."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL_RE.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(text, name, **labels):
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape_until(srv, cond, what, timeout=10):
    """A request is counted at its completion, just after its answer went
    out: a scrape right after an answer may not show it yet."""
    def ready():
        t = scrape(srv)
        return t if cond(t) else None
    return poll(ready, timeout, what)


def poll(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not seen within {timeout} s")
        time.sleep(0.05)


def test_metrics_only_on_the_admin_port(otpd):
    srv = admin(otpd)
    assert requests.get(srv.url("/metrics"), timeout=5).status_code == 404
    for path in ("/healthz", "/readyz"):
        assert requests.get(srv.admin + path, timeout=5).status_code == 200
    # The admin port answers nothing of the login API.
    r = requests.post(srv.admin + "/auth/send-otp", json={"phone": PHONE},
                      timeout=5)
    assert r.status_code in (404, 405)
    assert requests.get(srv.admin + "/auth/check", timeout=5) \
        .status_code == 404
    srv.wait_log("admin listening")
    assert srv.stop() == 0  # both listeners drain and stop on SIGTERM


def test_admin_listener_is_off_by_default(otpd):
    srv = otpd()
    assert "admin listening" not in srv.log_text()
    assert requests.get(srv.url("/metrics"), timeout=5).status_code == 404


def test_bad_or_busy_admin_address_stops_start_up(tmp_path):
    require_binary()
    busy = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", busy))
        s.listen()
        for addr, why in (("nope", "admin-listen"),
                          (f"127.0.0.1:{busy}", "")):
            p = subprocess.run(
                [OTPD_BIN, "--listen", f"127.0.0.1:{free_port()}",
                 "--store", f"sqlite:{tmp_path}/o.db", "--sms", "null",
                 "--admin-listen", addr],
                env=clean_env(), cwd=tmp_path, capture_output=True,
                text=True, timeout=10)
            assert p.returncode == 2, p.stderr
            assert why in p.stderr


def test_scrape_counts_sends_and_verifies(otpd):
    srv = admin(otpd, "--resend-cooldown", "0", "--countries-deny", "44")
    b = srv.browser()
    for i in range(3):
        assert srv.send(b, PHONE).status_code == 200
        # one at a time: the delivery workers may hand two queued
        # messages to the sink in either order, and the live code is
        # the last send's
        code = srv.wait_code(PHONE, count=i + 1)
    assert srv.verify(b, wrong_code(code)).status_code == 401
    assert srv.verify(b, code).json()["verified"] is True
    assert srv.send(srv.browser(), "+447400123456").status_code == 403
    assert srv.send(srv.browser(), "12").status_code == 400

    text = scrape_until(srv, lambda t: value(
        t, "otpd_sms_messages_total", driver="file", status="sent") == 3
        and value(t, "otpd_outbox_messages", state="sent") == 3
        and value(t, "otpd_http_request_duration_seconds_count",
                  route="/auth/send-otp") == 5,
        "3 SMS sent (and acked) and 5 sends answered in the scrape")
    sends = dict(api="login")
    assert value(text, "otpd_otp_sends_total", outcome="issued", **sends) == 3
    assert value(text, "otpd_otp_sends_total",
                 outcome="destination_denied", **sends) == 1
    assert value(text, "otpd_otp_sends_total", api="provider",
                 outcome="issued") == 0
    assert value(text, "otpd_otp_verifications_total", api="login",
                 outcome="wrong_code") == 1
    assert value(text, "otpd_otp_verifications_total", api="login",
                 outcome="approved") == 1
    route = dict(route="/auth/send-otp")
    assert value(text, "otpd_http_requests_total", code="200", **route) == 3
    assert value(text, "otpd_http_requests_total", code="403", **route) == 1
    assert value(text, "otpd_http_requests_total", code="400", **route) == 1
    assert value(text, "otpd_http_request_duration_seconds_count",
                 **route) == 5
    assert value(text, "otpd_http_request_duration_seconds_bucket",
                 le="+Inf", **route) == 5
    assert value(text, "otpd_outbox_messages", state="sent") == 3
    assert value(text, "otpd_outbox_messages", state="queued") == 0
    # the three SMS by calling code: +1
    assert value(text, "otpd_sms_by_country_total", country="1",
                 status="sent") == 3
    assert value(text, "otpd_sms_by_country_total", country="44",
                 status="sent") == 0  # refused: never tried
    # queued -> accepted by the file sink: three, well under 10 s each
    stage = dict(stage="accepted")
    assert value(text, "otpd_sms_delivery_seconds_count", **stage) == 3
    assert value(text, "otpd_sms_delivery_seconds_bucket", le="10",
                 **stage) == 3
    assert 0 <= value(text, "otpd_sms_delivery_seconds_sum", **stage) < 30
    # the store's own time for each operation the requests made
    op = dict(op="code_issue")
    assert value(text, "otpd_store_operation_duration_seconds_count",
                 **op) == 3
    assert value(text, "otpd_store_operation_duration_seconds_bucket",
                 le="+Inf", **op) == 3
    assert value(text, "otpd_store_operation_duration_seconds_sum",
                 **op) > 0
    assert value(text, "otpd_store_operation_duration_seconds_count",
                 op="code_verify") == 2
    assert value(text, "otpd_store_up") == 1
    assert value(text, "process_open_fds") > 0
    assert value(text, "process_resident_memory_bytes") > 1e6
    assert abs(value(text, "process_start_time_seconds") - time.time()) < 120
    assert 'otpd_build_info{version="' in text
    # Closed label sets only: nothing of the requests shows.
    for secret in (PHONE, PHONE[1:], "447400123456", "127.0.0.1", code):
        assert secret not in text
    # The admin port's own requests are counted nowhere.
    assert 'route="/metrics"' not in text


def test_metrics_false_counts_no_request_and_times_no_store_call(otpd):
    """--metrics false (what make bench compares check with): the engine's
    counters go on, the per-request and per-store-call counts stop."""
    srv = admin(otpd, "--metrics", "false")
    b = srv.browser()
    srv.login(b, PHONE)
    assert b.get(srv.url("/auth/check"), timeout=5).status_code == 204
    text = scrape(srv)
    assert value(text, "otpd_otp_sends_total", api="login",
                 outcome="issued") == 1
    assert "otpd_http_requests_total{" not in text
    assert "otpd_store_operation_duration_seconds_count{" not in text
    assert subprocess.run([tool("promtool"), "check", "metrics"],
                          input=text, text=True,
                          capture_output=True).returncode == 0


def test_rate_limits_are_counted(otpd):
    srv = admin(otpd, "--limit-ip", "1")
    b = srv.browser()
    assert srv.send(b, PHONE).status_code == 200
    assert srv.send(b, OTHER_PHONE).status_code == 429
    text = scrape_until(srv, lambda t: value(
        t, "otpd_http_requests_total", route="/auth/send-otp",
        code="429") == 1, "the 429 in the scrape")
    assert value(text, "otpd_rate_limited_total", limit="ip") == 1


def test_promtool_checks_a_scrape(otpd):
    promtool = tool("promtool")
    srv = admin(otpd)
    srv.login(srv.browser(), PHONE)
    requests.get(srv.url("/nowhere"), timeout=5)
    t0 = time.monotonic()
    text = scrape(srv)
    took = time.monotonic() - t0
    p = subprocess.run([promtool, "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and not p.stdout.strip(), p.stdout + p.stderr
    print(f"scrape: {len(text.encode())} bytes in {took * 1000:.1f} ms")


def test_alert_rules_in_the_docs_pass_promtool(tmp_path):
    promtool = tool("promtool")
    doc = (REPO / "docs" / "METRICS.md").read_text()
    blocks = re.findall(r"```yaml\n(groups:.*?)```", doc, re.S)
    assert len(blocks) == 1, "one rule group block in docs/METRICS.md"
    rules = tmp_path / "otpd.rules.yml"
    rules.write_text(blocks[0])
    p = subprocess.run([promtool, "check", "rules", str(rules)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "SUCCESS: 3 rules found" in p.stdout, p.stdout


def test_prometheus_scrapes_the_sends(otpd, tmp_path):
    prometheus = tool("prometheus")
    srv = admin(otpd, "--resend-cooldown", "0")
    b = srv.browser()
    sends = 4
    for _ in range(sends):
        assert srv.send(b, PHONE).status_code == 200
    port = free_port()
    target = srv.admin.removeprefix("http://")
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: otpd\n    static_configs:\n"
        f"      - targets: ['{target}']\n")
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen(
        [prometheus, f"--config.file={tmp_path}/prometheus.yml",
         f"--storage.tsdb.path={tmp_path}/data",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=tmp_path)
    api = f"http://127.0.0.1:{port}"
    try:
        def answer():
            if proc.poll() is not None:
                raise AssertionError(
                    "prometheus exited:\n"
                    + (tmp_path / "prometheus.log").read_text()[-2000:])
            try:
                r = requests.get(api + "/api/v1/query", timeout=2, params={
                    "query": 'sum(otpd_otp_sends_total{outcome="issued"})'})
            except requests.RequestException:
                return None
            res = r.json().get("data", {}).get("result", []) \
                if r.status_code == 200 else []
            return res[0]["value"][1] if res else None
        assert poll(answer, 60, "a PromQL answer") == str(sends)
        r = requests.get(api + "/api/v1/query", timeout=5,
                         params={"query": "otpd_otp_sends_total"})
        series = r.json()["data"]["result"]
        got = {(s["metric"]["api"], s["metric"]["outcome"]): s["value"][1]
               for s in series}
        assert got[("login", "issued")] == str(sends)
        assert got[("provider", "issued")] == "0"
        up = requests.get(api + "/api/v1/query", timeout=5,
                          params={"query": "up{job='otpd'}"}).json()
        assert up["data"]["result"][0]["value"][1] == "1"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_store_down_shows_as_store_up_0(otpd):
    srv = admin(otpd, env={"OTPD_TEST_FAULTS":
                           "ping:before:unavail,outbox_list:before:unavail"})
    text = scrape(srv)
    assert value(text, "otpd_store_up") == 0
    assert "otpd_outbox_messages" not in text  # no family rather than zeros
    assert requests.get(srv.admin + "/readyz", timeout=5).status_code == 503


def test_redis_store_scrape(otpd, redis_server):
    rs = redis_server()
    srv = admin(otpd, "--store", rs.url, env={"OTPD_SECRET": "ab" * 32})
    srv.login(srv.browser(), PHONE)
    # The sink has the SMS a moment before the outbox row is acked; and a
    # scrape reads the counters before the outbox, so an ack that lands
    # between the two shows as sent before its delivery is counted.
    text = scrape_until(srv, lambda t: value(
        t, "otpd_outbox_messages", state="sent") == 1 and value(
        t, "otpd_sms_delivery_seconds_count", stage="accepted") == 1,
        "the message sent")
    assert value(text, "otpd_store_up") == 1
    assert value(text, "otpd_redis_connects_total") >= 1
    assert value(text, "otpd_otp_verifications_total", api="login",
                 outcome="approved") == 1
    assert "otpd_sqlite_" not in text
    assert value(text, "otpd_sms_delivery_seconds_count",
                 stage="accepted") == 1
    assert value(text, "otpd_store_operation_duration_seconds_count",
                 op="code_issue") == 1
