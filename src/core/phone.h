/* phone.h - phone numbers to E.164, and masked for logs.
 *
 * Every phone number otpd touches goes through otp_phone_normalize first: the
 * normalised form is what limits are keyed on, what codes are bound to and
 * what sessions carry. Parsing goes through libphonenumber (phone_lpn.cc);
 * no state here, thread-safe.
 */
#ifndef OTP_CORE_PHONE_H
#define OTP_CORE_PHONE_H

#include <stddef.h>

/* "+" and at most 15 digits, plus NUL. */
#define OTP_PHONE_MAX 17

/* Number types, in libphonenumber's order (PhoneNumberType). */
enum otp_phone_type {
	OTP_PHONE_FIXED_LINE,
	OTP_PHONE_MOBILE,
	OTP_PHONE_FIXED_LINE_OR_MOBILE,
	OTP_PHONE_TOLL_FREE,
	OTP_PHONE_PREMIUM_RATE,
	OTP_PHONE_SHARED_COST,
	OTP_PHONE_VOIP,
	OTP_PHONE_PERSONAL,
	OTP_PHONE_PAGER,
	OTP_PHONE_UAN,
	OTP_PHONE_VOICEMAIL,
	OTP_PHONE_UNKNOWN,
};

/* What the operator set: all three strings are read, never kept, and each
 * may be NULL or "" (no default region / any valid type / no extra ranges). */
struct otp_phone_rules {
	const char *default_region; /* "US", "GB", ... for national input */
	const char *types;	    /* "mobile,fixed-line-or-mobile" */
	const char *ranges_allow;   /* E.164 prefixes "+4475,+1555" */
};

/* Parses `in` (len bytes, need not be NUL-terminated) with libphonenumber
 * into E.164 in `out`. Digits, spaces, '-', '.', '(', ')' and one leading
 * "+" are allowed, a leading "00" is read as "+". National input needs
 * rules->default_region (else OTP_ENATIONAL). The number must be valid in
 * its country's numbering plan or start with a prefix of ranges_allow (then
 * it counts as mobile), else OTP_EPHONE; its type must be in rules->types,
 * else OTP_ENUMTYPE. `type` may be NULL. Returns 0, or <0 with `out` "". */
int otp_phone_parse(const struct otp_phone_rules *rules, const char *in,
		    size_t len, char out[OTP_PHONE_MAX],
		    enum otp_phone_type *type);

/* otp_phone_parse with no rules: international input, any valid type. */
int otp_phone_normalize(const char *in, size_t len, char out[OTP_PHONE_MAX]);

/* NULL if `v` is a comma-separated list of type names (see
 * otp_phone_type_name), else why not. */
const char *otp_phone_check_types(const char *v);

/* NULL if `v` is "" or a region libphonenumber knows, else why not. */
const char *otp_phone_check_region(const char *v);

/* NULL if `v` is "" or comma-separated "+"digits prefixes, else why not. */
const char *otp_phone_check_ranges(const char *v);

/* "mobile", "fixed-line", ... as --sms-number-types spells them. */
const char *otp_phone_type_name(enum otp_phone_type t);

/* The country calling code of a normalised number, as digits in `cc`
 * (at most 3 digits + NUL). Returns its length, or 0 if none matches. */
size_t otp_phone_calling_code(const char *e164, char cc[4]);

/* The ISO region of a normalised number ("US", "JM" for +1 876 ...) into
 * out; "ZZ" when the numbering plan names none. */
void otp_phone_region(const char *e164, char out[3]);

/* Masks a normalised number for logs: "+14155550100" -> "+1415*****00"
 * (first four digits and last two kept). `out` gets at most OTP_PHONE_MAX. */
void otp_phone_mask(const char *e164, char out[OTP_PHONE_MAX]);

#endif
