/* sms_kannel.c - sends through Kannel's sendsms interface (smsbox).
 *
 * --sms kannel:http://USER:PASS@HOST:PORT/cgi-bin/sendsms
 *
 * The user and password of the URL become sendsms's username and password
 * parameters (the URL's own query, such as smsc=..., is kept). Each message
 * is one GET with to, text (charset UTF-8; coding 2 when the text needs
 * UCS-2), from (--sms-from, if set), validity (minutes until the code
 * expires, so the SMSC drops a message nobody can use any more), and, when
 * otpd has a callback URL, dlr-mask 3 with a dlr-url back to
 * GET /hooks/kannel/dlr?id=MESSAGE&token=TOKEN&t=QUEUED&status=%d (t: when
 * the message was queued, ms, for the delivery metric): Kannel puts the
 * report type in %d (1 delivered, 2 undelivered), and the token is a MAC
 * of the message id (see engine/delivery.c), so nobody else can forge one.
 *
 * smsbox answers 202 ("0: Accepted for delivery" / "3: Queued for later
 * delivery") when bearerbox has the message. Kannel knows no idempotency
 * key: a try whose answer was lost (a timeout after the request went out)
 * may be sent twice; the binfo parameter carries the key for the operator.
 */
#include "sms/sms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/err.h"
#include "sms/sms_http.h"

extern const struct otp_sms_ops otp_sms_kannel_ops;

struct kannel {
	struct otp_sms_http_handle h; /* first */
	char *url;		      /* without user and password */
	char *user;		      /* sendsms username */
	char *pass;		      /* sodium_malloc'd */
	char *from;		      /* "" = the gateway's default sender */
	char *callback; /* otpd's base URL, "" = no delivery reports */
};

static char *dup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

static void kannel_close(struct otp_sms *d)
{
	struct kannel *k = (struct kannel *)d;
	free(k->url);
	free(k->user);
	free(k->from);
	free(k->callback);
	otp_sms_http_free(k, k->pass);
}

/* Splits the user and password off the URL. 0 or OTP_ETYPE. */
static int split_url(struct kannel *k, const char *arg, char *err,
		     size_t errlen)
{
	char *user = NULL, *pass = NULL, *url = NULL;
	int rc = OTP_ETYPE;
	const char *why = otp_sms_http_url_check(arg);
	if (why) {
		snprintf(err, errlen, "kannel: the URL %s", why);
		return OTP_ETYPE;
	}
	CURLU *u = curl_url();
	if (!u)
		abort();
	curl_url_set(u, CURLUPART_URL, arg, 0);
	if (curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE) !=
		CURLUE_OK ||
	    !user[0]) {
		snprintf(err, errlen,
			 "kannel: the URL needs the sendsms user and "
			 "password (http://USER:PASS@HOST:PORT/cgi-bin/"
			 "sendsms)");
		goto out;
	}
	curl_url_get(u, CURLUPART_PASSWORD, &pass, CURLU_URLDECODE);
	curl_url_set(u, CURLUPART_USER, NULL, 0);
	curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
	curl_url_get(u, CURLUPART_URL, &url, 0);
	k->user = dup(user);
	size_t n = pass ? strlen(pass) : 0;
	k->pass = sodium_malloc(n + 1);
	if (!k->pass)
		abort();
	memcpy(k->pass, pass ? pass : "", n + 1);
	k->url = dup(url);
	rc = 0;
out:
	if (pass)
		sodium_memzero(pass, strlen(pass));
	curl_free(user);
	curl_free(pass);
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}

static int kannel_open(const char *arg, const struct otp_sms_env *env,
		       struct otp_sms **out, char *err, size_t errlen)
{
	struct kannel *k =
	    otp_sms_http_new(sizeof *k, &otp_sms_kannel_ops, env, err, errlen);
	if (!k)
		return OTP_ETYPE;
	if (split_url(k, arg, err, errlen) < 0) {
		kannel_close(&k->h.base);
		return OTP_ETYPE;
	}
	k->from = dup(env->from);
	k->callback = dup(env->callback_url);
	size_t n = strlen(k->callback);
	while (n > 0 && k->callback[n - 1] == '/')
		k->callback[--n] = '\0';
	*out = &k->h.base;
	return 0;
}

static enum otp_sms_result kannel_send(struct otp_sms *d,
				       const struct otp_sms_msg *m, char *err,
				       size_t errlen)
{
	struct kannel *k = (struct kannel *)d;
	struct otp_sms_buf q = {0}, url = {0};
	char num[32];

	otp_sms_buf_param(&q, "username", k->user);
	otp_sms_buf_param(&q, "password", k->pass);
	otp_sms_buf_param(&q, "to", m->to);
	if (k->from[0])
		otp_sms_buf_param(&q, "from", k->from);
	otp_sms_buf_param(&q, "text", m->body);
	otp_sms_buf_param(&q, "charset", "UTF-8");
	otp_sms_buf_param(&q, "coding", m->ucs2 ? "2" : "0");
	int64_t left = m->expires_ms - m->now_ms;
	snprintf(num, sizeof num, "%lld",
		 (long long)(left > 60000 ? (left + 59999) / 60000 : 1));
	otp_sms_buf_param(&q, "validity", num);
	if (m->idem_key && m->idem_key[0])
		otp_sms_buf_param(&q, "binfo", m->idem_key);
	if (k->callback[0] && m->dlr_token && m->dlr_token[0]) {
		struct otp_sms_buf dlr = {0};
		otp_sms_buf_str(&dlr, k->callback);
		snprintf(num, sizeof num, "%lld", (long long)m->message_id);
		otp_sms_buf_str(&dlr, "/hooks/kannel/dlr?id=");
		otp_sms_buf_str(&dlr, num);
		otp_sms_buf_str(&dlr, "&token=");
		otp_sms_buf_str(&dlr, m->dlr_token);
		if (m->queued_ms > 0) {
			snprintf(num, sizeof num, "%lld",
				 (long long)m->queued_ms);
			otp_sms_buf_str(&dlr, "&t=");
			otp_sms_buf_str(&dlr, num);
		}
		otp_sms_buf_str(&dlr, "&status=%d");
		otp_sms_buf_param(&q, "dlr-mask", "3");
		otp_sms_buf_param(&q, "dlr-url", dlr.p);
		otp_sms_buf_wipe(&dlr);
	}
	otp_sms_buf_str(&url, k->url);
	otp_sms_buf_str(&url, strchr(k->url, '?') ? "&" : "?");
	otp_sms_buf_add(&url, q.p, q.len);
	otp_sms_buf_wipe(&q);

	struct otp_sms_http_req rq = {.url = url.p};
	enum otp_sms_result res =
	    otp_sms_http_do(&k->h.http, "kannel", &rq, m->body, err, errlen);
	otp_sms_buf_wipe(&url);
	return res;
}

OTP_SMS_OPS(kannel, "kannel:", "kannel:URL", otp_sms_check_arg,
	    OTP_SMS_CAP_NETWORK | OTP_SMS_CAP_DLR, kannel_open, kannel_close);
