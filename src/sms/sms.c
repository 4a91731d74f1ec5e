/* sms.c - picks SMS drivers by the prefix of each --sms entry, once.
 *
 * The table below is the only list of drivers; adding a gateway means adding
 * its ops here and a file next to this one (and its prefix to check_sms in
 * core/config.c, which checks the shape of --sms before anything opens).
 * Delivery policy (retries, backoff, failover, dead letters) is not here: it
 * lives in src/outbox/.
 */
#include "sms/sms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

extern const struct otp_sms_ops otp_sms_console_ops;
extern const struct otp_sms_ops otp_sms_file_ops;
extern const struct otp_sms_ops otp_sms_null_ops;
extern const struct otp_sms_ops otp_sms_kannel_ops;
extern const struct otp_sms_ops otp_sms_twilio_ops;
extern const struct otp_sms_ops otp_sms_webhook_ops;

static const struct otp_sms_ops *const drivers[] = {
    &otp_sms_console_ops, &otp_sms_file_ops,   &otp_sms_null_ops,
    &otp_sms_kannel_ops,  &otp_sms_twilio_ops, &otp_sms_webhook_ops,
};

static const char *sysenv(const char *name)
{
	return getenv(name);
}

static int open_one(const char *spec, const struct otp_sms_env *env,
		    struct otp_sms **out, char *err, size_t errlen)
{
	*out = NULL;
	for (size_t i = 0; i < sizeof drivers / sizeof drivers[0]; i++) {
		size_t n = strlen(drivers[i]->prefix);
		if (strncmp(spec, drivers[i]->prefix, n) == 0)
			return drivers[i]->open(spec + n, env, out, err,
						errlen);
	}
	snprintf(err, errlen,
		 "unknown SMS driver \"%.64s\" (want console, null, file:PATH, "
		 "kannel:URL, twilio:URL or webhook:URL)",
		 spec);
	return OTP_ETYPE;
}

int otp_sms_open(const char *spec, struct otp_sms **out, char *err,
		 size_t errlen)
{
	struct otp_sms_env env = {.from = "", .callback_url = ""};
	env.getenv = sysenv;
	return open_one(spec, &env, out, err, errlen);
}

int otp_sms_set_open(const char *list, const struct otp_sms_env *env,
		     struct otp_sms_set *out, char *err, size_t errlen)
{
	struct otp_sms_env e = *env;
	char spec[2048], why[384];
	int rc = 0;

	if (!e.getenv)
		e.getenv = sysenv;
	if (!e.from)
		e.from = "";
	if (!e.callback_url)
		e.callback_url = "";
	memset(out, 0, sizeof *out);
	for (const char *p = list;;) {
		size_t len = strcspn(p, ",");
		if (out->n == OTP_SMS_DRIVERS_MAX) {
			snprintf(err, errlen, "more than %d SMS drivers",
				 OTP_SMS_DRIVERS_MAX);
			rc = OTP_ETYPE;
			goto fail;
		}
		if (len >= sizeof spec || len == 0) {
			snprintf(err, errlen, "SMS driver #%zu is %s",
				 out->n + 1, len ? "too long" : "empty");
			rc = OTP_ETYPE;
			goto fail;
		}
		memcpy(spec, p, len);
		spec[len] = '\0';
		why[0] = '\0';
		rc = open_one(spec, &e, &out->d[out->n], why, sizeof why);
		if (rc < 0) {
			snprintf(err, errlen, "SMS driver #%zu: %s", out->n + 1,
				 why);
			goto fail;
		}
		out->n++;
		p += len;
		if (*p != ',')
			break;
		p++;
	}
	return 0;
fail:
	otp_sms_set_close(out);
	return rc;
}

void otp_sms_set_close(struct otp_sms_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		otp_sms_close(s->d[i]);
	memset(s, 0, sizeof *s);
}
