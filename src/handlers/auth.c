/* auth.c - the login API (DESIGN.md 1.1): send-otp, verify-otp, session,
 * logout, check; and the send and verify steps the login page (login.c)
 * shares with them.
 *
 * Translates between HTTP (cookie, JSON) and the engine; the rules are the
 * engine's. The session cookie carries only a random token; what it means
 * lives in the store.
 */
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "core/phone.h"
#include "handlers/app.h"
#include "http/cookie.h"

static const char *session_token(struct otp_req *r, size_t *len)
{
	const char *t = otp_req_cookie(r, otp_app()->cfg->cookie_name, len);
	if (!t)
		*len = 0;
	return t;
}

static void set_cookie(struct otp_req *r, const char *value, long max_age)
{
	const struct otp_config *cfg = otp_app()->cfg;
	struct otp_cookie_attrs a = {
	    .max_age = max_age,
	    .secure = cfg->cookie_secure,
	    .same_site = cfg->cookie_samesite,
	};
	if (otp_cookie_format(r->set_cookie, sizeof r->set_cookie,
			      cfg->cookie_name, value, &a) < 0)
		r->set_cookie[0] = '\0';
}

static void log_phone(struct otp_req *r, const char *e164)
{
	if (e164[0])
		otp_phone_mask(e164, r->log_phone);
}

int otp_login_send(struct otp_req *r, const char *phone, size_t len,
		   const char *pow, size_t pow_len, struct otp_send_out *out)
{
	const struct otp_app *app = otp_app();
	struct otp_send_in in = {
	    .now = r->now, .ip = r->ip, .pow = pow, .pow_len = pow_len};
	struct otp_store *s;
	int rc = otp_app_store(&s);
	if (rc < 0)
		return rc;

	in.phone = phone;
	in.phone_len = len;
	in.token = session_token(r, &in.token_len);
	rc = otp_engine_send(app->engine, s, &in, out);
	log_phone(r, out->phone);
	if (rc == 0)
		otp_app_log_request(r, out->request_id);
	if (otp_err_waits(rc))
		r->retry_after_s = out->retry_after_s;
	/* A session made before an upstream failed keeps its cookie, so that
	 * the client's retry is recognised as the same send; so does one
	 * asked for a proof of work, whose challenge is bound to it. */
	if (out->new_token[0] &&
	    (rc == 0 || rc == OTP_EUPSTREAM || rc == OTP_ESTEPUP))
		set_cookie(r, out->new_token, app->cfg->code_ttl);
	return rc;
}

int otp_h_send_otp(struct otp_req *r)
{
	struct otp_send_out out;
	char at[OTP_ISO8601_LEN];
	size_t len, pow_len;
	const char *phone = otp_json_str(r->in, "phone", &len);
	const char *pow = otp_json_str(r->in, "pow", &pow_len);
	int rc = otp_login_send(r, phone, len, pow, pow_len, &out);
	/* 428: the challenge to solve and send back as "pow" */
	if (rc == OTP_ESTEPUP)
		r->error_extra =
		    json_pack("{s:s, s:i}", "challenge", out.challenge, "bits",
			      (int)otp_app()->cfg->fraud_pow_bits);
	if (rc < 0)
		return rc;
	otp_clock_iso8601(out.expires_ms, at);
	/* Rounded: an upstream's expiry comes in whole seconds. */
	r->out = json_pack("{s:s, s:I, s:I}", "expires_at", at, "expires_in",
			   (json_int_t)((out.expires_ms - r->now + 500) / 1000),
			   "retry_after", (json_int_t)out.retry_after_s);
	return 0;
}

int otp_login_verify(struct otp_req *r, const char *code, size_t code_len,
		     const char *phone, size_t phone_len,
		     struct otp_verify_res *res)
{
	const struct otp_app *app = otp_app();
	struct otp_verify_req in = {.now = r->now,
				    .code = code,
				    .code_len = code_len,
				    .phone = phone,
				    .phone_len = phone_len};
	struct otp_store *s;
	int rc = otp_app_store(&s);
	if (rc < 0)
		return rc;

	in.token = session_token(r, &in.token_len);
	rc = otp_engine_verify(app->engine, s, &in, res);
	if (rc < 0 || !res->verified)
		return rc;
	log_phone(r, res->phone);
	set_cookie(r, res->new_token, app->cfg->session_ttl);
	return 0;
}

int otp_h_verify_otp(struct otp_req *r)
{
	struct otp_verify_res res;
	size_t code_len, phone_len;
	const char *code = otp_json_str(r->in, "code", &code_len);
	const char *phone = otp_json_str(r->in, "phone", &phone_len);
	int rc = otp_login_verify(r, code, code_len, phone, phone_len, &res);
	if (rc < 0)
		return rc;
	if (!res.verified) {
		r->status = 401;
		r->out = json_pack("{s:b, s:i}", "verified", 0,
				   "attempts_remaining", res.attempts_left);
		return 0;
	}
	r->out = json_pack("{s:b, s:s}", "verified", 1, "phone", res.phone);
	return 0;
}

static int authenticated(struct otp_req *r, struct otp_session *sess)
{
	struct otp_store *s;
	size_t len;
	int rc = otp_app_store(&s);
	if (rc < 0)
		return rc;
	const char *tok = session_token(r, &len);
	rc = otp_engine_session(otp_app()->engine, s, tok, len, r->now, sess);
	if (rc == 0)
		log_phone(r, sess->phone);
	return rc;
}

int otp_h_session(struct otp_req *r)
{
	struct otp_session sess;
	char at[OTP_ISO8601_LEN];
	int rc = authenticated(r, &sess);
	if (rc < 0)
		return rc;
	otp_clock_iso8601(sess.authenticated_ms, at);
	r->out = json_pack("{s:s, s:s}", "phone", sess.phone,
			   "authenticated_at", at);
	/* a test number's login says so, for the app to treat it apart */
	if (r->out && otp_testnums_has(&otp_app()->engine->tests, sess.phone))
		json_object_set_new(r->out, "test", json_true());
	return 0;
}

int otp_h_check(struct otp_req *r)
{
	struct otp_session sess;
	int rc = authenticated(r, &sess);
	if (rc < 0)
		return rc;
	memcpy(r->auth_phone, sess.phone, sizeof r->auth_phone);
	r->status = 204;
	return 0;
}

int otp_h_logout(struct otp_req *r)
{
	struct otp_store *s;
	size_t len;
	const char *tok = session_token(r, &len);
	int rc = otp_app_store(&s);
	if (rc == 0)
		rc = otp_engine_logout(otp_app()->engine, s, tok, len);
	if (rc < 0)
		return rc;
	set_cookie(r, "", 0);
	r->status = 204;
	return 0;
}
