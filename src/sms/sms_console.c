/* sms_console.c - the developer's fake phone: prints each message to stderr.
 *
 * Unlike every other part of otpd this driver shows the message body, code
 * included, because reading it off the terminal is its whole point; never
 * configure it in production. Each message is one framed plain-text block
 * written with a single write(2), so it does not interleave with log lines.
 */
#include "sms/sms.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "core/err.h"

extern const struct otp_sms_ops otp_sms_console_ops;

static enum otp_sms_result console_send(struct otp_sms *d,
					const struct otp_sms_msg *m, char *err,
					size_t errlen)
{
	static const char fmt[] = "--- SMS to %s (request %s) ---\n%s\n---\n";
	(void)d;
	int n = snprintf(NULL, 0, fmt, m->to, m->request_id, m->body);
	if (n < 0) {
		snprintf(err, errlen, "console: cannot format");
		return OTP_SMS_FAILED;
	}
	char *buf = malloc((size_t)n + 1);
	if (!buf)
		abort();
	snprintf(buf, (size_t)n + 1, fmt, m->to, m->request_id, m->body);
	ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
	int saved = errno;
	sodium_memzero(buf, (size_t)n);
	free(buf);
	if (w < 0) {
		errno = saved;
		snprintf(err, errlen, "write: %m");
		return OTP_SMS_RETRY;
	}
	/* A short write to a terminal is not retried: the developer has seen
	 * part of it, and a retry would print it twice. */
	return OTP_SMS_SENT;
}

OTP_SMS_BARE_OPS(console);
