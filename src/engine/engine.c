/* engine.c - the login flows over the store (see engine.h).
 *
 * send:   phone -> E.164 -> destination policy -> per-phone limits -> a code,
 *         its MAC, its sealed message and the session binding, committed in
 *         one store operation -> wake the outbox.
 * verify: session -> its pending code -> one atomic try (compare, count,
 *         consume, rotate the session) in the store.
 * The per-IP limit is taken by the caller for every route (handlers' guard).
 */
#include "engine/engine.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/phone.h"
#include "engine/message.h"

int otp_engine_init(struct otp_engine *e, const struct otp_config *cfg,
		    const unsigned char secret[OTP_SECRET_LEN])
{
	if (otp_crypto_init() < 0)
		return OTP_EINTERNAL;
	memset(e, 0, sizeof *e);
	e->cfg = cfg;
	e->keys = otp_keys_new(secret);
	return 0;
}

void otp_engine_deinit(struct otp_engine *e)
{
	otp_keys_free(e->keys);
	e->keys = NULL;
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

static void limit_key(struct otp_limit *l, const char *kind, const char *v)
{
	snprintf(l->key, sizeof l->key, "%s:%s", kind, v);
}

int otp_engine_limit_ip(struct otp_engine *e, struct otp_store *s,
			const char *ip, int64_t now, int64_t *retry_after_s)
{
	struct otp_limit l = {.rate = per(e->cfg->limit_ip, 60000)};
	int64_t retry_ms = 0;
	if (l.rate.interval_ms <= 0)
		return 0;
	limit_key(&l, "ip", ip);
	int rc = otp_store_limit_take(s, &l, 1, now, &retry_ms);
	if (rc == OTP_ELIMITED)
		*retry_after_s = otp_gcra_retry_s(retry_ms);
	return rc;
}

static int phone_limits(struct otp_engine *e, struct otp_store *s,
			const char *phone, int64_t now, int64_t *retry_after_s)
{
	struct otp_limit l[2] = {
	    {.rate = per(e->cfg->limit_phone, 3600000)},
	    {.rate = {e->cfg->resend_cooldown * 1000, 1}},
	};
	int64_t retry_ms = 0;
	limit_key(&l[0], "ph", phone);
	limit_key(&l[1], "cd", phone);
	int rc = otp_store_limit_take(s, l, 2, now, &retry_ms);
	if (rc == OTP_ELIMITED)
		*retry_after_s = otp_gcra_retry_s(retry_ms);
	return rc;
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

int otp_engine_send(struct otp_engine *e, struct otp_store *s,
		    const struct otp_send_in *in, struct otp_send_out *out)
{
	const struct otp_config *cfg = e->cfg;
	struct otp_session_bind bind;
	/* No idempotency key: only the provider API has those. */
	struct otp_issue iss = {.code.attempts = (int)cfg->code_attempts,
				.bind = &bind};
	struct otp_code_new *code = &iss.code;
	struct otp_issue_out issued;
	char digits[OTP_CODE_MAX + 1];
	char text[OTP_MESSAGE_MAX];
	unsigned char *sealed;
	size_t sealed_len, text_len;
	int rc;

	memset(out, 0, sizeof *out);
	rc = otp_phone_normalize(in->phone, in->phone_len, out->phone);
	if (rc < 0)
		return rc;
	if (!otp_engine_destination_ok(e, out->phone))
		return OTP_EDENIED;
	rc = phone_limits(e, s, out->phone, in->now, &out->retry_after_s);
	if (rc < 0)
		return rc;

	if (token_ok(in->token, in->token_len)) {
		otp_token_hash(e->keys, in->token, in->token_len, bind.hash);
	} else {
		otp_token_new(out->new_token);
		otp_token_hash(e->keys, out->new_token, OTP_TOKEN_LEN,
			       bind.hash);
	}

	memcpy(code->phone, out->phone, sizeof code->phone);
	code->expires_ms = in->now + cfg->code_ttl * 1000;
	bind.expires_ms = code->expires_ms;
	otp_request_id_new(code->id);
	otp_code_generate((int)cfg->code_length, digits);
	otp_code_mac(e->keys, code->id, digits, strlen(digits), code->mac);
	text_len = otp_message_format(
	    &(struct otp_message_cfg){cfg->sms_template, cfg->app_name,
				      cfg->code_ttl, cfg->domain,
				      cfg->android_app_hash},
	    digits, text, sizeof text);
	sodium_memzero(digits, sizeof digits);
	if (text_len == 0)
		return OTP_EINTERNAL;
	otp_seal(e->keys, text, text_len, &sealed, &sealed_len);
	sodium_memzero(text, sizeof text);

	iss.body = sealed;
	iss.body_len = sealed_len;
	rc = otp_store_code_issue(s, &iss, in->now, &issued);
	free(sealed);
	if (rc < 0)
		return rc;
	memcpy(out->request_id, issued.id, sizeof out->request_id);
	out->expires_ms = issued.expires_ms;
	out->retry_after_s = cfg->resend_cooldown;
	if (e->notify)
		e->notify(e->notify_arg);
	return 0;
}

static bool code_format_ok(const char *code, size_t len)
{
	if (len < 4 || len > OTP_CODE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return true;
}

int otp_engine_verify(struct otp_engine *e, struct otp_store *s,
		      const struct otp_verify_req *in,
		      struct otp_verify_res *res)
{
	struct otp_verify_in v = {.rotate = true};
	struct otp_verify_out vo;
	struct otp_session sess;
	char phone[OTP_PHONE_MAX];
	int rc;

	memset(res, 0, sizeof *res);
	if (!code_format_ok(in->code, in->code_len))
		return OTP_ECODEFMT;
	if (in->phone) {
		rc = otp_phone_normalize(in->phone, in->phone_len, phone);
		if (rc < 0)
			return rc;
	}
	if (!token_ok(in->token, in->token_len))
		return OTP_EEXPIRED;
	otp_token_hash(e->keys, in->token, in->token_len, v.old_hash);
	rc = otp_store_session_get(s, v.old_hash, in->now, &sess);
	/* A pending id that is not one of our request ids (an upstream
	 * provider's) is no local code to try. */
	if (rc == OTP_ENOTFOUND ||
	    (rc == 0 && strlen(sess.pending_id) != OTP_ID_LEN))
		return OTP_EEXPIRED;
	if (rc < 0)
		return rc;

	memcpy(v.id, sess.pending_id, sizeof v.id);
	otp_code_mac(e->keys, v.id, in->code, in->code_len, v.mac);
	otp_token_new(res->new_token);
	otp_token_hash(e->keys, res->new_token, OTP_TOKEN_LEN, v.new_hash);
	v.session_expires_ms = in->now + e->cfg->session_ttl * 1000;
	/* The store compares it with the code's own phone, in the same step
	 * that counts the attempt. */
	if (in->phone)
		memcpy(v.expect_phone, phone, sizeof v.expect_phone);
	rc = otp_store_code_verify(s, &v, in->now, &vo);
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

int otp_engine_unseal(void *arg, const struct otp_msg *m, char *text,
		      size_t cap)
{
	struct otp_engine *e = arg;
	return otp_unseal(e->keys, m->body, m->body_len, text, cap);
}
