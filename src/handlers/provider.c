/* provider.c - the provider API (DESIGN.md 1.2): StartMessaging-compatible
 * POST /otp/send, POST /otp/verify and GET /otp/{requestId}, so that code
 * written against that service works against otpd by changing its base URL.
 *
 * Answers are wrapped in {"success": true, "statusCode": 200, "data": ...};
 * errors get the same envelope (errors.c, the routes' render_error). The API
 * key was checked by the auth hook (app.c) before these run; the rules are
 * the engine's, the same as the login API's.
 */
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "handlers/app.h"

static json_t *envelope(json_t *data)
{
	return json_pack("{s:b, s:i, s:o}", "success", 1, "statusCode", 200,
			 "data", data);
}

/* An optional integer field within [lo, hi]: 0 and *v set (0 if absent),
 * or OTP_EVALUE naming the field. */
static int int_field(struct otp_req *r, const char *name, long lo, long hi,
		     long *v)
{
	json_t *j = json_object_get(r->in, name);
	*v = 0;
	if (!j)
		return 0;
	json_int_t n = json_integer_value(j);
	if (n < lo || n > hi) {
		r->log_field = name;
		return OTP_EVALUE;
	}
	*v = (long)n;
	return 0;
}

int otp_h_otp_send(struct otp_req *r)
{
	struct otp_api_send_in in = {
	    .now = r->now, .key_id = r->log_key, .ip = r->ip};
	struct otp_api_send_out out;
	struct otp_store *s;
	char at[OTP_ISO8601_LEN];
	int rc = otp_app_store(&s);
	if (rc == 0)
		rc = int_field(r, "otpLength", 4, 10, &in.code_length);
	if (rc == 0)
		rc = int_field(r, "expirySeconds", 60, 600, &in.ttl_s);
	if (rc < 0)
		return rc;
	in.phone = otp_json_str(r->in, "phoneNumber", &in.phone_len);
	in.idem = otp_json_str(r->in, "idempotencyKey", &in.idem_len);
	rc = otp_engine_api_send(otp_app()->engine, s, &in, &out);
	if (out.phone[0])
		otp_phone_mask(out.phone, r->log_phone);
	if (otp_err_waits(rc))
		r->retry_after_s = out.retry_after_s;
	if (rc < 0)
		return rc;
	otp_app_log_request(r, out.request_id);
	otp_clock_iso8601(out.expires_ms, at);
	r->out = envelope(json_pack("{s:s, s:s}", "requestId", out.request_id,
				    "expiresAt", at));
	return 0;
}

int otp_h_otp_verify(struct otp_req *r)
{
	struct otp_verify_out out;
	struct otp_store *s;
	size_t id_len, code_len;
	int rc = otp_app_store(&s);
	if (rc < 0)
		return rc;
	const char *id = otp_json_str(r->in, "requestId", &id_len);
	const char *code = otp_json_str(r->in, "otpCode", &code_len);
	otp_app_log_request(r, id);
	rc = otp_engine_api_verify(otp_app()->engine, s, r->log_key, id, code,
				   code_len, r->now, &out);
	if (rc < 0)
		return rc;
	if (out.phone[0])
		otp_phone_mask(out.phone, r->log_phone);
	switch (out.result) {
	case OTP_VERIFY_OK:
		r->out = envelope(json_pack("{s:b}", "verified", 1));
		return 0;
	case OTP_VERIFY_WRONG:
		r->out =
		    envelope(json_pack("{s:b, s:i}", "verified", 0,
				       "attemptsRemaining", out.attempts_left));
		return 0;
	case OTP_VERIFY_NOTFOUND:
		return OTP_ENOTFOUND;
	default:
		return OTP_EGONE;
	}
}

static const char *code_status(const struct otp_code_info *c, int64_t now)
{
	switch (c->state) {
	case OTP_CODE_PENDING:
		return now < c->expires_ms ? "pending" : "expired";
	case OTP_CODE_USED:
		return "approved";
	default:
		return "failed";
	}
}

static const char *delivery(enum otp_msg_state m)
{
	static const char *const names[] = {
	    [OTP_MSG_QUEUED] = "queued",
	    [OTP_MSG_SENDING] = "queued",
	    [OTP_MSG_SENT] = "sent",
	    [OTP_MSG_DELIVERED] = "delivered",
	    [OTP_MSG_UNDELIVERED] = "undelivered",
	    [OTP_MSG_FAILED] = "failed",
	    [OTP_MSG_EXPIRED] = "expired",
	};
	return (unsigned)m < sizeof names / sizeof names[0] && names[m]
		   ? names[m]
		   : "queued";
}

int otp_h_otp_status(struct otp_req *r)
{
	struct otp_code_info c;
	struct otp_store *s;
	char at[OTP_ISO8601_LEN];
	int rc = otp_app_store(&s);
	if (rc < 0)
		return rc;
	otp_app_log_request(r, r->param);
	rc = otp_engine_api_status(otp_app()->engine, s, r->log_key, r->param,
				   &c);
	if (rc < 0)
		return rc;
	otp_clock_iso8601(c.expires_ms, at);
	bool live = c.state == OTP_CODE_PENDING && r->now < c.expires_ms;
	r->out = envelope(json_pack(
	    "{s:s, s:s, s:s, s:s, s:i}", "requestId", r->param, "status",
	    code_status(&c, r->now), "delivery", delivery(c.msg_state),
	    "expiresAt", at, "attemptsRemaining", live ? c.attempts_left : 0));
	return 0;
}
