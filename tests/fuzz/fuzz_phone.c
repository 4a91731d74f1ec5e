/* fuzz_phone.c - phone numbers as clients send them: otp_phone_parse
 * (core/phone.c's filter, then libphonenumber through phone_lpn.cc) under
 * the operator's rules, and what is made of an accepted number (calling
 * code, mask) and of a refused one (mask of raw bytes).
 *
 * Input: RULES (1 byte: region, types and ranges picked from small lists),
 * then the number. Checked: an accepted number is "+" and at most 15
 * digits with a known calling code, reads back as itself under the same
 * rules, and masks to the same length keeping only its first four and last
 * two digits (all of them masked when it has fewer than 8: Niue's +683
 * numbers have 7); a refused one leaves "" and one of the three phone errors; a
 * mask never holds more than OTP_PHONE_MAX - 1 bytes, nor a digit of a text
 * that is not a number. */
#include "core/err.h"
#include "core/phone.h"
#include "fuzz.h"

static const char *const regions[] = {NULL, "",	  "US", "GB",
				      "DE", "IN", "RU", "ZZ"};
static const char *const types[] = {NULL, "", "mobile",
				    "mobile,fixed-line-or-mobile"};
static const char *const ranges[] = {NULL, "+1555,+4475"};

/* A number's shape ("+" and 8 to 15 digits) keeps its first four and last
 * two digits; anything else is masked whole. */
static void check_mask(const char *s)
{
	size_t len = strlen(s);
	bool number = s[0] == '+' && len >= 9 && len <= 16 &&
		      fuzz_all_of(s + 1, len - 1, "0123456789");
	char m[OTP_PHONE_MAX];
	memset(m, 'x', sizeof m);
	otp_phone_mask(s, m);
	size_t n = strnlen(m, sizeof m);
	FUZZ_CHECK(n < sizeof m);
	if (number) {
		FUZZ_CHECK(n == strlen(s));
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(m[i] == (i <= 4 || i >= n - 2 ? s[i] : '*'));
		return;
	}
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(m[i] == '*' || (i == 0 && m[i] == '+'));
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 1)
		return 0;
	struct otp_phone_rules rules = {.default_region = regions[d[0] & 7],
					.types = types[(d[0] >> 3) & 3],
					.ranges_allow =
					    ranges[(d[0] >> 5) & 1]};
	char out[OTP_PHONE_MAX], again[OTP_PHONE_MAX], cc[4];
	enum otp_phone_type type = OTP_PHONE_UNKNOWN;
	memset(out, 'x', sizeof out);
	/* the bytes as they came, not NUL-terminated (a JSON string's) */
	uint8_t *in = malloc(n - 1 ? n - 1 : 1);
	FUZZ_CHECK(in != NULL);
	memcpy(in, d + 1, n - 1);
	int rc = otp_phone_parse(&rules, (const char *)in, n - 1, out, &type);
	free(in);
	if (rc != 0) {
		FUZZ_CHECK(rc == OTP_EPHONE || rc == OTP_ENATIONAL ||
			   rc == OTP_ENUMTYPE);
		FUZZ_CHECK(out[0] == '\0');
		char *s = fuzz_str(d + 1, n - 1);
		check_mask(s);
		free(s);
		return 0;
	}
	size_t len = strnlen(out, sizeof out);
	FUZZ_CHECK(len < sizeof out && len >= 3 && out[0] == '+');
	FUZZ_CHECK(fuzz_all_of(out + 1, len - 1, "0123456789"));
	FUZZ_CHECK(type >= OTP_PHONE_FIXED_LINE && type <= OTP_PHONE_UNKNOWN);
	size_t k = otp_phone_calling_code(out, cc);
	FUZZ_CHECK(k >= 1 && k <= 3 && strlen(cc) == k);
	FUZZ_CHECK(memcmp(out + 1, cc, k) == 0);
	FUZZ_CHECK(otp_phone_parse(&rules, out, len, again, NULL) == 0);
	FUZZ_CHECK(strcmp(again, out) == 0);
	check_mask(out);
	return 0;
}
