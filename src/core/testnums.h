/* testnums.h - test numbers (--test-numbers): phones that log in with a
 * fixed code and are never sent an SMS, for app-store review, CI and
 * monitoring.
 *
 * The setting is "PHONE=CODE[,PHONE=CODE...]" or "@PATH" (a file of the
 * same pairs, by commas or lines; '#' starts a comment). PHONE is E.164
 * ("+" and 8 to 15 digits), CODE 4 to 10 digits. A phone as a client types
 * it matches when it is the same digits after "+", spaces, dashes, dots
 * and parentheses are dropped: before the phone's validation, so a number
 * no carrier owns (a 555-01xx line) can be one.
 */
#ifndef OTP_CORE_TESTNUMS_H
#define OTP_CORE_TESTNUMS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/phone.h"

#define OTP_TESTNUMS_MAX 64
#define OTP_TESTCODE_MAX 11 /* 10 digits and a NUL */

struct otp_testnums {
	size_t n;
	struct {
		char phone[OTP_PHONE_MAX];
		char code[OTP_TESTCODE_MAX];
	} e[OTP_TESTNUMS_MAX];
};

/* Parses spec ("" is none) into t. 0, or -1 with the reason in err. */
int otp_testnums_parse(const char *spec, struct otp_testnums *t, char *err,
		       size_t errlen);

/* The entry the typed phone (len bytes) is, or NULL. */
const char *otp_testnums_find(const struct otp_testnums *t, const char *phone,
			      size_t len, const char **code);

/* Is this E.164 phone a test number? */
bool otp_testnums_has(const struct otp_testnums *t, const char *e164);

/* The masked phones, ", "-separated, into out (for the start-up warning). */
void otp_testnums_masked(const struct otp_testnums *t, char *out, size_t cap);

#endif
