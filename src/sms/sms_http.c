/* sms_http.c - the libcurl plumbing of the gateway drivers (sms_http.h).
 *
 * One easy handle per driver handle; curl_easy_reset between requests clears
 * the options but keeps the open connection, so consecutive messages to one
 * gateway reuse it. Signals are off (NOSIGNAL: we are threaded), TLS peer
 * and host verification stay on, redirects are not followed (a gateway that
 * redirects a POST is misconfigured), and only http and https are allowed.
 */
#include "sms/sms_http.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/err.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int otp_sms_http_init(struct otp_sms_http *h, const struct otp_sms_env *env)
{
	pthread_once(&global_once, global_init);
	memset(h, 0, sizeof *h);
	/* Drivers keep their secrets in sodium_malloc'd memory. */
	if (global_rc != CURLE_OK || sodium_init() < 0)
		return OTP_EINTERNAL;
	h->curl = curl_easy_init();
	if (!h->curl)
		return OTP_EINTERNAL;
	h->connect_timeout_ms =
	    env->connect_timeout_ms > 0 ? env->connect_timeout_ms : 3000;
	h->timeout_ms = env->timeout_ms > 0 ? env->timeout_ms : 10000;
	return 0;
}

void otp_sms_http_deinit(struct otp_sms_http *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	sodium_memzero(h->resp, sizeof h->resp);
	h->curl = NULL;
}

void *otp_sms_http_new(size_t size, const struct otp_sms_ops *ops,
		       const struct otp_sms_env *env, char *err, size_t errlen)
{
	struct otp_sms_http_handle *h = calloc(1, size);
	if (!h)
		abort();
	h->base.ops = ops;
	if (otp_sms_http_init(&h->http, env) < 0) {
		snprintf(err, errlen, "%s: cannot set up libcurl", ops->name);
		ops->close(&h->base);
		return NULL;
	}
	return h;
}

void otp_sms_http_free(void *handle, void *secret)
{
	struct otp_sms_http_handle *h = handle;
	otp_sms_http_deinit(&h->http);
	if (secret)
		sodium_free(secret);
	free(h);
}

const char *otp_sms_http_url_check(const char *url)
{
	const char *why = NULL;
	char *scheme = NULL, *host = NULL;
	CURLU *u = curl_url();
	if (!u)
		abort();
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		why = "is not a URL";
	else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		 (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		why = "is not an http:// or https:// URL";
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		 !host[0])
		why = "has no host";
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return why;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct otp_sms_http *h = arg;
	size_t len = size * n, room = OTP_SMS_HTTP_RESP_MAX - h->resp_len;
	size_t take = len < room ? len : room;
	memcpy(h->resp + h->resp_len, p, take);
	h->resp_len += take;
	h->resp[h->resp_len] = '\0';
	return len; /* the rest is read and dropped */
}

/* Does any 4 digits in a row of the run (n digits) occur in the text? Then
 * the run may hold the code, whole or in part, and is masked: a run that
 * merely occurs in the text would let a longer one (the code and more
 * digits), or one cut at the end of the excerpt, through. */
static bool shares_digits(const char *run, size_t n, const char *text)
{
	if (!text)
		return false;
	size_t tl = strlen(text);
	for (size_t i = 0; i + 4 <= n; i++)
		if (memmem(text, tl, run + i, 4))
			return true;
	return false;
}

/* A printable, one-line excerpt of the answer, digit runs that share 4
 * digits in a row with the message text masked (found by
 * tests/fuzz/fuzz_gateway: runs of 32 digits and more, and runs cut at
 * the end, were shown). */
static void excerpt(const struct otp_sms_http *h, const char *text, char *out,
		    size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < h->resp_len && o + 1 < cap && o < 120;) {
		unsigned char c = (unsigned char)h->resp[i];
		if (isdigit(c)) {
			size_t n = strspn(h->resp + i, "0123456789");
			bool mask = shares_digits(h->resp + i, n, text);
			for (size_t k = 0; k < n && o + 1 < cap; k++)
				out[o++] = mask ? '#' : h->resp[i + k];
			i += n;
			continue;
		}
		out[o++] = (c < 0x20 || c > 0x7e) ? ' ' : (char)c;
		i++;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

enum otp_sms_result otp_sms_http_do(struct otp_sms_http *h, const char *name,
				    const struct otp_sms_http_req *rq,
				    const char *text, char *err, size_t errlen)
{
	CURL *c = h->curl;
	curl_easy_reset(c);
	h->status = 0;
	h->resp_len = 0;
	h->resp[0] = '\0';
	h->errbuf[0] = '\0';

	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "otpd");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	if (rq->headers)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, rq->headers);
	if (rq->body) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)rq->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
	}
	if (rq->user) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, rq->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, rq->pass ? rq->pass : "");
	}

	CURLcode rc = curl_easy_perform(c);
	/* The options point into the caller's buffers (the body holds the
	 * code): drop them before anything else can read them. */
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(c, CURLOPT_URL, "");
	if (rc != CURLE_OK) {
		/* No answer: the gateway may or may not have the message.
		 * Retrying with the same idempotency key is the safe side. */
		snprintf(err, errlen, "%s: %s", name,
			 h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
		return rc == CURLE_URL_MALFORMAT ||
			       rc == CURLE_UNSUPPORTED_PROTOCOL
			   ? OTP_SMS_FAILED
			   : OTP_SMS_RETRY;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
	if (h->status >= 200 && h->status < 300)
		return OTP_SMS_SENT;
	char ex[128];
	excerpt(h, text, ex, sizeof ex);
	snprintf(err, errlen, "%s: HTTP %ld%s%s", name, h->status,
		 ex[0] ? ": " : "", ex);
	if (h->status == 408 || h->status == 429 || h->status >= 500)
		return OTP_SMS_RETRY;
	return OTP_SMS_FAILED;
}

void otp_sms_buf_add(struct otp_sms_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		/* Not realloc: the old block may hold the code; wipe it. */
		char *p = malloc(cap);
		if (!p)
			abort();
		if (b->p) {
			memcpy(p, b->p, b->len);
			sodium_memzero(b->p, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void otp_sms_buf_str(struct otp_sms_buf *b, const char *s)
{
	otp_sms_buf_add(b, s, strlen(s));
}

static void add_escaped(struct otp_sms_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			otp_sms_buf_add(b, (const char *)&c, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			otp_sms_buf_add(b, e, 3);
		}
	}
}

void otp_sms_buf_param(struct otp_sms_buf *b, const char *key,
		       const char *value)
{
	if (b->len)
		otp_sms_buf_add(b, "&", 1);
	add_escaped(b, key);
	otp_sms_buf_add(b, "=", 1);
	add_escaped(b, value);
}

void otp_sms_buf_wipe(struct otp_sms_buf *b)
{
	if (b->p) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof *b);
}
