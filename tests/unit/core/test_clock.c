/* test_clock.c - the ISO-8601 form of a time, written and read back; only
 * the exact shape is read (an upstream's expiry comes through it). */
#include "core/clock.h"
#include "harness.h"

static void round_trip(void)
{
	char out[OTP_ISO8601_LEN];
	int64_t ms;
	CHECK_INT(otp_clock_parse_iso8601("2026-12-01T23:10:05Z", &ms), 0);
	CHECK_INT(ms, 1796166605000LL);
	otp_clock_iso8601(ms, out);
	CHECK_STR(out, "2026-12-01T23:10:05Z");
	CHECK_INT(otp_clock_parse_iso8601("2026-12-01T23:10:05.25Z", &ms), 0);
	CHECK_INT(ms, 1796166605250LL);
	CHECK_INT(otp_clock_parse_iso8601("2024-02-29T00:00:00.123456Z", &ms),
		  0);
}

static void only_the_exact_shape(void)
{
	static const char *const bad[] = {
	    "2-1-0T23:0:0.100Z",
	    "2026-13-01T00:00:00Z",
	    "2026-02-30T00:00:00Z",
	    "2026-12-01T24:00:00Z",
	    "2026-12-01T23:60:00Z",
	    "2026-12-01T23:10:61Z",
	    " 2026-12-01T23:10:05Z",
	    "2026-12-+1T23:10:05Z",
	    "2026-12-01 23:10:05Z",
	    "2026-12-01T23:10:05",
	    "2026-12-01T23:10:05Zx",
	    "2026-12-01T23:10:05.Zx",
	    "",
	};
	int64_t ms;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(otp_clock_parse_iso8601(bad[i], &ms), -1);
}

/* A time before 1970 with milliseconds is written in the second it falls
 * in, as one after it is: ms / 1000 rounded toward zero put -1 ms at
 * 1970-01-01T00:00:00Z (found by tests/fuzz/fuzz_clock). */
static void before_1970_rounds_down(void)
{
	char out[OTP_ISO8601_LEN];
	int64_t ms;
	otp_clock_iso8601(-1, out);
	CHECK_STR(out, "1969-12-31T23:59:59Z");
	CHECK_INT(otp_clock_parse_iso8601("1012-02-29T23:59:59.999Z", &ms), 0);
	otp_clock_iso8601(ms, out);
	CHECK_STR(out, "1012-02-29T23:59:59Z");
	otp_clock_iso8601(-1000, out);
	CHECK_STR(out, "1969-12-31T23:59:59Z");
}

/* Every year is written in four digits, as it is read. */
static void years_in_four_digits(void)
{
	char out[OTP_ISO8601_LEN];
	int64_t ms;
	CHECK_INT(otp_clock_parse_iso8601("0226-12-01T23:10:05.250Z", &ms), 0);
	otp_clock_iso8601(ms, out);
	CHECK_STR(out, "0226-12-01T23:10:05Z");
}

static const struct harness_test tests[] = {
    TEST(round_trip),
    TEST(only_the_exact_shape),
    TEST(before_1970_rounds_down),
    TEST(years_in_four_digits),
};
HARNESS_MAIN("clock", tests)
