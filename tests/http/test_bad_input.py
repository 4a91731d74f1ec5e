"""Bad input of any shape: a clear 4xx JSON error, no SMS, no state."""

import json

import pytest

from helpers import OTHER_PHONE, PHONE, assert_error, wrong_code

JSON = {"Content-Type": "application/json"}
UTF8_OR_JSON = ("invalid_utf8", "invalid_json")


def padded_body(size=9000):
    """A valid send body, blown past 8 KiB with insignificant whitespace."""
    head = b'{"phone": "+14155550100"'
    return head + b" " * (size - len(head) - 1) + b"}"


def chunks(data, n=1000):
    for i in range(0, len(data), n):
        yield data[i:i + n]


def assert_no_state(srv):
    """No code and no outbox row exist, and no SMS goes out: a valid send to
    another number afterwards is the one and only message in the sink."""
    assert srv.db_count("codes") == 0
    assert srv.db_count("outbox") == 0
    r = srv.send(srv.browser(), OTHER_PHONE)
    assert r.status_code == 200, r.text
    srv.wait_code(OTHER_PHONE)
    msgs = srv.sms_messages()
    assert [m["to"] for m in msgs] == [OTHER_PHONE], msgs


SEND_CASES = [
    # id, body, headers, status, code(s)
    ("malformed_json", b'{"phone":', JSON, 400, "invalid_json"),
    ("empty_body", b"", JSON, 400, "invalid_json"),
    ("array", b'["+14155550100"]', JSON, 400, "invalid_json"),
    ("string", b'"+14155550100"', JSON, 400, "invalid_json"),
    ("number", b"14155550100", JSON, 400, "invalid_json"),
    ("null", b"null", JSON, 400, "invalid_json"),
    ("trailing_garbage", b'{"phone": "+14155550100"} x', JSON, 400,
     "invalid_json"),
    ("missing_field", b"{}", JSON, 400, "missing_field"),
    ("wrong_type_number", b'{"phone": 14155550100}', JSON, 400,
     "invalid_field"),
    ("wrong_type_array", b'{"phone": ["+14155550100"]}', JSON, 400,
     "invalid_field"),
    ("wrong_type_null", b'{"phone": null}', JSON, 400,
     ("invalid_field", "missing_field")),
    ("unknown_field", b'{"phone": "+14155550100", "admin": true}', JSON, 400,
     "unknown_field"),
    ("overlong_phone",
     json.dumps({"phone": "+" + "1" * 199}).encode(), JSON, 400,
     "field_too_long"),
    ("invalid_utf8", b'{"phone": "+1415555\xff0100"}', JSON, 400,
     UTF8_OR_JSON),
    ("invalid_utf8_overlong_encoding", b'{"phone": "+1415555\xc0\xb00100"}',
     JSON, 400, UTF8_OR_JSON),
    ("nul_escape", b'{"phone": "+1415555\\u00000100"}', JSON, 400,
     UTF8_OR_JSON),
    ("lone_surrogate", b'{"phone": "+1415555\\ud8000100"}', JSON, 400,
     UTF8_OR_JSON),
    ("body_over_8k", padded_body(), JSON, 413, "payload_too_large"),
    ("text_plain", b'{"phone": "+14155550100"}', {"Content-Type": "text/plain"},
     415, "unsupported_media_type"),
    ("no_content_type", b'{"phone": "+14155550100"}', {}, 415,
     "unsupported_media_type"),
    ("form_encoded", b"phone=%2B14155550100",
     {"Content-Type": "application/x-www-form-urlencoded"}, 415,
     "unsupported_media_type"),
]


@pytest.mark.parametrize("body,headers,status,code",
                         [c[1:] for c in SEND_CASES],
                         ids=[c[0] for c in SEND_CASES])
def test_send_rejects_bad_input(server, body, headers, status, code):
    r = server.browser().post(server.url("/auth/send-otp"), data=body,
                              headers=headers)
    assert_error(r, status, code)
    assert_no_state(server)


def test_send_rejects_chunked_body_over_8k(server):
    r = server.browser().post(server.url("/auth/send-otp"),
                              data=chunks(padded_body()), headers=JSON)
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert_error(r, 413, "payload_too_large")
    assert_no_state(server)


