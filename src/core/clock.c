/* clock.c - the only place that reads the system clocks. */
#include "core/clock.h"

#include <stdio.h>
#include <time.h>

int64_t otp_clock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t otp_clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t otp_clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec otp_clock_deadline(clockid_t clk, int64_t ms)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

void otp_clock_iso8601(int64_t ms, char out[OTP_ISO8601_LEN])
{
	/* rounded down, not toward zero: -1 ms is in 1969's last second */
	time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));
	struct tm tm;
	gmtime_r(&t, &tm);
	/* %04d: strftime's %Y writes the year 226 as "226", no ISO-8601;
	 * a year past 9999 (never read back) is cut to the length */
	char buf[80];
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
	snprintf(out, OTP_ISO8601_LEN, "%.20s", buf);
}

/* The n digits at s as a number, or -1 if they are not all digits. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Every field in its place and in its range: sscanf took "2-1-0T23:0:0Z",
 * signs and spaces, and timegm then moved a month 13 or a 31 February
 * on (found by tests/fuzz/fuzz_clock; upstream answers come through here). */
int otp_clock_parse_iso8601(const char *s, int64_t *ms)
{
	struct tm tm = {0}, back;
	int frac = 0;
	for (int i = 0; i < 19; i++)
		if (!s[i] || (i == 4 || i == 7	   ? s[i] != '-'
			      : i == 10		   ? s[i] != 'T'
			      : i == 13 || i == 16 ? s[i] != ':'
						   : s[i] < '0' || s[i] > '9'))
			return -1;
	tm.tm_year = digits(s, 4);
	tm.tm_mon = digits(s + 5, 2);
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	const char *p = s + 19;
	if (*p == '.') {
		int nd = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, nd++)
			if (nd < 3)
				frac = frac * 10 + (*p - '0');
		if (nd == 0)
			return -1;
		for (; nd < 3; nd++)
			frac *= 10;
	}
	if (p[0] != 'Z' || p[1] != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	time_t t = timegm(&back);
	if (t == (time_t)-1 || back.tm_year != tm.tm_year ||
	    back.tm_mon != tm.tm_mon || back.tm_mday != tm.tm_mday ||
	    back.tm_hour != tm.tm_hour || back.tm_min != tm.tm_min ||
	    back.tm_sec != tm.tm_sec)
		return -1;
	*ms = (int64_t)t * 1000 + frac;
	return 0;
}
