/* secret.h - the server secret: where it comes from and where it is kept.
 *
 * In order: the OTPD_SECRET value (64 hex digits, or any passphrase of at
 * least 32 bytes, hashed), the file --secret-file names (32 raw bytes or 64
 * hex digits), or else a file of 32 random bytes next to the database,
 * created 0600 on first start and reused after, so that a restart keeps
 * pending codes and sessions valid. The secret lands in sodium_malloc'd
 * memory; the caller wipes it with otp_secret_free once keys are derived.
 */
#ifndef OTP_CORE_SECRET_H
#define OTP_CORE_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define OTP_SECRET_BYTES 32

/* value: OTPD_SECRET or NULL; file: --secret-file or ""; fallback: the
 * default file path (used when both are empty; made 0600 if it was not),
 * or NULL for none: then *secret is NULL when neither is given (the previous
 * secret of a rotation is optional). *created tells whether the fallback
 * file was just made. Returns 0, or OTP_ETYPE with a reason in err. */
int otp_secret_load(const char *value, const char *file, const char *fallback,
		    unsigned char **secret, bool *created, char *err,
		    size_t errlen);
void otp_secret_free(unsigned char *secret);

#endif
