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

int64_t otp_clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void otp_clock_iso8601(int64_t ms, char out[OTP_ISO8601_LEN])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, OTP_ISO8601_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
