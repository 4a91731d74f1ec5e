/* sms_webhook.c - hands each message to the operator's own HTTP endpoint.
 *
 * --sms webhook:https://sms.internal.example/send
 *
 * Each message is one POST of application/json:
 *   {"to", "body", "request_id", "message_id", "expires_at"}
 * (expires_at in ISO-8601 UTC) with these headers:
 *   Idempotency-Key:  the same for every try of the message; a receiver
 *                     that saw it already answers 2xx and sends nothing
 *   X-Otpd-Timestamp: Unix seconds when this try was made
 *   X-Otpd-Signature: sha256=HEX, HMAC-SHA256 over "TIMESTAMP.BODY" keyed
 *                     with OTPD_WEBHOOK_SECRET (16 bytes at least), so the
 *                     receiver can refuse forgeries and stale replays
 * 2xx is sent; 408, 429, 5xx and no answer are retried; other 4xx are
 * permanent. The secret lives in sodium_malloc'd memory.
 */
#include "sms/sms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/err.h"
#include "sms/sms_http.h"

extern const struct otp_sms_ops otp_sms_webhook_ops;

#define SECRET_MIN 16

struct webhook {
	struct otp_sms_http_handle h; /* first */
	char *url;
	unsigned char *secret; /* sodium_malloc'd */
	size_t secret_len;
};

static void webhook_close(struct otp_sms *d)
{
	struct webhook *w = (struct webhook *)d;
	free(w->url);
	otp_sms_http_free(w, w->secret);
}

static int webhook_open(const char *arg, const struct otp_sms_env *env,
			struct otp_sms **out, char *err, size_t errlen)
{
	const char *why = otp_sms_http_url_check(arg);
	const char *secret = env->getenv("OTPD_WEBHOOK_SECRET");
	if (why) {
		snprintf(err, errlen, "webhook: the URL %s", why);
		return OTP_ETYPE;
	}
	if (!secret || strlen(secret) < SECRET_MIN) {
		snprintf(err, errlen,
			 "webhook needs OTPD_WEBHOOK_SECRET (%d bytes at "
			 "least) in the environment to sign its requests",
			 SECRET_MIN);
		return OTP_ETYPE;
	}
	struct webhook *w =
	    otp_sms_http_new(sizeof *w, &otp_sms_webhook_ops, env, err, errlen);
	if (!w)
		return OTP_ETYPE;
	w->url = strdup(arg);
	w->secret_len = strlen(secret);
	w->secret = sodium_malloc(w->secret_len);
	if (!w->url || !w->secret)
		abort();
	memcpy(w->secret, secret, w->secret_len);
	*out = &w->h.base;
	return 0;
}

/* "sha256=" and the hex HMAC of "ts.body". */
static void sign(const struct webhook *w, const char *ts, const char *body,
		 size_t len, char out[7 + 2 * crypto_auth_hmacsha256_BYTES + 1])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&st, w->secret, w->secret_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts,
				      strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof st);
	memcpy(out, "sha256=", 7);
	sodium_bin2hex(out + 7, 2 * sizeof mac + 1, mac, sizeof mac);
}

static enum otp_sms_result webhook_send(struct otp_sms *d,
					const struct otp_sms_msg *m, char *err,
					size_t errlen)
{
	struct webhook *w = (struct webhook *)d;
	char at[OTP_ISO8601_LEN], ts[24], hdr[3][192];
	char sig[7 + 2 * crypto_auth_hmacsha256_BYTES + 1];
	struct curl_slist *h = NULL;

	otp_clock_iso8601(m->expires_ms, at);
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:I, s:s}", "to", m->to, "body", m->body,
		      "request_id", m->request_id, "message_id",
		      (json_int_t)m->message_id, "expires_at", at);
	if (!o) {
		snprintf(err, errlen, "webhook: message is not valid UTF-8");
		return OTP_SMS_FAILED;
	}
	char *body = json_dumps(o, JSON_COMPACT);
	json_decref(o); /* its copy of the text is freed unwiped, as in
			   sms_file.c */
	if (!body)
		abort();
	size_t len = strlen(body);
	snprintf(ts, sizeof ts, "%lld", (long long)(m->now_ms / 1000));
	sign(w, ts, body, len, sig);

	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	snprintf(hdr[0], sizeof hdr[0], "Idempotency-Key: %s",
		 m->idem_key ? m->idem_key : "");
	snprintf(hdr[1], sizeof hdr[1], "X-Otpd-Timestamp: %s", ts);
	snprintf(hdr[2], sizeof hdr[2], "X-Otpd-Signature: %s", sig);
	for (int i = 0; i < 3; i++)
		h = curl_slist_append(h, hdr[i]);
	if (!h)
		abort();
	struct otp_sms_http_req rq = {
	    .url = w->url, .body = body, .body_len = len, .headers = h};
	enum otp_sms_result res =
	    otp_sms_http_do(&w->h.http, "webhook", &rq, m->body, err, errlen);
	curl_slist_free_all(h);
	sodium_memzero(body, len);
	free(body);
	return res;
}

OTP_SMS_OPS(webhook, "webhook:", "webhook:URL", otp_sms_check_arg,
	    OTP_SMS_CAP_NETWORK | OTP_SMS_CAP_IDEM, webhook_open,
	    webhook_close);
