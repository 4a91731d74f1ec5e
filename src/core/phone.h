/* phone.h - phone numbers to E.164, and masked for logs.
 *
 * Every phone number otpd touches goes through otp_phone_normalize first: the
 * normalised form is what limits are keyed on, what codes are bound to and
 * what sessions carry. Pure functions, no state, thread-safe.
 */
#ifndef OTP_CORE_PHONE_H
#define OTP_CORE_PHONE_H

#include <stddef.h>

/* "+" and at most 15 digits, plus NUL. */
#define OTP_PHONE_MAX 17

/* Normalises `in` (len bytes, need not be NUL-terminated) into E.164:
 * spaces, dashes, dots and parentheses are dropped, a leading "00" is read as
 * "+", the number must then start with "+" and have 8 to 15 digits, and its
 * country calling code must be one the ITU assigned. Letters and anything
 * else are refused. Returns 0, or OTP_EPHONE with `out` set to "". */
int otp_phone_normalize(const char *in, size_t len, char out[OTP_PHONE_MAX]);

/* The country calling code of a normalised number, as digits in `cc`
 * (at most 3 digits + NUL). Returns its length, or 0 if none matches. */
size_t otp_phone_calling_code(const char *e164, char cc[4]);

/* Masks a normalised number for logs: "+14155550100" -> "+1415*****00"
 * (first four digits and last two kept). `out` gets at most OTP_PHONE_MAX. */
void otp_phone_mask(const char *e164, char out[OTP_PHONE_MAX]);

#endif
