"""Delivery through the HTTP gateway drivers (webhook, Twilio) against local
fake gateways: the exact request, its auth and signature, retries with the
same idempotency key, failover, dead letters, otpctl outbox, and refusals
at start-up."""

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import time
import urllib.parse

import pytest
import requests

from conftest import OTPD_BIN, clean_env, free_port
from gateways import API_KEY, CODE_RE, Api, FakeGateway, outbox_rows
from helpers import ISO_SECONDS_RE, PHONE

SECRET = "whsec-0123456789abcdef-test"
SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token"
FROM = "+15005550006"
OTPCTL = os.path.join(os.path.dirname(OTPD_BIN), "otpctl")


@pytest.fixture
def gateways():
    started = []

    def make(*args, **kw):
        gw = FakeGateway(*args, **kw).start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()


def start(otpd, sms, *extra, env=None):
    e = {"OTPD_API_KEYS": API_KEY, "OTPD_WEBHOOK_SECRET": SECRET,
         "OTPD_TWILIO_SID": SID, "OTPD_TWILIO_TOKEN": TOKEN}
    e.update(env or {})
    srv = otpd("--sms-backoff-ms", "50", *extra, sms=sms, env=e)
    return srv, Api(srv)


def assert_id_tag(key, rid):
    """A gateway's idempotency key is the request id's keyed tag (16 hex
    digits), never the id, which opens the request (issue 12)."""
    assert re.fullmatch(r"[0-9a-f]{16}", key), key
    assert key not in rid


def test_webhook_request_is_exact_and_signed(otpd, gateways):
    gw = gateways([200])
    srv, api = start(otpd, f"webhook:{gw.url}/sms/send", "--domain",
                     "login.example.com")
    sent = api.send("+1 415 555 0100")
    rid = sent["requestId"]
    (req,) = gw.wait_requests(1)
    assert req.method == "POST" and req.path == "/sms/send"
    h = {k.lower(): v for k, v in req.headers.items()}
    assert h["content-type"] == "application/json"
    assert_id_tag(h["idempotency-key"], rid)
    ts = h["x-otpd-timestamp"]
    assert abs(int(ts) - time.time()) < 60
    want = hmac.new(SECRET.encode(), ts.encode() + b"." + req.body,
                    hashlib.sha256).hexdigest()
    assert h["x-otpd-signature"] == "sha256=" + want

    body = json.loads(req.body)
    assert list(body) == ["to", "body", "request_id", "message_id",
                          "expires_at"]
    assert body["to"] == PHONE
    assert body["request_id"] == rid
    assert isinstance(body["message_id"], int)
    assert ISO_SECONDS_RE.match(body["expires_at"])
    assert body["expires_at"] == sent["expiresAt"].split(".")[0].rstrip(
        "Z") + "Z"
    code = CODE_RE.search(body["body"]).group(1)
    assert body["body"] == (f"{code} is your otpd code. It expires in 5 "
                            f"minutes.\n\n@login.example.com #{code}")
    assert api.verify(rid, code) is True
    api.wait_delivery(rid, "sent")
    assert len(gw.requests) == 1
    # the log says how many segments went out, never the text
    log = srv.log_text()
    assert '"msg":"sms sent"' in log and '"segments":1' in log
    assert '"encoding":"gsm7"' in log
    assert code not in log


def test_twilio_request_is_exact_and_authenticated(otpd, gateways):
    gw = gateways([201], body='{"sid": "SM0123", "status": "queued"}')
    srv, api = start(otpd, f"twilio:{gw.url}", "--sms-from", FROM)
    rid = api.send(PHONE)["requestId"]
    (req,) = gw.wait_requests(1)
    assert req.method == "POST"
    assert req.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    h = {k.lower(): v for k, v in req.headers.items()}
    assert h["content-type"] == "application/x-www-form-urlencoded"
    auth = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert h["authorization"] == "Basic " + auth
    assert_id_tag(h["idempotency-key"], rid)
    form = urllib.parse.parse_qs(req.body.decode(), strict_parsing=True)
    assert sorted(form) == ["Body", "From", "To"]
    assert form["To"] == [PHONE] and form["From"] == [FROM]
    code = CODE_RE.search(form["Body"][0]).group(1)
    assert api.verify(rid, code) is True
    api.wait_delivery(rid, "sent")

    # a Messaging Service SID goes as MessagingServiceSid instead of From
    mg = "MG" + "f" * 32
    srv2, api2 = start(otpd, f"twilio:{gw.url}/", "--sms-from", mg)
    api2.send(PHONE)
    req = gw.wait_requests(2)[1]
    form = urllib.parse.parse_qs(req.body.decode())
    assert sorted(form) == ["Body", "MessagingServiceSid", "To"]
    assert form["MessagingServiceSid"] == [mg]


