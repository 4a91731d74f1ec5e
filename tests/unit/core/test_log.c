/* test_log.c - unit tests for core/log.c.
 *
 * The timestamp is formatted by log.c's own arithmetic, so it is checked
 * against the C library's gmtime_r at the boundaries where such code goes
 * wrong (seconds, days, months, leap days, centuries, the epoch, before it)
 * and at many random instants; the time is passed in, never read. A whole
 * line is read back from a pipe put in place of stderr.
 */
#include "core/log.c"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "harness.h"

/* What the C library says: "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static void libc_time(int64_t ms, char out[OTP_LOG_TIME_LEN + 1])
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	time_t t = (time_t)secs;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, OTP_LOG_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + 19, 6, ".%03dZ", (int)(ms - secs * 1000));
}

static const char *ours(int64_t ms, char out[OTP_LOG_TIME_LEN + 1])
{
	format_time(ms, out);
	out[OTP_LOG_TIME_LEN] = '\0';
	return out;
}

static void time_at_boundaries(void)
{
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
	    {0, "1970-01-01T00:00:00.000Z"},
	    {999, "1970-01-01T00:00:00.999Z"},
	    {1000, "1970-01-01T00:00:01.000Z"},
	    {59999, "1970-01-01T00:00:59.999Z"},
	    {60000, "1970-01-01T00:01:00.000Z"},
	    {86399999, "1970-01-01T23:59:59.999Z"},
	    {86400000, "1970-01-02T00:00:00.000Z"},
	    {-1, "1969-12-31T23:59:59.999Z"},
	    {-1000, "1969-12-31T23:59:59.000Z"},
	    {-1001, "1969-12-31T23:59:58.999Z"},
	    {946684799999, "1999-12-31T23:59:59.999Z"},
	    {946684800000, "2000-01-01T00:00:00.000Z"},
	    {951782400000, "2000-02-29T00:00:00.000Z"}, /* leap: / 400 */
	    {951868800000, "2000-03-01T00:00:00.000Z"},
	    {1709164800000, "2024-02-29T00:00:00.000Z"},
	    {1735689599999, "2024-12-31T23:59:59.999Z"},
	    {1735689600000, "2025-01-01T00:00:00.000Z"},
	    {1795651200000, "2026-11-26T00:00:00.000Z"},
	    {4107456000000, "2100-02-28T00:00:00.000Z"},
	    {4107542400000, "2100-03-01T00:00:00.000Z"}, /* no leap: / 100 */
	    {253402300799999, "9999-12-31T23:59:59.999Z"},
	};
	char got[OTP_LOG_TIME_LEN + 1], want[OTP_LOG_TIME_LEN + 1];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_STR(ours(cases[i].ms, got), cases[i].want);
		libc_time(cases[i].ms, want);
		CHECK_STR(got, want);
	}
}

static void time_around_every_new_year(void)
{
	char got[OTP_LOG_TIME_LEN + 1], want[OTP_LOG_TIME_LEN + 1];
	for (int y = 1900; y <= 2400; y++) {
		struct tm tm = {.tm_year = y - 1900, .tm_mday = 1};
		int64_t ms = (int64_t)timegm(&tm) * 1000;
		for (int64_t d = -1; d <= 0; d++) {
			libc_time(ms + d, want);
			CHECK_STR(ours(ms + d, got), want);
		}
		/* and the last day of February */
		tm =
		    (struct tm){.tm_year = y - 1900, .tm_mon = 2, .tm_mday = 1};
		ms = (int64_t)timegm(&tm) * 1000 - 1;
		libc_time(ms, want);
		CHECK_STR(ours(ms, got), want);
	}
}

static void time_at_random_instants(void)
{
	char got[OTP_LOG_TIME_LEN + 1], want[OTP_LOG_TIME_LEN + 1];
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		int64_t ms = (int64_t)(x % 253402300800000u);
		libc_time(ms, want);
		CHECK_STR(ours(ms, got), want);
	}
}

static void numbers(void)
{
	char b[OTP_LOG_NUM_LEN];
	CHECK_STR(otp_log_num(b, 0), "0");
	CHECK_STR(otp_log_num(b, 7), "7");
	CHECK_STR(otp_log_num(b, 204), "204");
	CHECK_STR(otp_log_num(b, -1), "-1");
	CHECK_STR(otp_log_num(b, LLONG_MAX), "9223372036854775807");
	CHECK_STR(otp_log_num(b, LLONG_MIN), "-9223372036854775808");
}

