/* phone_lpn.h - the C side of the libphonenumber shim (phone_lpn.cc).
 *
 * Only phone.c includes this; the rest of otpd sees core/phone.h. The shim
 * parses and classifies, nothing else: input filtering, the allowed types and
 * the operator's extra ranges are phone.c's.
 */
#ifndef OTP_CORE_PHONE_LPN_H
#define OTP_CORE_PHONE_LPN_H

#ifdef __cplusplus
extern "C" {
#endif

#define OTP_LPN_OK	 0
#define OTP_LPN_BAD	 (-1) /* not a phone number at all */
#define OTP_LPN_NATIONAL (-2) /* no country code and no region to assume */

/* Parses the NUL-terminated `in` with `region` ("" = none, so "+" is
 * needed) into E.164 in `out` (`cap` bytes). `*type` gets libphonenumber's
 * PhoneNumberType (same order as enum otp_phone_type), `*valid` whether the
 * country's numbering plan knows the number, `where` its region as
 * otp_lpn_region names it ("" when the plan names none), from the same
 * parse. Thread-safe. */
int otp_lpn_parse(const char *in, const char *region, char *out, unsigned cap,
		  int *type, int *valid, char where[3]);

/* The ISO region (e.g. "US", "CA" for +1 416...) of a valid E.164 number
 * into out: 0, or -1 when the plan names none. A calling code that only
 * one region uses is answered without parsing. Thread-safe. */
int otp_lpn_region(const char *e164, char out[3]);

/* 1 if libphonenumber knows `region` (e.g. "US"), else 0. */
int otp_lpn_region_ok(const char *region);

#ifdef __cplusplus
}
#endif

#endif
