/* engine.c - the rules over the provider and the store (see engine.h).
 *
 * send:   phone -> E.164 -> destination policy -> the provider issues a code
 *         with the per-phone limits taken in the same step (a replay under
 *         an idempotency key takes none), bound to the login session or
 *         scoped to the API key.
 * verify: session (or request id) -> one atomic try in the provider.
 * The per-IP and per-key limits are taken by the caller for every request
 * (the handlers' guard): in this process's memory (limiter.c) by default, or
 * in the store with --limit-scope store. The per-phone limits always go to
 * the store, in the same step as the issue.
 */
#include "engine/engine.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/phone.h"

int otp_engine_init(struct otp_engine *e, const struct otp_config *cfg,
		    const unsigned char secret[OTP_SECRET_LEN])
{
	if (otp_crypto_init() < 0)
		return OTP_EINTERNAL;
	memset(e, 0, sizeof *e);
	e->cfg = cfg;
	e->keys = otp_keys_new(secret);
	e->provider = otp_provider_local_new(e);
	if (!cfg->limit_scope || strcmp(cfg->limit_scope, "store") != 0)
		e->limiter = otp_limiter_new(OTP_ENGINE_LIMITER_CELLS);
	return 0;
}

void otp_engine_deinit(struct otp_engine *e)
{
	otp_provider_close(e->provider);
	e->provider = NULL;
	otp_keys_free(e->keys);
	e->keys = NULL;
	otp_limiter_free(e->limiter);
	e->limiter = NULL;
}

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

