/* sms.c - picks an SMS driver by the prefix of --sms, once, at open.
 *
 * The table below is the only list of drivers; adding a gateway means adding
 * its ops here and a file next to this one. Delivery policy (retries, backoff,
 * dead letters) is not here: it lives in src/outbox/.
 */
#include "sms/sms.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"

extern const struct otp_sms_ops otp_sms_console_ops;
extern const struct otp_sms_ops otp_sms_file_ops;
extern const struct otp_sms_ops otp_sms_null_ops;

static const struct otp_sms_ops *const drivers[] = {
    &otp_sms_console_ops,
    &otp_sms_file_ops,
    &otp_sms_null_ops,
};

int otp_sms_open(const char *spec, struct otp_sms **out, char *err,
		 size_t errlen)
{
	*out = NULL;
	for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++) {
		size_t n = strlen(drivers[i]->prefix);
		if (strncmp(spec, drivers[i]->prefix, n) == 0)
			return drivers[i]->open(spec + n, out, err, errlen);
	}
	snprintf(err, errlen,
		 "unknown SMS driver \"%.64s\" (want console, file:PATH or "
		 "null)",
		 spec);
	return OTP_ETYPE;
}
