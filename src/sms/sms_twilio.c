/* sms_twilio.c - sends through Twilio's Messages API, or anything shaped
 * like it.
 *
 * --sms twilio:https://api.twilio.com   (the base URL; "twilio:" alone
 *                                        means that one)
 *
 * Each message is POST {base}/2010-04-01/Accounts/{SID}/Messages.json,
 * form-encoded: To, Body, and From, or MessagingServiceSid when --sms-from
 * is a Messaging Service SID ("MG" and 32 hex digits). Basic auth with the
 * account SID and auth token from OTPD_TWILIO_SID and OTPD_TWILIO_TOKEN,
 * which never appear on the command line. The base URL is configurable so
 * that tests point it at a local fake. Twilio answers 201 with the message
 * resource; a 400 (an invalid number, say) is permanent, a 429 or 5xx is
 * not. The idempotency key goes along as an Idempotency-Key header:
 * Twilio's API does not promise to honour it, a proxy in front may.
 */
#include "sms/sms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/err.h"
#include "sms/sms_http.h"

extern const struct otp_sms_ops otp_sms_twilio_ops;

struct twilio {
	struct otp_sms_http_handle h; /* first */
	char *url;		      /* .../Messages.json */
	char *sid;		      /* account SID (the basic-auth user) */
	char *token;		      /* sodium_malloc'd */
	char *from;
	bool service; /* from is a Messaging Service SID */
};

static void twilio_close(struct otp_sms *d)
{
	struct twilio *t = (struct twilio *)d;
	free(t->url);
	free(t->sid);
	free(t->from);
	otp_sms_http_free(t, t->token);
}

static bool is_service_sid(const char *s)
{
	return strlen(s) == 34 && s[0] == 'M' && s[1] == 'G' &&
	       strspn(s + 2, "0123456789abcdefABCDEF") == 32;
}

static int twilio_open(const char *arg, const struct otp_sms_env *env,
		       struct otp_sms **out, char *err, size_t errlen)
{
	const char *base = arg[0] ? arg : "https://api.twilio.com";
	const char *sid = env->getenv("OTPD_TWILIO_SID");
	const char *token = env->getenv("OTPD_TWILIO_TOKEN");
	const char *why = otp_sms_http_url_check(base);

	if (why) {
		snprintf(err, errlen, "twilio: the base URL %s", why);
		return OTP_ETYPE;
	}
	if (!sid || !sid[0] || !token || !token[0]) {
		snprintf(err, errlen,
			 "twilio needs OTPD_TWILIO_SID and OTPD_TWILIO_TOKEN "
			 "in the environment");
		return OTP_ETYPE;
	}
	if (strspn(sid, "0123456789abcdefABCDEFACNMP") != strlen(sid) ||
	    strlen(sid) > 64) {
		snprintf(err, errlen,
			 "twilio: OTPD_TWILIO_SID is not an "
			 "account SID");
		return OTP_ETYPE;
	}
	if (!env->from || !env->from[0]) {
		snprintf(err, errlen,
			 "twilio needs --sms-from: a sender number or a "
			 "Messaging Service SID (MG...)");
		return OTP_ETYPE;
	}
	struct twilio *t =
	    otp_sms_http_new(sizeof *t, &otp_sms_twilio_ops, env, err, errlen);
	if (!t)
		return OTP_ETYPE;
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	size_t n = bl + strlen(sid) + 64;
	t->url = malloc(n);
	t->sid = strdup(sid);
	t->from = strdup(env->from);
	t->token = sodium_malloc(strlen(token) + 1);
	if (!t->url || !t->sid || !t->from || !t->token)
		abort();
	snprintf(t->url, n, "%.*s/2010-04-01/Accounts/%s/Messages.json",
		 (int)bl, base, sid);
	memcpy(t->token, token, strlen(token) + 1);
	t->service = is_service_sid(t->from);
	*out = &t->h.base;
	return 0;
}

static enum otp_sms_result twilio_send(struct otp_sms *d,
				       const struct otp_sms_msg *m, char *err,
				       size_t errlen)
{
	struct twilio *t = (struct twilio *)d;
	struct otp_sms_buf form = {0};
	struct curl_slist *h = NULL;
	char idem[160];

	otp_sms_buf_param(&form, "To", m->to);
	otp_sms_buf_param(&form, t->service ? "MessagingServiceSid" : "From",
			  t->from);
	otp_sms_buf_param(&form, "Body", m->body);
	h = curl_slist_append(h, "Content-Type: "
				 "application/x-www-form-urlencoded");
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Expect:");
	if (m->idem_key && m->idem_key[0]) {
		snprintf(idem, sizeof idem, "Idempotency-Key: %s", m->idem_key);
		h = curl_slist_append(h, idem);
	}
	if (!h)
		abort();
	struct otp_sms_http_req rq = {
	    .url = t->url,
	    .body = form.p,
	    .body_len = form.len,
	    .headers = h,
	    .user = t->sid,
	    .pass = t->token,
	};
	enum otp_sms_result res =
	    otp_sms_http_do(&t->h.http, "twilio", &rq, m->body, err, errlen);
	curl_slist_free_all(h);
	otp_sms_buf_wipe(&form);
	return res;
}

OTP_SMS_OPS(twilio, "twilio:", "twilio:[URL]", NULL,
	    OTP_SMS_CAP_NETWORK | OTP_SMS_CAP_IDEM, twilio_open, twilio_close);
