/* fuzz_message.c - the SMS text: templates as the operator writes them
 * (otp_message_check, otp_message_format of engine/message.c) and the
 * GSM-7 / UCS-2 count of any text (otp_message_segments).
 *
 * Input: TTL (2 bytes), AT (2 bytes), then TEMPLATE "\n" APP "\n" DOMAIN
 * "\n" HASH. Checked: a template the check passes renders, at every time
 * left from 1 s to TTL (AT picks one), a NUL-terminated text holding the
 * code in one segment, the autofill line "@DOMAIN #CODE" last when there is
 * a domain; a refused one says why; and the segments of the raw input are
 * consistent: one part exactly when the text fits a single SMS, never fewer
 * parts than the units need nor more than a split that keeps characters
 * whole can take, and plain ASCII letters and digits count one septet
 * each. */
#include "core/err.h"
#include "engine/message.h"
#include "fuzz.h"

static void check_segments(const char *t, size_t len)
{
	struct otp_segments seg;
	int rc = otp_message_segments(t, len, &seg);
	if (rc != 0) {
		FUZZ_CHECK(rc == OTP_EUTF8);
		return;
	}
	bool gsm = seg.coding == OTP_SMS_GSM7;
	size_t single = gsm ? 160 : 70, per = gsm ? 153 : 67;
	FUZZ_CHECK(seg.coding == OTP_SMS_GSM7 || seg.coding == OTP_SMS_UCS2);
	FUZZ_CHECK((seg.parts == 1) == (seg.units <= single));
	if (seg.parts > 1) {
		FUZZ_CHECK((size_t)seg.parts >= (seg.units + per - 1) / per);
		/* a part loses at most one unit to a pair kept whole */
		if (len < OTP_MESSAGE_MAX)
			FUZZ_CHECK((size_t)seg.parts <=
				   (seg.units + per - 2) / (per - 1));
	}
	if (fuzz_all_of(t, len,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789 "))
		FUZZ_CHECK(gsm && seg.units == len);
}

static void check_render(const struct otp_message_cfg *c, const char *code)
{
	char out[OTP_MESSAGE_MAX];
	memset(out, 'x', sizeof out);
	size_t len = otp_message_format(c, code, out, sizeof out);
	FUZZ_CHECK(len > 0 && len < sizeof out && strlen(out) == len);
	FUZZ_CHECK(strstr(out, code) != NULL);
	struct otp_segments seg;
	FUZZ_CHECK(otp_message_segments(out, len, &seg) == 0);
	FUZZ_CHECK(seg.parts == 1);
	if (c->domain && c->domain[0]) {
		char last[200];
		snprintf(last, sizeof last, "\n\n@%s #%s", c->domain, code);
		FUZZ_CHECK(len >= strlen(last) &&
			   strcmp(out + len - strlen(last), last) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 4)
		return 0;
	long ttl = (d[0] << 8 | d[1]) % 3600 + 1;
	long at = (d[2] << 8 | d[3]) % ttl + 1;
	char *s = fuzz_str(d + 4, n - 4), *p[4];
	check_segments(s, strlen(s));
	fuzz_split(s, '\n', p, 4);
	struct otp_message_cfg c = {.tpl = p[0],
				    .app = p[1][0] ? p[1] : "otpd",
				    .ttl_s = ttl,
				    .domain = strlen(p[2]) < 64 ? p[2] : "",
				    .app_hash = p[3]};
	char err[256];
	memset(err, 'x', sizeof err);
	if (otp_message_check(&c, err, sizeof err) != 0) {
		FUZZ_CHECK(strnlen(err, sizeof err) < sizeof err && err[0]);
		free(s);
		return 0;
	}
	check_render(&c, "0123456789");
	c.ttl_s = at;
	check_render(&c, "0123456789");
	check_render(&c, "1234");
	free(s);
	return 0;
}
