"""CORS for an app on another origin (--cors-origins): a preflight and a
cross-origin send with the cookie; an origin not listed gets no CORS
headers, so the browser keeps the answer from its page."""

import requests

from helpers import PHONE

APP = "https://app.example.com"


def preflight(srv, origin, path="/auth/send-otp"):
    return requests.options(srv.url(path), timeout=5, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})


def test_preflight_for_a_listed_origin(otpd):
    srv = otpd("--cors-origins", f"{APP},http://localhost:3000")
    r = preflight(srv, APP)
    assert r.status_code == 204, r.text
    h = r.headers
    assert h["Access-Control-Allow-Origin"] == APP
    assert h["Access-Control-Allow-Credentials"] == "true"
    assert h["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert "Content-Type" in h["Access-Control-Allow-Headers"]
    assert int(h["Access-Control-Max-Age"]) > 0
    assert "Origin" in h["Vary"]


def test_cross_origin_send_carries_the_cookie_and_cors(otpd):
    srv = otpd("--cors-origins", APP, "--cookie-samesite", "None",
               "--cookie-secure", "true")
    b = srv.browser()
    r = b.post(srv.url("/auth/send-otp"), json={"phone": PHONE},
               headers={"Origin": APP}, timeout=5)
    assert r.status_code == 200, r.text
    assert r.headers["Access-Control-Allow-Origin"] == APP
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    cookie = r.headers["Set-Cookie"]
    assert "SameSite=None" in cookie and "Secure" in cookie
    # an error answer for that origin is readable too
    r = b.post(srv.url("/auth/verify-otp"), json={"code": "x"},
               headers={"Origin": APP}, timeout=5)
    assert r.status_code == 400
    assert r.headers["Access-Control-Allow-Origin"] == APP


def test_other_origins_get_no_cors(otpd):
    srv = otpd("--cors-origins", APP)
    r = preflight(srv, "https://evil.example")
    assert r.status_code == 204
    assert "Access-Control-Allow-Origin" not in r.headers
    r = requests.post(srv.url("/auth/send-otp"), json={"phone": PHONE},
                      headers={"Origin": "https://evil.example"}, timeout=5)
    assert "Access-Control-Allow-Origin" not in r.headers


def test_options_without_cors_answers_allow(otpd):
    srv = otpd()
    r = requests.options(srv.url("/auth/session"), timeout=5)
    assert r.status_code == 204
    assert r.headers["Allow"] == "GET, OPTIONS"
    assert "Access-Control-Allow-Origin" not in r.headers
    assert requests.options(srv.url("/nope"), timeout=5).status_code == 404
