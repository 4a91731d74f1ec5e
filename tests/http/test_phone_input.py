"""Phone numbers and codes as people type them (issue 11, item 6).

National numbers need --default-region and say so when it is missing, the
number type decides who gets an SMS (--sms-number-types), ranges newer than
libphonenumber's metadata can be allowed (--phone-ranges-allow), and a code
typed with spaces or dashes is compared as its digits.
"""
import pytest

from helpers import assert_error


def test_national_number_without_region_says_how_to_fix(server):
    r = server.send(server.browser(), "4155550120")
    assert_error(r, 400, "invalid_phone")
    assert "--default-region" in r.json()["error"]
    assert "+<country code>" in r.json()["error"]


@pytest.mark.parametrize("typed", ["4155550120", "(415) 555-0120",
                                   "415.555.0120", "+1 415 555 0120"])
def test_national_number_with_default_region(otpd, typed):
    srv = otpd("--default-region", "US")
    b = srv.browser()
    assert srv.send(b, typed).status_code == 200
    code = srv.wait_code("+14155550120")
    assert srv.verify(b, code).status_code == 200


def test_fixed_line_is_refused_by_type_not_as_invalid(otpd):
    srv = otpd("--default-region", "GB")
    r = srv.send(srv.browser(), "020 7946 0126")
    assert_error(r, 400, "number_type_not_allowed")
    assert srv.messages_to("+442079460126") == []


def test_number_types_are_configurable(otpd):
    srv = otpd("--default-region", "GB",
               "--sms-number-types", "mobile,fixed-line")
    b = srv.browser()
    assert srv.send(b, "020 7946 0126").status_code == 200
    assert srv.wait_code("+442079460126")


def test_premium_rate_is_refused(server):
    r = server.send(server.browser(), "+44 909 879 0000")
    assert_error(r, 400, "number_type_not_allowed")


@pytest.mark.parametrize("typed", ["+44 (0) (0)20 7946 0958",
                                   "+44 7700 900123", "+1 415 055 0100"])
def test_numbers_outside_the_plan_are_invalid(server, typed):
    assert_error(server.send(server.browser(), typed), 400, "invalid_phone")


def test_ranges_allow_accepts_a_range_the_metadata_lacks(otpd):
    srv = otpd("--phone-ranges-allow", "+447700900")
    b = srv.browser()
    assert srv.send(b, "+44 7700 900123").status_code == 200
    assert srv.wait_code("+447700900123")


def test_bad_default_region_refuses_to_start(otpd):
    srv = otpd("--default-region", "XX", start=False)
    with pytest.raises(Exception):
        srv.start()


@pytest.mark.parametrize("sep", [" ", "-", " - "])
def test_code_typed_with_separators_is_accepted(server, sep):
    phone = "+14155550121"
    b = server.browser()
    assert server.send(b, phone).status_code == 200
    code = server.wait_code(phone)
    typed = code[:3] + sep + code[3:]
    r = server.verify(b, typed)
    assert r.status_code == 200, r.text