def test_send_accepts_small_chunked_body(server):
    r = server.browser().post(server.url("/auth/send-otp"),
                              data=chunks(b'{"phone": "+14155550100"}', 5),
                              headers=JSON)
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 200, r.text
    server.wait_code(PHONE)


@pytest.mark.parametrize("method,path,allow", [
    ("GET", "/auth/send-otp", "POST"),
    ("PUT", "/auth/send-otp", "POST"),
    ("GET", "/auth/verify-otp", "POST"),
    ("GET", "/auth/logout", "POST"),
    ("POST", "/auth/session", "GET"),
    ("DELETE", "/auth/check", "GET"),
    ("POST", "/healthz", "GET"),
])
def test_wrong_method_is_405_with_allow(server, method, path, allow):
    r = server.browser().request(method, server.url(path))
    assert_error(r, 405, "method_not_allowed")
    allowed = [m.strip() for m in r.headers.get("Allow", "").split(",")]
    assert allow in allowed, r.headers
    assert_no_state(server)


@pytest.mark.parametrize("method,path", [
    ("GET", "/nope"),
    ("GET", "/auth"),
    ("POST", "/auth/send-otp/extra"),
    ("POST", "/auth/send-otp-now"),
])
def test_unknown_path_is_404_json(server, method, path):
    r = server.browser().request(method, server.url(path),
                                 data=b'{"phone": "+14155550100"}',
                                 headers=JSON)
    assert_error(r, 404, "not_found")
    assert_no_state(server)


# -- verify ----------------------------------------------------------------
VERIFY_CASES = [
    ("letters", {"code": "12ab56"}, "invalid_code"),
    ("too_short", {"code": "123"}, "invalid_code"),
    ("too_long", {"code": "12345678901"}, "invalid_code"),
    ("empty", {"code": ""}, "invalid_code"),
    # Spaces and dashes are dropped (test_phone_input.py), other bytes not.
    ("tab", {"code": "\t123456"}, "invalid_code"),
    ("sign", {"code": "+123456"}, "invalid_code"),
    ("separators_only", {"code": " - - "}, "invalid_code"),
    ("fullwidth_digits", {"code": "\uff11\uff12\uff13\uff14\uff15\uff16"},
     "invalid_code"),
    ("number", {"code": 123456}, "invalid_field"),
    ("missing", {}, "missing_field"),
    ("unknown_field", {"code": "123456", "admin": True}, "unknown_field"),
    ("phone_wrong_type", {"code": "123456", "phone": 14155550100},
     "invalid_field"),
    ("malformed", b'{"code":', "invalid_json"),
    ("array", b'["123456"]', "invalid_json"),
]


@pytest.mark.parametrize("body,code", [c[1:] for c in VERIFY_CASES],
                         ids=[c[0] for c in VERIFY_CASES])
def test_verify_rejects_bad_input_without_counting_an_attempt(server, body,
                                                              code):
    b = server.browser()
    assert server.send(b, PHONE).status_code == 200
    right = server.wait_code(PHONE)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = b.post(server.url("/auth/verify-otp"), data=data, headers=JSON)
    assert_error(r, 400, code)
    r = server.verify(b, wrong_code(right))
    assert r.status_code == 401, r.text
    assert r.json()["attempts_remaining"] == 4
    assert server.verify(b, right).status_code == 200


@pytest.mark.parametrize("headers,data,status,code", [
    ({"Content-Type": "text/plain"}, b'{"code": "000000"}', 415,
     "unsupported_media_type"),
    (JSON, b'{"code": "000000"' + b" " * 9000 + b"}", 413,
     "payload_too_large"),
], ids=["text_plain", "body_over_8k"])
def test_verify_http_errors_count_no_attempt(server, headers, data, status,
                                             code):
    b = server.browser()
    assert server.send(b, PHONE).status_code == 200
    right = server.wait_code(PHONE)
    r = b.post(server.url("/auth/verify-otp"), data=data, headers=headers)
    assert_error(r, status, code)
    r = server.verify(b, wrong_code(right))
    assert r.json().get("attempts_remaining") == 4, r.text