bool otp_engine_destination_ok(const struct otp_engine *e, const char *e164)
{
	char cc[4];
	if (otp_phone_calling_code(e164, cc) == 0)
		return false;
	if (e->cfg->countries_allow[0] && !in_list(e->cfg->countries_allow, cc))
		return false;
	return !in_list(e->cfg->countries_deny, cc);
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

static int take_one(struct otp_engine *e, struct otp_store *s, const char *kind,
		    const char *v, struct otp_gcra rate, int64_t now,
		    int64_t *retry_after_s)
{
	struct otp_limit l = {.rate = rate};
	int64_t retry_ms = 0;
	int rc;
	if (rate.interval_ms <= 0)
		return 0;
	snprintf(l.key, sizeof l.key, "%s:%s", kind, v);
	if (e->limiter)
		rc = otp_limiter_take(e->limiter, l.key, &rate, now, &retry_ms);
	else
		rc = otp_store_limit_take(s, &l, 1, now, &retry_ms);
	if (rc == OTP_ELIMITED)
		*retry_after_s = otp_gcra_retry_s(retry_ms);
	return rc;
}

int otp_engine_limit_ip(struct otp_engine *e, struct otp_store *s,
			const char *ip, int64_t now, int64_t *retry_after_s)
{
	return take_one(e, s, "ip", ip, per(e->cfg->limit_ip, 60000), now,
			retry_after_s);
}

int otp_engine_limit_key(struct otp_engine *e, struct otp_store *s,
			 const char *key_id, int64_t now,
			 int64_t *retry_after_s)
{
	return take_one(e, s, "key", key_id, per(e->cfg->limit_key, 1000), now,
			retry_after_s);
}

/* The per-phone limits of a send: so many per hour, and the cooldown. */
static void phone_limits(const struct otp_config *cfg, const char *phone,
			 struct otp_limit l[2])
{
	memset(l, 0, 2 * sizeof *l);
	l[0].rate = per(cfg->limit_phone, 3600000);
	l[1].rate = (struct otp_gcra){cfg->resend_cooldown * 1000, 1};
	snprintf(l[0].key, sizeof l[0].key, "ph:%s", phone);
	snprintf(l[1].key, sizeof l[1].key, "cd:%s", phone);
}

static bool token_ok(const char *tok, size_t len)
{
	if (!tok || len != OTP_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = tok[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* Copies the digits of a code as typed ("480 368", "480-368") into `out`;
 * spaces and dashes are dropped, anything else refuses it. Digits only are
 * compared. */
static bool code_digits(const char *code, size_t len,
			char out[OTP_CODE_MAX + 1])
{
	size_t n = 0;

	if (!code || len > 2 * OTP_CODE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (code[i] == ' ' || code[i] == '-')
			continue;
		if (code[i] < '0' || code[i] > '9' || n == OTP_CODE_MAX)
			return false;
		out[n++] = code[i];
	}
	out[n] = '\0';
	return n >= 4;
}

/* Normalises and checks a destination. */
static int destination(struct otp_engine *e, const char *phone, size_t len,
		       char out[OTP_PHONE_MAX])
{
	const struct otp_phone_rules r = {e->cfg->default_region,
					  e->cfg->sms_number_types,
					  e->cfg->phone_ranges_allow};
	int rc = otp_phone_parse(&r, phone, len, out, NULL);
	if (rc < 0)
		return rc;
	return otp_engine_destination_ok(e, out) ? 0 : OTP_EDENIED;
}

int otp_engine_send(struct otp_engine *e, struct otp_store *s,
		    const struct otp_send_in *in, struct otp_send_out *out)
{
	const struct otp_config *cfg = e->cfg;
	struct otp_session_bind bind;
	struct otp_limit lims[2];
	struct otp_psend_out po;
	int rc;

	memset(out, 0, sizeof *out);
	rc = destination(e, in->phone, in->phone_len, out->phone);
	if (rc < 0)
		return rc;
	if (token_ok(in->token, in->token_len)) {
		otp_token_hash(e->keys, in->token, in->token_len, bind.hash);
	} else {
		otp_token_new(out->new_token);
		otp_token_hash(e->keys, out->new_token, OTP_TOKEN_LEN,
			       bind.hash);
	}
	bind.expires_ms = in->now + cfg->code_ttl * 1000;
	phone_limits(cfg, out->phone, lims);
	struct otp_psend ps = {
	    .phone = out->phone,
	    .code_length = (int)cfg->code_length,
	    .ttl_s = cfg->code_ttl,
	    .bind = &bind,
	    .limits = lims,
	    .nlimits = 2,
	    .now = in->now,
	};
	rc = otp_provider_send(e->provider, s, &ps, &po);
	if (rc == OTP_ELIMITED)
		out->retry_after_s = otp_gcra_retry_s(po.retry_ms);
	if (rc < 0)
		return rc;
	snprintf(out->request_id, sizeof out->request_id, "%s", po.request_id);
	out->expires_ms = po.expires_ms;
	out->retry_after_s = cfg->resend_cooldown;
	return 0;
}

int otp_engine_verify(struct otp_engine *e, struct otp_store *s,
		      const struct otp_verify_req *in,
		      struct otp_verify_res *res)
{
	struct otp_pverify v = {.rotate = true, .now = in->now};
	struct otp_verify_out vo;
	struct otp_session sess;
	char phone[OTP_PHONE_MAX] = "";
	char code[OTP_CODE_MAX + 1];
	int rc;

	memset(res, 0, sizeof *res);
	if (!code_digits(in->code, in->code_len, code))
		return OTP_ECODEFMT;
	if (in->phone) {
		/* Same region and ranges as send; the type was checked then. */
		const struct otp_phone_rules r = {e->cfg->default_region, NULL,
						  e->cfg->phone_ranges_allow};
		rc = otp_phone_parse(&r, in->phone, in->phone_len, phone, NULL);
		if (rc < 0)
			return rc;
	}
	if (!token_ok(in->token, in->token_len))
		return OTP_EEXPIRED;
	otp_token_hash(e->keys, in->token, in->token_len, v.old_hash);
	rc = otp_store_session_get(s, v.old_hash, in->now, &sess);
	if (rc == OTP_ENOTFOUND || (rc == 0 && !sess.pending_id[0]))
		return OTP_EEXPIRED;
	if (rc < 0)
		return rc;

	otp_token_new(res->new_token);
	otp_token_hash(e->keys, res->new_token, OTP_TOKEN_LEN, v.new_hash);
	v.request_id = sess.pending_id;
	v.code = code;
	v.code_len = strlen(code);
	v.expect_phone = phone; /* the provider checks it in the same step */
	v.session_expires_ms = in->now + e->cfg->session_ttl * 1000;
	rc = otp_provider_verify(e->provider, s, &v, &vo);
	if (rc < 0)
		return rc;
	switch (vo.result) {
	case OTP_VERIFY_OK:
		res->verified = true;
		memcpy(res->phone, vo.phone, sizeof res->phone);
		return 0;
	case OTP_VERIFY_WRONG:
		res->new_token[0] = '\0';
		res->attempts_left = vo.attempts_left;
		return 0;
	default:
		return OTP_EEXPIRED;
	}
}

int otp_engine_session(struct otp_engine *e, struct otp_store *s,
		       const char *token, size_t token_len, int64_t now,
		       struct otp_session *out)
{
	unsigned char hash[OTP_HASH_LEN];
	if (!token_ok(token, token_len))
		return OTP_EUNAUTH;
	otp_token_hash(e->keys, token, token_len, hash);
	int rc = otp_store_session_get(s, hash, now, out);
	if (rc == OTP_ENOTFOUND || (rc == 0 && out->authenticated_ms == 0))
		return OTP_EUNAUTH;
	return rc;
}

int otp_engine_logout(struct otp_engine *e, struct otp_store *s,
		      const char *token, size_t token_len)
{
	unsigned char hash[OTP_HASH_LEN];
	if (!token_ok(token, token_len))
		return 0;
	otp_token_hash(e->keys, token, token_len, hash);
	return otp_store_session_delete(s, hash);
}

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

int otp_engine_api_send(struct otp_engine *e, struct otp_store *s,
			const struct otp_api_send_in *in,
			struct otp_api_send_out *out)
{
	const struct otp_config *cfg = e->cfg;
	struct otp_limit lims[2];
	struct otp_psend_out po;
	char idem[OTP_IDEM_KEY_MAX];
	int rc;

	memset(out, 0, sizeof *out);
	if (in->idem && in->idem_len > 128)
		return OTP_ETOOLONG;
	rc = destination(e, in->phone, in->phone_len, out->phone);
	if (rc < 0)
		return rc;
	phone_limits(cfg, out->phone, lims);
	struct otp_psend ps = {
	    .phone = out->phone,
	    .code_length =
		(int)(in->code_length ? in->code_length : cfg->code_length),
	    .ttl_s = in->ttl_s ? in->ttl_s : cfg->code_ttl,
	    .limits = lims,
	    .nlimits = 2,
	    .now = in->now,
	};
	if (in->idem && in->idem_len) {
		scoped_idem(in->key_id, in->idem, in->idem_len, idem);
		ps.idem = idem;
	}
	rc = otp_provider_send(e->provider, s, &ps, &po);
	if (rc == OTP_ELIMITED)
		out->retry_after_s = otp_gcra_retry_s(po.retry_ms);
	if (rc < 0)
		return rc;
	snprintf(out->request_id, sizeof out->request_id, "%s", po.request_id);
	out->expires_ms = po.expires_ms;
	out->replayed = po.replayed;
	return 0;
}

int otp_engine_api_verify(struct otp_engine *e, struct otp_store *s,
			  const char *id, const char *code, size_t code_len,
			  int64_t now, struct otp_verify_out *out)
{
	char digits[OTP_CODE_MAX + 1];
	struct otp_pverify v = {
	    .request_id = id, .code = digits, .expect_phone = "", .now = now};
	memset(out, 0, sizeof *out);
	if (!code_digits(code, code_len, digits))
		return OTP_ECODEFMT;
	v.code_len = strlen(digits);
	return otp_provider_verify(e->provider, s, &v, out);
}

int otp_engine_api_status(struct otp_engine *e, struct otp_store *s,
			  const char *id, struct otp_code_info *out)
{
	return otp_provider_status(e->provider, s, id, out);
}

int otp_engine_unseal(void *arg, const struct otp_msg *m, char *text,
		      size_t cap)
{
	struct otp_engine *e = arg;
	return otp_unseal(e->keys, m->body, m->body_len, text, cap);
}