def test_failover_from_a_failing_first_driver(otpd, gateways):
    bad = gateways([503], body='{"error": "overloaded"}')
    good = gateways([201], body='{"sid": "SM1"}')
    srv, api = start(otpd, f"webhook:{bad.url}/a,twilio:{good.url}",
                     "--sms-attempts", "3", "--sms-from", FROM)
    rid = api.send(PHONE)["requestId"]
    good.wait_requests(1)
    api.wait_delivery(rid, "sent")
    # three tries on the first driver, growing waits, then the second once
    assert len(bad.requests) == 3
    gaps = [b.at - a.at for a, b in zip(bad.requests, bad.requests[1:])]
    assert gaps[0] >= 0.035 and gaps[1] >= 0.075, gaps
    keys = {r.headers["Idempotency-Key"] for r in bad.requests + good.requests}
    (key,) = keys
    assert_id_tag(key, rid)
    (row,) = outbox_rows(srv)
    assert row["state"] == "sent" and row["driver"] == 1
    assert row["attempts"] == 4
    assert '"msg":"sms failover"' in srv.log_text()
    time.sleep(0.3)
    assert len(good.requests) == 1 and len(bad.requests) == 3


def test_transient_then_sent_keeps_one_key(otpd, gateways):
    gw = gateways([429, 502, 200])
    srv, api = start(otpd, f"webhook:{gw.url}/")
    rid = api.send(PHONE)["requestId"]
    reqs = gw.wait_requests(3)
    api.wait_delivery(rid, "sent")
    (key,) = {r.headers["Idempotency-Key"] for r in reqs}
    assert_id_tag(key, rid)
    assert len({r.body for r in reqs}) == 1  # the same message each time
    time.sleep(0.3)
    assert len(gw.requests) == 3


def test_400_is_a_dead_letter_without_retries(otpd, gateways):
    gw = gateways([400], body='{"code": 21211, "message": "invalid To"}')
    second = gateways([200])
    srv, api = start(otpd, f"webhook:{gw.url}/,webhook:{second.url}/")
    rid = api.send(PHONE)["requestId"]
    gw.wait_requests(1)
    api.wait_delivery(rid, "failed")
    time.sleep(0.5)  # ten backoff periods: no retry, no failover
    assert len(gw.requests) == 1 and second.requests == []
    (row,) = outbox_rows(srv)
    assert row["state"] == "failed" and row["attempts"] == 1
    assert row["last_error"].startswith("webhook: HTTP 400: ")
    assert "21211" in row["last_error"]
    assert '"msg":"sms dead-lettered"' in srv.log_text()


def otpctl(srv, *args):
    return subprocess.run([OTPCTL, "--store", f"sqlite:{srv.db_path}",
                           *args], capture_output=True, text=True,
                          timeout=10, env=clean_env())


def test_otpctl_lists_and_retries_a_dead_letter(otpd, gateways):
    gw = gateways([400, 200])
    srv, api = start(otpd, f"webhook:{gw.url}/")
    rid = api.send(PHONE)["requestId"]
    api.wait_delivery(rid, "failed")
    out = otpctl(srv, "outbox", "list", "failed")
    assert out.returncode == 0, out.stderr
    (line,) = out.stdout.splitlines()
    cols = line.split("\t")
    msg_id, state, masked = cols[0], cols[2], cols[5]
    assert cols[1] == rid and state == "failed" and masked == "+1415*****00"
    assert "webhook: HTTP 400" in cols[-1]
    assert PHONE not in out.stdout
    assert otpctl(srv, "outbox", "list", "sent").stdout == ""

    out = otpctl(srv, "outbox", "retry", msg_id)
    assert out.returncode == 0 and out.stdout == f"requeued {msg_id}\n"
    gw.wait_requests(2, timeout=5)  # the worker's next poll picks it up
    api.wait_delivery(rid, "sent")
    assert "\tsent\t" in otpctl(srv, "outbox", "list").stdout
    # a message that is not a dead letter cannot be retried
    out = otpctl(srv, "outbox", "retry", msg_id)
    assert out.returncode == 1 and "not a dead letter" in out.stderr
    assert otpctl(srv, "outbox", "retry", "999").returncode == 1
    assert otpctl(srv, "outbox", "list", "bogus").returncode == 2


def run_otpd(*args, env=None):
    """Starts otpd expecting it to refuse: returns (status, stderr)."""
    p = subprocess.run([OTPD_BIN, "--listen", f"127.0.0.1:{free_port()}",
                        *args],
                       capture_output=True, text=True, timeout=10,
                       env=clean_env(env))
    return p.returncode, p.stderr


