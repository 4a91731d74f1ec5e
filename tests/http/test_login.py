"""The hosted login page (GET/POST /login, /login/app.js) without a
browser: the form flow with JS off, where rd may go, the security headers,
cross-site posts, and the page's language. tests/browser/ drives it in
Chromium behind nginx."""

import re

import pytest
import requests

from helpers import PHONE

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SAME = {"Sec-Fetch-Site": "same-origin"}


def post(srv, data, session=None, headers=None):
    h = dict(FORM)
    h.update(headers or {})
    return (session or requests).post(srv.url("/login"), data=data,
                                      headers=h, allow_redirects=False,
                                      timeout=10)


def login_to(srv, rd):
    """Runs the JS-off form flow with `rd`; returns the final answer."""
    b = requests.Session()
    r = post(srv, {"rd": rd, "phone": PHONE}, b)
    assert r.status_code == 200, r.text
    code = srv.wait_code(PHONE)
    return post(srv, {"rd": rd, "phone": PHONE, "code": code}, b), b


def test_page_has_the_form_the_headers_and_the_app_name(otpd):
    srv = otpd("--app-name", "Acme Shop")
    r = requests.get(srv.url("/login?rd=/orders"), timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "<h1>Acme Shop</h1>" in r.text
    assert '<label for="phone">Phone number</label>' in r.text
    assert 'name="rd" value="/orders"' in r.text
    assert "<script>" not in r.text  # no inline script
    m = re.search(r'src="(/login/app\.js\?v=\w+)"', r.text)
    js = requests.get(srv.url(m.group(1)), timeout=10)
    assert js.status_code == 200
    assert js.headers["Content-Type"].startswith("text/javascript")
    # one Cache-Control: a second "no-store" would win in every cache
    assert js.headers["Cache-Control"] == \
        "public, max-age=31536000, immutable"
    # small: most of it is the step-up's own SHA-256 (src/handlers/
    # login_app.js), and it is cached for a year
    assert "OTPCredential" in js.text and len(js.content) < 10240
    assert "otpdSha256" in js.text
    assert requests.get(srv.url("/login/nope.js"),
                        timeout=10).status_code == 404


def test_js_off_flow_logs_in_and_goes_to_rd(server):
    r, b = login_to(server, "/orders?id=7")
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/orders?id=7"
    s = b.get(server.url("/auth/session"), timeout=10)
    assert s.status_code == 200 and s.json()["phone"] == PHONE


def test_code_page_asks_for_a_one_time_code(server):
    r = post(server, {"rd": "/", "phone": PHONE})
    assert 'autocomplete="one-time-code"' in r.text
    assert 'id="resend"' in r.text and 'data-wait="' in r.text


def test_wrong_code_says_attempts_left_and_expired_says_so(server):
    b = requests.Session()
    r = post(server, {"rd": "/", "phone": PHONE}, b)
    until = re.search(r'name="until" value="(\d+)"', r.text).group(1)
    code = server.wait_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    r = post(server, {"rd": "/", "phone": PHONE, "code": wrong,
                      "until": until}, b)
    assert r.status_code == 401
    assert re.search(r"That code is wrong\. Attempts left: \d+\.", r.text)
    # "send again" still counts down the send's cooldown
    assert f'name="until" value="{until}"' in r.text
    assert 'id="resend" data-wait="' in r.text
    r = post(server, {"rd": "/", "phone": PHONE, "code": "12a"}, b)
    assert "The code is digits only." in r.text
    r = post(server, {"rd": "/", "phone": PHONE, "code": "123456"})
    assert "expired" in r.text  # no session: no live code


def test_bad_phone_and_cooldown_in_words(server):
    r = post(server, {"rd": "/", "phone": "hello"})
    assert r.status_code == 400
    assert "That is not a phone number we can send to." in r.text
    b = requests.Session()
    post(server, {"rd": "/", "phone": PHONE}, b)
    r = post(server, {"rd": "/", "phone": PHONE, "resend": "1"}, b)
    assert r.status_code == 429
    m = re.search(r"Try again in (\d+) seconds\.", r.text)
    assert m and int(m.group(1)) > 0
    assert f'data-wait="{m.group(1)}"' in r.text


def test_destination_not_allowed_in_words(otpd):
    srv = otpd("--countries-deny", "44")
    r = post(srv, {"rd": "/", "phone": "+447400123456"}, headers=SAME)
    assert r.status_code == 403
    assert "We do not send codes to this number&#39;s country." in r.text
    assert srv.messages_to("+447400123456") == []


@pytest.mark.parametrize("rd", [
    "//evil.example", "/\\evil.example", "https:evil.example",
    "https://evil.example/", "%2F%2Fevil.example", "/\n/evil.example",
    "\\\\evil.example", " //evil.example", "/\t/evil.example",
    "javascript:alert(1)", "http://app.example.com.evil.example/",
    "http://app.example.com@evil.example/",
])
def test_no_open_redirect(otpd, rd):
    srv = otpd("--login-redirect-hosts", "http://app.example.com")
    r, _ = login_to(srv, rd)
    assert r.status_code == 303
    assert r.headers["Location"] == "/", rd


def test_encoded_rd_in_the_query_is_checked_after_decoding(server):
    for q in ("%2F%2Fevil.example", "%2F%5Cevil.example",
              "%252F%252Fevil.example"):
        r = requests.get(server.url("/login?rd=" + q), timeout=10)
        assert 'name="rd" value="/"' in r.text, q


def test_listed_redirect_host_and_plain_paths_are_kept(otpd):
    srv = otpd("--login-redirect-hosts", "http://app.example.com")
    r, _ = login_to(srv, "http://app.example.com/home")
    assert r.headers["Location"] == "http://app.example.com/home"
    r = requests.get(srv.url("/login"), timeout=10)
    assert "http://app.example.com" in \
        r.headers["Content-Security-Policy"]  # form-action lets it go


def test_cross_site_form_post_is_refused(server):
    for h in ({"Origin": "http://evil.example"}, {"Origin": "null"},
              {"Sec-Fetch-Site": "cross-site"},
              {"Sec-Fetch-Site": "same-site"},
              {"Origin": "http://evil.example",
               "Sec-Fetch-Site": "same-origin"}):
        r = post(server, {"rd": "/", "phone": PHONE}, headers=h)
        assert r.status_code == 403, h
        assert "cross-site" in r.text
    assert server.messages_to(PHONE) == []
    own = f"http://127.0.0.1:{server.port}"
    r = post(server, {"rd": "/", "phone": PHONE},
             headers={"Origin": own, "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200
    # what Chromium sends for its own page under Referrer-Policy no-referrer
    r = post(server, {"rd": "/", "phone": "+14155550123"},
             headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200


def test_language_from_accept_language(server):
    r = requests.get(server.url("/login"), timeout=10,
                     headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"})
    assert '<html lang="de">' in r.text and "Telefonnummer" in r.text
    assert r.headers["Content-Language"] == "de"
    r = requests.get(server.url("/login"), timeout=10,
                     headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="en">' in r.text and "Phone number" in r.text



def test_per_ip_limit_on_the_form_is_a_page_in_words(otpd):
    """The per-IP limit refuses before the page's handler runs: a person
    still gets the page (their language, rd and number kept), not JSON."""
    srv = otpd("--limit-ip", "2")
    form = {"rd": "/orders", "phone": "+14155550123"}
    for phone in ("+14155550101", "+14155550102"):
        r = post(srv, dict(form, phone=phone), headers=SAME)
        assert r.status_code == 200, r.text
    r = post(srv, form, headers=dict(SAME, **{"Accept-Language": "de"}))
    assert r.status_code == 429
    assert r.headers["Content-Type"].startswith("text/html")
    assert int(r.headers["Retry-After"]) > 0
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    m = re.search(r'role="alert">Zu viele Versuche\. Bitte in (\d+) '
                  r'Sekunden erneut versuchen\.<', r.text)
    assert m and int(m.group(1)) == int(r.headers["Retry-After"]), r.text
    assert 'name="rd" value="/orders"' in r.text
    assert 'value="+14155550123"' in r.text
    # a code post that hits the limit stays on the code step
    r = post(srv, dict(form, code="123456"), headers=SAME)
    assert r.status_code == 429
    assert 'autocomplete="one-time-code"' in r.text
    assert "Too many tries. Try again in" in r.text


def test_too_big_form_is_a_page_in_words(server):
    r = post(server, {"rd": "/", "phone": PHONE, "x": "a" * 5000},
             headers=SAME)
    assert r.status_code == 413
    assert r.headers["Content-Type"].startswith("text/html")
    assert "The form could not be read. Try again." in r.text
    assert '<label for="phone">Phone number</label>' in r.text
    assert server.messages_to(PHONE) == []
    # the JSON API keeps its JSON
    r = requests.post(server.url("/auth/send-otp"), data="x" * 9000,
                      headers={"Content-Type": "application/json"},
                      timeout=10)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
