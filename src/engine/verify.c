/* verify.c - the one verify core, and the login API's and the provider
 * API's verifies as thin adapters over it (see core.h, engine.h).
 *
 * core: code format -> expected phone -> the code (the session's pending
 *       one, or the request id of the API key's own) -> one atomic try in
 *       the provider (another owner's code is not found), which on
 *       success in the login scope rotates the session in the same step.
 *       Where the provider's codes are the store's and the store can
 *       (by_session), the try names the session and the store reads its
 *       pending code in that same step: no session_get before it.
 * login adapter:    the outcome as verified / attempts left / expired.
 * provider adapter: the outcome as it is; and a request's status.
 */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/metrics.h"
#include "core/phone.h"
#include "engine/core.h"
#include "engine/policy.h"

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
	return n >= OTP_CODE_MIN;
}

/* Whether a login's try can name its session: the provider's codes are
 * the store's, and the store reads the session in the try's own step (on
 * SQLite, the writer's connection, whose cache stays warm). */
static bool by_session(const struct otp_engine *e, const struct otp_store *s)
{
	return (e->provider->ops->caps & OTP_PROVIDER_CAP_STORE_CODES) &&
	       (s->ops->caps & OTP_STORE_CAP_VERIFY_SESSION);
}

/* The login scope: the session's pending code, and its rotation. */
static int session_scope(struct otp_engine *e, struct otp_store *s,
			 const struct otp_verify_core *in,
			 struct otp_pverify *v, struct otp_session *sess)
{
	if (!otp_engine_token_ok(in->token, in->token_len))
		return OTP_EEXPIRED;
	if (by_session(e, s)) {
		/* The store finds the session (try_session). */
		otp_token_hash(e->keys, in->token, in->token_len, v->old_hash);
		v->by_session = true;
	} else {
		int rc = otp_engine_session_find(e, s, in->token, in->token_len,
						 in->now, v->old_hash, sess);
		if (rc == OTP_ENOTFOUND || (rc == 0 && !sess->pending_id[0]))
			return OTP_EEXPIRED;
		if (rc < 0)
			return rc;
		v->request_id = sess->pending_id;
	}
	otp_token_new(in->now, in->new_token);
	otp_token_hash(e->keys, in->new_token, OTP_TOKEN_LEN, v->new_hash);
	v->rotate = true;
	v->session_expires_ms = in->now + e->cfg->session_ttl * 1000;
	return 0;
}

/* A try that names its session: as otp_engine_session_find, a token made
 * before a rotation of the secret is found under the previous one's hash;
 * no session, or nothing pending on it, is an expired session. */
static int try_session(struct otp_engine *e, struct otp_store *s,
		       const struct otp_verify_core *in, struct otp_pverify *v,
		       char owner[OTP_OWNER_MAX], struct otp_verify_out *out)
{
	int rc = otp_provider_verify(e->provider, s, v, out);
	if (rc == OTP_ENOTFOUND && e->prev_keys) {
		otp_token_hash(e->prev_keys, in->token, in->token_len,
			       v->old_hash);
		otp_owner_of_session(v->old_hash, owner);
		rc = otp_provider_verify(e->provider, s, v, out);
	}
	return rc == OTP_ENOTFOUND || rc == OTP_EGONE ? OTP_EEXPIRED : rc;
}

static int verify_core(struct otp_engine *e, struct otp_store *s,
		       const struct otp_verify_core *in,
		       struct otp_verify_out *out)
{
	char digits[OTP_CODE_MAX + 1];
	struct otp_pverify v = {
	    .request_id = in->request_id, .code = digits, .now = in->now};
	struct otp_session sess;
	char phone[OTP_PHONE_MAX] = "";
	char owner[OTP_OWNER_MAX] = "";
	int rc;

