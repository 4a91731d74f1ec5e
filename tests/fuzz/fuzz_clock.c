/* fuzz_clock.c - otp_clock_parse_iso8601 (core/clock.h), which reads the
 * expiry an upstream answers with. An accepted text is exactly
 * "YYYY-MM-DDTHH:MM:SS[.fff...]Z" with every field in range, and reads back
 * the same through otp_clock_iso8601. */
#include "core/clock.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s = fuzz_str(d, n), again[OTP_ISO8601_LEN];
	int64_t ms, ms2;
	if (otp_clock_parse_iso8601(s, &ms) == 0) {
		size_t len = strlen(s);
		FUZZ_CHECK(len >= 20 && s[len - 1] == 'Z');
		FUZZ_CHECK(len == 20 || s[19] == '.');
		FUZZ_CHECK(
		    len == 20 ||
		    (len > 21 && fuzz_all_of(s + 20, len - 21, "0123456789")));
		otp_clock_iso8601(ms, again);
		/* the same up to the seconds */
		FUZZ_CHECK(strncmp(again, s, 19) == 0);
		FUZZ_CHECK(otp_clock_parse_iso8601(again, &ms2) == 0);
		FUZZ_CHECK(ms2 == ms - (ms % 1000 + 1000) % 1000);
	}
	free(s);
	return 0;
}