/* Runs otp_log with stderr on a pipe; the line read back into out. */
#define LOG_INTO(out, ...)                                                     \
	do {                                                                   \
		int fds_[2], saved_ = dup(STDERR_FILENO);                      \
		CHECK(pipe(fds_) == 0);                                        \
		dup2(fds_[1], STDERR_FILENO);                                  \
		otp_log(__VA_ARGS__);                                          \
		dup2(saved_, STDERR_FILENO);                                   \
		close(saved_);                                                 \
		close(fds_[1]);                                                \
		ssize_t n_ = read(fds_[0], out, sizeof out - 1);               \
		close(fds_[0]);                                                \
		out[n_ > 0 ? n_ : 0] = '\0';                                   \
	} while (0)

static void whole_line(void)
{
	char line[4096];
	LOG_INTO(line, OTP_LOG_INFO, "request", "method", "GET", "#status",
		 "204", "phone", NULL, "odd", "a\"b\\c\n\x01\x7f\xc3\xa9",
		 "#ms", "1x", NULL);
	CHECK(strncmp(line, "{\"ts\":\"", 7) == 0);
	CHECK(line[7 + 4] == '-' && line[7 + 10] == 'T' && line[7 + 23] == 'Z');
	CHECK_STR(
	    line + 7 + OTP_LOG_TIME_LEN,
	    "\",\"level\":\"info\",\"msg\":\"request\",\"method\":\"GET\","
	    "\"status\":204,\"odd\":\"a\\\"b\\\\c\\u000a\\u0001"
	    "\\u007f\xc3\xa9\",\"ms\":\"1x\"}\n");
}

/* A request line's stray bytes (a method of "\xff", an overlong '/', a
 * lone continuation byte, a surrogate) come out as U+FFFD: the line stays
 * valid UTF-8, while real UTF-8 (e, 3- and 4-byte forms) passes. */
/* A '#' value that is not a JSON number is logged as a string: the line
 * stays JSON (found by tests/fuzz/fuzz_log). */
static void odd_numbers_are_strings(void)
{
	char line[4096];
	LOG_INTO(line, OTP_LOG_INFO, "n", "#a", "-", "#b", "1.2.3", "#c", "01",
		 "#d", "-0.5", "#e", "3.", "#f", "1234567890123456789012345",
		 NULL);
	CHECK(strstr(line, "\"a\":\"-\",\"b\":\"1.2.3\",\"c\":\"01\","
			   "\"d\":-0.5,\"e\":\"3.\","
			   "\"f\":\"1234567890123456789012345\"}\n") != NULL);
}

static void invalid_utf8_is_replaced(void)
{
	char line[4096];
	LOG_INTO(
	    line, OTP_LOG_INFO, "request", "method",
	    "G\xffT\xc0\xaf\x80\xed\xa0\x80\xe2\x82\xac\xf0\x9f\x98\x80\xc3",
	    NULL);
	const char *want = "\"method\":\"G\xef\xbf\xbdT\xef\xbf\xbd\xef\xbf\xbd"
			   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			   "\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd\"}\n";
	CHECK(strstr(line, want) != NULL);
}

/* Once at once, then once an interval with the count held back. */
static void every_interval_with_a_count(void)
{
	static struct otp_log_every e;
	long n = -1;
	CHECK(otp_log_every_due(&e, 1000, 10000, &n));
	CHECK_INT(n, 0);
	for (int i = 0; i < 37; i++)
		CHECK(!otp_log_every_due(&e, 1000 + i * 100, 10000, &n));
	CHECK(!otp_log_every_due(&e, 10999, 10000, &n));
	CHECK(otp_log_every_due(&e, 11000, 10000, &n));
	CHECK_INT(n, 38);
	CHECK(!otp_log_every_due(&e, 11001, 10000, &n));
	CHECK(otp_log_every_due(&e, 60000, 10000, &n)); /* quiet for long */
	CHECK_INT(n, 1);
}

static void long_line_is_cut_but_whole(void)
{
	char big[3000], line[4096];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	LOG_INTO(line, OTP_LOG_WARN, "long", "v", big, NULL);
	size_t n = strlen(line);
	CHECK_INT(n, 2048);
	CHECK_STR(line + n - 3, "x}\n");
}

static void below_the_level_nothing(void)
{
	char line[256];
	otp_log_set_level(OTP_LOG_WARN);
	LOG_INTO(line, OTP_LOG_INFO, "quiet", NULL);
	otp_log_set_level(OTP_LOG_INFO);
	CHECK_STR(line, "");
}

static const struct harness_test tests[] = {
    TEST(time_at_boundaries),
    TEST(time_around_every_new_year),
    TEST(time_at_random_instants),
    TEST(numbers),
    TEST(whole_line),
    TEST(invalid_utf8_is_replaced),
    TEST(odd_numbers_are_strings),
    TEST(every_interval_with_a_count),
    TEST(long_line_is_cut_but_whole),
    TEST(below_the_level_nothing),
};
HARNESS_MAIN("log", tests)