	memset(out, 0, sizeof *out);
	if (!code_digits(in->code, in->code_len, digits))
		return OTP_ECODEFMT;
	v.code_len = strlen(digits);
	const char *test_code,
	    *test = in->phone ? otp_testnums_find(&e->tests, in->phone,
						  in->phone_len, &test_code)
			      : NULL;
	if (test) {
		snprintf(phone, sizeof phone, "%s", test); /* as sent */
	} else if (in->phone) {
		/* Same region and ranges as send; the type was checked then. */
		rc = otp_policy_phone(e->cfg, in->phone, in->phone_len, false,
				      phone);
		if (rc < 0)
			return rc;
	}
	if (in->new_token) {
		rc = session_scope(e, s, in, &v, &sess);
		if (rc < 0)
			return rc;
		otp_owner_of_session(v.old_hash, owner);
	} else if (in->key_id) {
		otp_owner_of_key(in->key_id, owner);
	}
	/* the provider checks both in the same step */
	v.expect_phone = phone;
	v.expect_owner = owner;
	if (v.by_session)
		return try_session(e, s, in, &v, owner, out);
	return otp_provider_verify(e->provider, s, &v, out);
}

/* Every verification's outcome is counted here, once (core/metrics.h). */
int otp_engine_verify_core(struct otp_engine *e, struct otp_store *s,
			   const struct otp_verify_core *in,
			   struct otp_verify_out *out)
{
	static const enum otp_m_verify outcome[] = {
	    [OTP_VERIFY_OK] = OTP_M_VERIFY_approved,
	    [OTP_VERIFY_WRONG] = OTP_M_VERIFY_wrong_code,
	    [OTP_VERIFY_NOTFOUND] = OTP_M_VERIFY_not_found,
	    [OTP_VERIFY_EXPIRED] = OTP_M_VERIFY_expired,
	    [OTP_VERIFY_USED] = OTP_M_VERIFY_used,
	    [OTP_VERIFY_DEAD] = OTP_M_VERIFY_dead,
	};
	int rc = verify_core(e, s, in, out);
	/* A local code's store credited the abuse signals in the same step;
	 * an upstream's code is credited here (its client IP unknown). */
	if (rc == 0 && out->result == OTP_VERIFY_OK && out->phone[0] == '+' &&
	    strcmp(e->provider->ops->name, "local") != 0)
		(void)otp_abuse_credit(e->abuse, s, out->phone, NULL,
				       in->key_id, in->now);
	otp_metrics_verify(in->new_token ? OTP_M_API_login : OTP_M_API_provider,
			   rc, rc == 0 ? outcome[out->result] : 0);
	return rc;
}

int otp_engine_verify(struct otp_engine *e, struct otp_store *s,
		      const struct otp_verify_req *in,
		      struct otp_verify_res *res)
{
	struct otp_verify_out vo;
	memset(res, 0, sizeof *res);
	struct otp_verify_core c = {.code = in->code,
				    .code_len = in->code_len,
				    .phone = in->phone,
				    .phone_len = in->phone_len,
				    .token = in->token,
				    .token_len = in->token_len,
				    .new_token = res->new_token,
				    .now = in->now};
	int rc = otp_engine_verify_core(e, s, &c, &vo);
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

int otp_engine_api_verify(struct otp_engine *e, struct otp_store *s,
			  const char *key_id, const char *id, const char *code,
			  size_t code_len, int64_t now,
			  struct otp_verify_out *out)
{
	struct otp_verify_core c = {.code = code,
				    .code_len = code_len,
				    .request_id = id,
				    .key_id = key_id,
				    .now = now};
	return otp_engine_verify_core(e, s, &c, out);
}

int otp_engine_api_status(struct otp_engine *e, struct otp_store *s,
			  const char *key_id, const char *id,
			  struct otp_code_info *out)
{
	char owner[OTP_OWNER_MAX];
	int rc = otp_provider_status(e->provider, s, id, out);
	if (rc < 0)
		return rc;
	otp_owner_of_key(key_id, owner);
	if (!otp_owner_ok(out->owner, owner)) {
		memset(out, 0, sizeof *out);
		return OTP_ENOTFOUND; /* another key's, or a login's */
	}
	return 0;
}
