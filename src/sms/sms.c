/* sms.c - picks SMS drivers by the prefix of each --sms entry, once.
 *
 * The table below is the only list of drivers; adding a gateway means adding
 * its ops here and a file next to this one. Its ops say its prefix, its form
 * for --help and how its arg must look: core/config.c checks --sms through
 * otp_sms_check_list before anything opens, and names no driver.
 * Delivery policy (retries, backoff, failover, dead letters) is not here: it
 * lives in src/outbox/.
 */
#include "sms/sms.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/join.h"

extern const struct otp_sms_ops otp_sms_console_ops;
extern const struct otp_sms_ops otp_sms_file_ops;
extern const struct otp_sms_ops otp_sms_null_ops;
extern const struct otp_sms_ops otp_sms_kannel_ops;
extern const struct otp_sms_ops otp_sms_twilio_ops;
extern const struct otp_sms_ops otp_sms_webhook_ops;

/* In the order --help shows them. */
static const struct otp_sms_ops *const drivers[] = {
    &otp_sms_console_ops, &otp_sms_null_ops,   &otp_sms_file_ops,
    &otp_sms_kannel_ops,  &otp_sms_twilio_ops, &otp_sms_webhook_ops,
};
#define NDRIVERS (sizeof drivers / sizeof drivers[0])

static const char *form_of(size_t i)
{
	return drivers[i]->form;
}

/* "console, null, file:PATH, ...". */
static const char *driver_forms(void)
{
	static char list[256];
	return list[0] ? list
		       : otp_join(list, sizeof list, ", ", NDRIVERS, form_of);
}

const char *otp_sms_forms(void)
{
	static char forms[300];
	if (!forms[0])
		snprintf(forms, sizeof forms, "comma-separated: %s",
			 driver_forms());
	return forms;
}

int otp_sms_check_no_arg(const char *arg, char *err, size_t errlen)
{
	if (!arg[0])
		return 0;
	snprintf(err, errlen, "takes nothing after its name");
	return OTP_ETYPE;
}

int otp_sms_check_arg(const char *arg, char *err, size_t errlen)
{
	if (arg[0])
		return 0;
	snprintf(err, errlen, "needs more after its prefix");
	return OTP_ETYPE;
}

int otp_sms_open_bare(const struct otp_sms_ops *ops, const char *arg,
		      struct otp_sms **out, char *err, size_t errlen)
{
	if (arg[0] != '\0') {
		snprintf(err, errlen, "%s takes no argument", ops->name);
		return OTP_ETYPE;
	}
	struct otp_sms *d = calloc(1, sizeof *d);
	if (!d)
		abort();
	d->ops = ops;
	*out = d;
	return 0;
}

void otp_sms_free_bare(struct otp_sms *d)
{
	free(d);
}

static const struct otp_sms_ops *driver_of(const char *spec, size_t len)
{
	for (size_t i = 0; i < NDRIVERS; i++) {
		size_t n = strlen(drivers[i]->prefix);
		if (len >= n && strncmp(spec, drivers[i]->prefix, n) == 0)
			return drivers[i];
	}
	return NULL;
}

int otp_sms_check_list(const char *list, char *err, size_t errlen)
{
	char arg[2048], why[128] = "";
	int n = 0;
	for (const char *v = list;; v++) {
		size_t len = strcspn(v, ",");
		const struct otp_sms_ops *d = driver_of(v, len);
		size_t plen = d ? strlen(d->prefix) : 0;
		bool ok =
		    d && ++n <= OTP_SMS_DRIVERS_MAX && len - plen < sizeof arg;
		if (ok && d->check) {
			memcpy(arg, v + plen, len - plen);
			arg[len - plen] = '\0';
			ok = d->check(arg, why, sizeof why) == 0;
		}
		if (!ok) {
			char detail[200] = "";
			if (why[0])
				snprintf(detail, sizeof detail, " (%s %s)",
					 d->name, why);
			snprintf(err, errlen,
				 "is not an SMS driver list%s: use %s, "
				 "comma-separated, %d at most",
				 detail, driver_forms(), OTP_SMS_DRIVERS_MAX);
			return OTP_ETYPE;
		}
		v += len;
		if (!*v)
			return 0;
	}
}

static const char *sysenv(const char *name)
{
	return getenv(name);
}

static int open_one(const char *spec, const struct otp_sms_env *env,
		    struct otp_sms **out, char *err, size_t errlen)
{
	const struct otp_sms_ops *d = driver_of(spec, strlen(spec));
	*out = NULL;
	if (d)
		return d->open(spec + strlen(d->prefix), env, out, err, errlen);
	snprintf(err, errlen, "unknown SMS driver \"%.64s\" (want %s)", spec,
		 driver_forms());
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
