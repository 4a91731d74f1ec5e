/* sms_null.c - accepts every message and drops it, for benchmarks.
 *
 * It measures otpd without a gateway in the way; nothing is delivered, so it
 * is no use for logging in. A message it "sends" is acked like any other.
 */
#include "sms/sms.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"

extern const struct otp_sms_ops otp_sms_null_ops;

static int null_open(const char *arg, const struct otp_sms_env *env,
		     struct otp_sms **out, char *err, size_t errlen)
{
	(void)env;
	if (arg[0] != '\0') {
		snprintf(err, errlen, "null takes no argument");
		return OTP_ETYPE;
	}
	struct otp_sms *d = calloc(1, sizeof *d);
	if (!d)
		abort();
	d->ops = &otp_sms_null_ops;
	*out = d;
	return 0;
}

static enum otp_sms_result null_send(struct otp_sms *d,
				     const struct otp_sms_msg *m, char *err,
				     size_t errlen)
{
	(void)d;
	(void)m;
	(void)err;
	(void)errlen;
	return OTP_SMS_SENT;
}

static void null_close(struct otp_sms *d)
{
	free(d);
}

const struct otp_sms_ops otp_sms_null_ops = {
    .name = "null",
    .prefix = "null",
    .form = "null",
    .check = otp_sms_check_no_arg,
    .version = 2,
    .caps = 0,
    .open = null_open,
    .send = null_send,
    .close = null_close,
};
