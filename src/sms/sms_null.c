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

OTP_SMS_BARE_OPS(null);
