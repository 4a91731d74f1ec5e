/* verify.c - the one verify core, and the login API's and the provider
 * API's verifies as thin adapters over it (see core.h, engine.h).
 *
 * core: code format -> expected phone -> the code (the session's pending
 *       one, or the request id) -> one atomic try in the provider, which on
 *       success in the login scope rotates the session in the same step.
 * login adapter:    the outcome as verified / attempts left / expired.
 * provider adapter: the outcome as it is; and a request's status.
 */
#include <string.h>

#include "core/err.h"
#include "core/metrics.h"
#include "core/phone.h"
#include "engine/core.h"

static bool code_format_ok(const char *code, size_t len)
{
	if (!code || len < 4 || len > OTP_CODE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return true;
}

/* The login scope: the session's pending code, and its rotation. */
static int session_scope(struct otp_engine *e, struct otp_store *s,
			 const struct otp_verify_core *in,
			 struct otp_pverify *v, struct otp_session *sess)
{
	if (!otp_engine_token_ok(in->token, in->token_len))
		return OTP_EEXPIRED;
	otp_token_hash(e->keys, in->token, in->token_len, v->old_hash);
	int rc = otp_store_session_get(s, v->old_hash, in->now, sess);
	if (rc == OTP_ENOTFOUND || (rc == 0 && !sess->pending_id[0]))
		return OTP_EEXPIRED;
	if (rc < 0)
		return rc;
	otp_token_new(in->new_token);
	otp_token_hash(e->keys, in->new_token, OTP_TOKEN_LEN, v->new_hash);
	v->rotate = true;
	v->request_id = sess->pending_id;
	v->session_expires_ms = in->now + e->cfg->session_ttl * 1000;
	return 0;
}

static int verify_core(struct otp_engine *e, struct otp_store *s,
		       const struct otp_verify_core *in,
		       struct otp_verify_out *out)
{
	struct otp_pverify v = {.request_id = in->request_id,
				.code = in->code,
				.code_len = in->code_len,
				.now = in->now};
	struct otp_session sess;
	char phone[OTP_PHONE_MAX] = "";
	int rc;

	memset(out, 0, sizeof *out);
	if (!code_format_ok(in->code, in->code_len))
		return OTP_ECODEFMT;
	if (in->phone) {
		rc = otp_phone_normalize(in->phone, in->phone_len, phone);
		if (rc < 0)
			return rc;
	}
	if (in->new_token) {
		rc = session_scope(e, s, in, &v, &sess);
		if (rc < 0)
			return rc;
	}
	v.expect_phone = phone; /* the provider checks it in the same step */
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
			  const char *id, const char *code, size_t code_len,
			  int64_t now, struct otp_verify_out *out)
{
	struct otp_verify_core c = {
	    .code = code, .code_len = code_len, .request_id = id, .now = now};
	return otp_engine_verify_core(e, s, &c, out);
}

int otp_engine_api_status(struct otp_engine *e, struct otp_store *s,
			  const char *id, struct otp_code_info *out)
{
	return otp_provider_status(e->provider, s, id, out);
}