def test_bad_delivery_settings_refuse_to_start(tmp_path):
    db = f"sqlite:{tmp_path}/x.db"
    rc, err = run_otpd("--store", db, "--sms", "webhook:http://127.0.0.1:9/")
    assert rc == 2 and "OTPD_WEBHOOK_SECRET" in err
    rc, err = run_otpd("--store", db, "--sms", "twilio:",
                       env={"OTPD_TWILIO_SID": SID})
    assert rc == 2 and "OTPD_TWILIO_SID and OTPD_TWILIO_TOKEN" in err
    rc, err = run_otpd("--store", db, "--sms", "null,kannel:http://h/x")
    assert rc == 2 and "SMS driver #2: kannel:" in err
    rc, err = run_otpd("--store", db, "--sms", "smpp:x")
    assert rc == 2 and "--sms" in err
    # a template that needs two segments with a 10-digit code
    rc, err = run_otpd("--store", db, "--sms-template",
                       "{code} " + "x" * 150)
    assert rc == 2 and "2 SMS segments" in err
    rc, err = run_otpd("--store", db, "--sms-template",
                       "{code} — ваш код для {app}, он действует {minutes} "
                       "минут, никому его не говорите")
    assert rc == 2 and "UCS-2" in err
    rc, err = run_otpd("--store", db, "--sms-template", "no code here")
    assert rc == 2 and "no {code}" in err


def test_android_hash_and_ucs2_template(otpd, gateways):
    gw = gateways([200])
    srv, api = start(otpd, f"webhook:{gw.url}/", "--android-app-hash",
                     "FA+9qCX9VSu", "--sms-template", "Код {code} для {app}")
    rid = api.send(PHONE)["requestId"]
    (req,) = gw.wait_requests(1)
    text = json.loads(req.body)["body"]
    code = CODE_RE.search(text).group(1)
    assert text == f"Код {code} для otpd\nFA+9qCX9VSu"
    api.wait_delivery(rid, "sent")
    assert '"encoding":"ucs2"' in srv.log_text()


def test_webhook_sink_takes_a_burst(otpd, gateways):
    """Several workers share out a burst; each message goes out once."""
    gw = gateways([200], delay=0.05)
    srv, api = start(otpd, f"webhook:{gw.url}/", "--sms-workers", "4",
                     "--limit-phone", "0", "--resend-cooldown", "0",
                     "--limit-key", "0")
    rids = [api.send(f"+1415555{1000 + i:04d}")["requestId"]
            for i in range(20)]
    t = time.monotonic()
    gw.wait_requests(20, timeout=10)
    # 20 x 50 ms one by one would take 1 s
    assert time.monotonic() - t < 0.9
    time.sleep(0.2)
    got = [json.loads(r.body)["request_id"] for r in gw.requests]
    assert sorted(got) == sorted(rids)


def test_dlr_hook_refuses_forged_reports(otpd, gateways):
    gw = gateways([200])
    srv, api = start(otpd, f"webhook:{gw.url}/")
    rid = api.send(PHONE)["requestId"]
    api.wait_delivery(rid, "sent")
    (row,) = outbox_rows(srv)
    url = srv.url("/hooks/kannel/dlr")
    r = requests.get(url, params={"id": row["id"], "token": "0" * 32,
                                  "status": 1}, timeout=5)
    assert r.status_code == 401
    r = requests.get(url, params={"id": row["id"], "status": 1}, timeout=5)
    assert r.status_code == 401
    r = requests.get(url, params={"id": "x", "token": "0" * 32,
                                  "status": 1}, timeout=5)
    assert r.status_code == 400
    # white space before a number is no number (found by tests/fuzz)
    r = requests.get(url, params={"id": f"\r{row['id']}", "token": "0" * 32,
                                  "status": 1}, timeout=5)
    assert r.status_code == 400
    r = requests.get(url, params={"id": row["id"], "token": "0" * 32},
                     timeout=5)
    assert r.status_code == 400
    assert api.delivery(rid) == "sent"
    assert "0" * 32 not in srv.log_text()


def test_tls_certificate_is_verified(otpd, tmp_path):
    """A gateway whose certificate nobody vouches for gets nothing."""
    import ssl
    import threading
    import http.server
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, args=(0.05,),
                     daemon=True).start()
    try:
        port = httpd.server_address[1]
        srv, api = start(otpd, f"webhook:https://127.0.0.1:{port}/",
                         "--sms-backoff-ms", "5000")
        rid = api.send(PHONE)["requestId"]
        deadline = time.monotonic() + 5
        while not outbox_rows(srv)[0]["last_error"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        (row,) = outbox_rows(srv)
        assert row["state"] == "queued"  # transient: retried later
        assert "certificate" in row["last_error"].lower(), row
        assert hits == [] and api.delivery(rid) == "queued"
    finally:
        httpd.shutdown()
        httpd.server_close()
