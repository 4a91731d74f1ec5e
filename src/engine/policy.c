/* policy.c - the rules on whom a code may be sent to and how often (see
 * policy.h): countries-allow/deny, the per-phone hourly budgets (split by
 * session or key, and by client IP, under a ceiling per phone) and resend
 * cooldown, each with its own error, the per-IP and per-key request limits, and
 * the abuse hook.
 *
 * The per-IP and per-key limits go to this process's memory (limiter.c) by
 * default, or to the store with --limit-scope store; the per-phone limits
 * always go to the store, taken by the provider in the same step as the
 * issue. Not here: sending (send.c), the limiter itself (limiter.c).
 */
#include "engine/policy.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/metrics.h"
#include "core/phone.h"
#include "engine/engine.h"

static bool in_list(const char *list, const char *cc)
{
	size_t n = strlen(cc);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && memcmp(p, cc, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/* Is this normalised number's country allowed by countries-allow/deny? */
static bool destination_ok(const struct otp_config *cfg, const char *e164)
{
	char cc[4];
	if (otp_phone_calling_code(e164, cc) == 0)
		return false;
	if (cfg->countries_allow[0] && !in_list(cfg->countries_allow, cc))
		return false;
	return !in_list(cfg->countries_deny, cc);
}

/* n events per `per_ms`, all at once at most n: GCRA in whole ms. */
static struct otp_gcra per(long n, int64_t per_ms)
{
	struct otp_gcra g = {0, 1};
	if (n <= 0)
		return g;
	g.interval_ms = per_ms / n > 0 ? per_ms / n : 1;
	g.burst = n;
	return g;
}

/* The ceiling's limit, from the phone's tag (the send has it already). */
static void ceiling(const struct otp_config *cfg, const char *ph,
		    struct otp_limit *out)
{
	out->rate = per(cfg->limit_phone * OTP_POLICY_PHONE_CEILING, 3600000);
	snprintf(out->key, sizeof out->key, "ph:%s", ph);
}

int otp_policy_phone(const struct otp_config *cfg, const char *phone,
		     size_t len, bool types, char out[OTP_PHONE_MAX])
{
	const struct otp_phone_rules r = {cfg->default_region,
					  types ? cfg->sms_number_types : NULL,
					  cfg->phone_ranges_allow};
	return otp_phone_parse(&r, phone, len, out, NULL);
}

int otp_policy_abuse_check(const struct otp_engine *e, struct otp_store *s,
			   const struct otp_send_core *in,
			   const char *phone_tag, struct otp_abuse_out *ab,
			   int64_t *retry_after_s)
{
	const struct otp_abuse_send as = {
	    .phone = in->ps.phone,
	    .phone_tag = phone_tag,
	    .ip = in->ip,
	    .key_id = in->key_id,
	    .segments = 1, /* message.c: a text fits one segment */
	    .now = in->ps.now,
	    .pow_ok = in->pow_ok,
	};
	int rc = otp_abuse_check(e->abuse, s, &as, ab);
	if (rc == OTP_EFRAUD || rc == OTP_ESPEND)
		*retry_after_s = ab->retry_after_s;
	return rc;
}

int otp_policy_send(const struct otp_engine *e, struct otp_store *s,
		    const struct otp_send_core *in,
		    struct otp_limit lims[OTP_POLICY_PHONE_LIMITS],
		    struct otp_abuse_out *ab, int64_t *retry_after_s)
{
	const struct otp_config *cfg = e->cfg;
	const char *ip = in->ip ? in->ip : "-";
	const char *who = in->ps.owner; /* "k:<key id>" or "s:<hex>" */
	if (!destination_ok(cfg, in->ps.phone))
		return OTP_EDENIED;
	/* The keys name the phone by its keyed hash: never needed back. */
	char ph[OTP_PHONE_TAG_LEN + 1];
	otp_phone_tag(e->keys, in->ps.phone, ph);
	int rc = otp_policy_abuse_check(e, s, in, ph, ab, retry_after_s);
	if (rc < 0)
		return rc;
	memset(lims, 0, OTP_POLICY_PHONE_LIMITS * sizeof *lims);
	struct otp_limit *cd = &lims[OTP_PL_COOLDOWN];
	cd->rate = (struct otp_gcra){cfg->resend_cooldown * 1000, 1};
	if (in->key_id)
		snprintf(cd->key, sizeof cd->key, "cd:%s:%s", ph, who);
	else
		snprintf(cd->key, sizeof cd->key, "cd:%s:%s", ph, ip);
	lims[OTP_PL_SCOPE].rate = per(cfg->limit_phone, 3600000);
	snprintf(lims[OTP_PL_SCOPE].key, sizeof lims[OTP_PL_SCOPE].key,
		 "ps:%s:%s", ph, who);
	if (!in->key_id) { /* an app server is one address for all its users */
		lims[OTP_PL_IP].rate = per(cfg->limit_phone, 3600000);
		snprintf(lims[OTP_PL_IP].key, sizeof lims[OTP_PL_IP].key,
			 "pi:%s:%s", ph, ip);
	}
	ceiling(cfg, ph, &lims[OTP_PL_PHONE]);
	return 0;
}

void otp_policy_phone_ceiling(const struct otp_config *cfg,
			      const struct otp_keys *k, const char *e164,
			      struct otp_limit *out)
{
	char ph[OTP_PHONE_TAG_LEN + 1];
	otp_phone_tag(k, e164, ph);
	ceiling(cfg, ph, out);
}

int otp_policy_limit_err(const struct otp_send_core *in, int which)
{
	switch (which) {
	case OTP_PL_COOLDOWN:
		return OTP_ECOOLDOWN;
	case OTP_PL_SCOPE:
		return in->key_id ? OTP_EPHONEKEY : OTP_EPHONESESS;
	case OTP_PL_IP:
		return OTP_EPHONEIP;
	case OTP_PL_PHONE:
		return OTP_EPHONELIM;
	default:
		return OTP_ELIMITED;
	}
}

/* One request's token of a per-IP or per-key limit; refused: `err`. */
static int take_one(struct otp_engine *e, struct otp_store *s,
		    enum otp_m_limit which, const char *v, struct otp_gcra rate,
		    int64_t now, int64_t *retry_after_s, int err)
{
	struct otp_limit l = {.rate = rate};
	int64_t retry_ms = 0;
	int rc;
	if (rate.interval_ms <= 0)
		return 0;
	snprintf(l.key, sizeof l.key, "%s:%s",
		 which == OTP_M_LIMIT_ip ? "ip" : "key", v);
	if (e->limiter)
		rc = otp_limiter_take(e->limiter, l.key, &rate, now, &retry_ms);
	else
		rc = otp_store_limit_take(s, &l, 1, now, &retry_ms);
	if (rc == OTP_ELIMITED) {
		*retry_after_s = otp_gcra_retry_s(retry_ms);
		otp_metrics_limited(which);
		return err;
	}
	return rc;
}

int otp_engine_limit_ip(struct otp_engine *e, struct otp_store *s,
			const char *ip, int64_t now, int64_t *retry_after_s)
{
	return take_one(e, s, OTP_M_LIMIT_ip, ip, per(e->cfg->limit_ip, 60000),
			now, retry_after_s, OTP_EIPLIM);
}

int otp_engine_limit_key(struct otp_engine *e, struct otp_store *s,
			 const char *key_id, int64_t now,
			 int64_t *retry_after_s)
{
	return take_one(e, s, OTP_M_LIMIT_key, key_id,
			per(e->cfg->limit_key, 1000), now, retry_after_s,
			OTP_EKEYLIM);
}
