/* send.c - the one send core, and the login API's and the provider API's
 * sends as thin adapters over it (see core.h, engine.h).
 *
 * core: normalised phone -> policy (policy.c: destination, abuse hook, the
 *       per-phone limits) -> the provider issues a code with those limits
 *       taken in the same step (a replay under an idempotency key takes
 *       none), bound to the login session or scoped to the API key, and
 *       owned by it (a send retires only its own owner's codes).
 * login adapter:    phone and cookie -> the session binding (a new session
 *                   when the cookie names none); the proof of work the send
 *                   came with, and a new challenge when the rules want one
 *                   (OTP_ESTEPUP, abuse/pow.h).
 * provider adapter: phone, idempotency key, length and TTL of the API.
 * Not here: the per-IP and per-key limits (the handlers' guard, policy.c).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/phone.h"
#include "abuse/pow.h"
#include "engine/core.h"
#include "engine/policy.h"

_Static_assert(sizeof((struct otp_send_out *)0)->challenge == OTP_POW_MAX,
	       "engine.h's challenge holds a pow.h challenge");

/* "k:<key id>:<hash of the client's key>": keys of two API keys never
 * meet, and the client's text is never stored. */
static void scoped_idem(const char *key_id, const char *idem, size_t len,
			char out[OTP_IDEM_KEY_MAX])
{
	unsigned char h[16];
	char hex[33];
	crypto_generichash(h, sizeof h, (const unsigned char *)idem, len, NULL,
			   0);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	snprintf(out, OTP_IDEM_KEY_MAX, "k:%s:%s", key_id, hex);
}

static int send_core(struct otp_engine *e, struct otp_store *s,
		     const struct otp_send_core *in,
		     const struct otp_send_answer *a, bool *replayed)
{
	struct otp_limit lims[OTP_POLICY_PHONE_LIMITS];
	struct otp_abuse_out ab = {.nadds = 0};
	struct otp_psend_out po;
	char idem[OTP_IDEM_KEY_MAX];
	char owner[OTP_OWNER_MAX];
	struct otp_send_core c = *in;
	int rc;

	if (in->key_id)
		otp_owner_of_key(in->key_id, owner);
	else
		otp_owner_of_session(in->ps.bind->hash, owner);
	c.ps.owner = owner;
	rc = in->test ? 0
		      : otp_policy_send(e, s, &c, lims, &ab, a->retry_after_s);
	if (rc < 0)
		return rc;
	struct otp_psend ps = c.ps;
	ps.limits = lims;
	ps.nlimits = in->test ? 0 : OTP_POLICY_PHONE_LIMITS;
	ps.idem = NULL;
	ps.signals = ab.adds;
	ps.nsignals = ab.nadds;
	ps.credit = ab.credit;
	if (in->key_id && in->idem && in->idem_len) {
		scoped_idem(in->key_id, in->idem, in->idem_len, idem);
		ps.idem = idem;
	}
	rc = otp_provider_send(e->provider, s, &ps, &po);
	if (rc == OTP_ELIMITED) {
		*a->retry_after_s = otp_gcra_retry_s(po.retry_ms);
		rc = otp_policy_limit_err(in, po.limit);
	}
	if (rc < 0)
		return rc;
	snprintf(a->request_id, OTP_PENDING_MAX, "%s", po.request_id);
	*a->expires_ms = po.expires_ms;
	*a->retry_after_s = e->cfg->resend_cooldown;
	if (a->replayed)
		*a->replayed = po.replayed;
	*replayed = po.replayed;
	return 0;
}

/* Every send's outcome is counted here, once (core/metrics.h). */
int otp_engine_send_core(struct otp_engine *e, struct otp_store *s,
			 const struct otp_send_core *in,
			 const struct otp_send_answer *a)
{
	bool replayed = false;
	int rc = send_core(e, s, in, a, &replayed);
	otp_metrics_send(in->key_id ? OTP_M_API_provider : OTP_M_API_login, rc,
			 replayed, in->test);
	if (in->test && rc == 0) {
		char masked[OTP_PHONE_MAX];
		otp_phone_mask(in->ps.phone, masked);
		otp_log(OTP_LOG_INFO, "test number: code issued, no SMS", "to",
			masked, "api", in->key_id ? "provider" : "login", NULL);
	}
	return rc;
}

/* The phone as typed: a test number (before any validation, so that a
 * number no carrier owns can be one) sets c's test fields; else the
 * policy's parse. The E.164 phone into out. */
static int phone_of(struct otp_engine *e, const char *phone, size_t len,
		    struct otp_send_core *c, char out[OTP_PHONE_MAX])
{
	const char *code;
	const char *t = otp_testnums_find(&e->tests, phone, len, &code);
	if (!t)
		return otp_policy_phone(e->cfg, phone, len, true, out);
	snprintf(out, OTP_PHONE_MAX, "%s", t);
	c->test = true;
	c->ps.fixed_code = code;
	return 0;
}

/* Is the proof of work a login send came with good for this session and
 * phone (used up now if it is)? Asked before the rules, which decide
 * whether one was wanted: a bad one counts as none. 0 or a store error. */
static int pow_of(struct otp_engine *e, struct otp_store *s,
		  const struct otp_send_in *in,
		  const unsigned char session[OTP_HASH_LEN], const char *phone,
		  bool *ok)
{
	*ok = false;
	if (!in->pow)
		return 0;
	int rc = otp_pow_check(e->keys, s, session, phone, in->pow, in->pow_len,
			       in->now);
	*ok = rc == 0;
	return rc == OTP_ESTEPUP ? 0 : rc;
}

int otp_engine_send(struct otp_engine *e, struct otp_store *s,
		    const struct otp_send_in *in, struct otp_send_out *out)
{
	const struct otp_config *cfg = e->cfg;
	struct otp_session_bind bind;

	memset(out, 0, sizeof *out);
	struct otp_send_core c = {.ip = in->ip};
	int rc = phone_of(e, in->phone, in->phone_len, &c, out->phone);
	if (rc < 0)
		return rc;
	if (otp_engine_token_ok(in->token, in->token_len)) {
		otp_token_hash(e->keys, in->token, in->token_len, bind.hash);
	} else {
		otp_token_new(in->now, out->new_token);
		otp_token_hash(e->keys, out->new_token, OTP_TOKEN_LEN,
			       bind.hash);
	}
	bind.expires_ms = in->now + cfg->code_ttl * 1000;
	c.ps.phone = out->phone;
	c.ps.bind = &bind;
	c.ps.code_length = (int)cfg->code_length;
	c.ps.ttl_s = cfg->code_ttl;
	c.ps.now = in->now;
	struct otp_send_answer a = {out->request_id, &out->expires_ms,
				    &out->retry_after_s, NULL};
	rc = c.test ? 0 : pow_of(e, s, in, bind.hash, out->phone, &c.pow_ok);
	if (rc < 0)
		return rc;
	rc = otp_engine_send_core(e, s, &c, &a);
	/* bound to the session the answer's cookie names, and the phone */
	if (rc == OTP_ESTEPUP)
		otp_pow_challenge(e->keys, bind.hash, out->phone,
				  (int)cfg->fraud_pow_bits, in->now,
				  out->challenge);
	return rc;
}

int otp_engine_api_send(struct otp_engine *e, struct otp_store *s,
			const struct otp_api_send_in *in,
			struct otp_api_send_out *out)
{
	const struct otp_config *cfg = e->cfg;

	memset(out, 0, sizeof *out);
	if (in->idem && in->idem_len > 128)
		return OTP_ETOOLONG;
	struct otp_send_core c = {.key_id = in->key_id,
				  .idem = in->idem,
				  .idem_len = in->idem_len,
				  .ip = in->ip};
	int rc = phone_of(e, in->phone, in->phone_len, &c, out->phone);
	if (rc < 0)
		return rc;
	c.ps.phone = out->phone;
	c.ps.code_length =
	    (int)(in->code_length ? in->code_length : cfg->code_length);
	c.ps.ttl_s = in->ttl_s ? in->ttl_s : cfg->code_ttl;
	c.ps.now = in->now;
	struct otp_send_answer a = {out->request_id, &out->expires_ms,
				    &out->retry_after_s, &out->replayed};
	return otp_engine_send_core(e, s, &c, &a);
}
