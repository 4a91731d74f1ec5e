/* upstream.c - the "startmessaging" provider: codes from an upstream
 * StartMessaging-compatible API (POST /otp/send, POST /otp/verify with
 * X-API-Key), over libcurl.
 *
 * This is the tutorial's architecture done right: the request id stays
 * server-side in the session; the idempotency key of a login send is derived
 * from (session, phone, number of sends completed on that session), so a
 * retried send (after a timeout or a lost answer) reuses it and the upstream
 * sends and charges once, while a deliberate new send gets a new key.
 * Each thread keeps its own curl handle, so connections are reused.
 *
 * The engine's limits are taken here, before the call, and given back
 * when the upstream issued no code. Not here: which limits and the phone
 * policy (the engine, before this runs). Tenancy: the upstream keeps its
 * own requests, so a provider-API verify is passed on as it is (an
 * upstream's request ids are not checked against the asking key).
 */
#include "provider/provider.h"

#include <curl/curl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

struct upstream {
	struct otp_provider base;
	char *url;	  /* without a trailing slash */
	char *key_header; /* "X-API-Key: ..." */
	long timeout_ms;
	pthread_key_t curl_key;
};

struct buf {
	char data[8192];
	size_t len;
	bool overflow;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;
	if (b->len + len >= sizeof b->data) {
		b->overflow = true;
		return len; /* keep reading; the answer is refused later */
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

static void free_curl(void *h)
{
	curl_easy_cleanup(h);
}

static CURL *thread_curl(struct upstream *u)
{
	CURL *c = pthread_getspecific(u->curl_key);
	if (!c) {
		c = curl_easy_init();
		if (!c)
			abort();
		pthread_setspecific(u->curl_key, c);
	}
	return c;
}

/* POSTs body to url + path; *status gets the HTTP status and *json the
 * parsed answer (NULL if none). 0, or OTP_EUPSTREAM when there was no
 * usable answer at all. */
static int post(struct upstream *u, const char *path, json_t *body,
		long *status, json_t **json)
{
	CURL *c = thread_curl(u);
	struct buf b = {.len = 0};
	char url[1024];
	char *text = json_dumps(body, JSON_COMPACT);
	struct curl_slist *h = NULL;

	*json = NULL;
	snprintf(url, sizeof url, "%s%s", u->url, path);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, u->key_header);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, u->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 u->timeout_ms < 3000 ? u->timeout_ms : 3000);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	/* The body of a verify holds a code: wipe it. */
	sodium_memzero(text, strlen(text));
	free(text);
	if (rc != CURLE_OK) {
		otp_log(OTP_LOG_WARN, "upstream call failed", "path", path,
			"error", curl_easy_strerror(rc), NULL);
		return OTP_EUPSTREAM;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (!b.overflow && b.len)
		*json = json_loadb(b.data, b.len, 0, NULL);
	return 0;
}

static json_t *data_of(json_t *j)
{
	json_t *d = json_object_get(j, "data");
	return json_is_object(d) ? d : NULL;
}

/* The idempotency key of a login send: H(session, phone, sends done). */
static void login_idem(const struct otp_session_bind *b, const char *phone,
		       int sends, char out[65])
{
	crypto_generichash_state st;
	unsigned char h[32];
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, b->hash, sizeof b->hash);
	crypto_generichash_update(&st, (const unsigned char *)phone,
				  strlen(phone) + 1);
	crypto_generichash_update(&st, (const unsigned char *)&sends,
				  sizeof sends);
	crypto_generichash_final(&st, h, sizeof h);
	sodium_bin2hex(out, 65, h, sizeof h);
}

/* Takes the send's limits one at a time (which one refused must be told),
 * giving back those taken when one refuses. */
static int take_limits(struct otp_store *s, const struct otp_psend *in,
		       struct otp_psend_out *out)
{
	for (size_t i = 0; i < in->nlimits; i++) {
		int rc = otp_store_limit_take(s, &in->limits[i], 1, in->now,
					      &out->retry_ms);
		if (rc < 0) {
			otp_store_limit_give(s, in->limits, i, in->now);
			out->limit = rc == OTP_ELIMITED ? (int)i : -1;
			return rc;
		}
	}
	return 0;
}

/* The call itself, the limits already taken: 0 when the upstream issued a
 * code (out filled), or why not. */
static int call_send(struct upstream *u, struct otp_store *s,
		     const struct otp_psend *in, struct otp_psend_out *out)
{
	struct otp_session sess;
	char idem[65];
	const char *key = in->idem;
	long status = 0;
	json_t *ans;
	int rc;
	if (in->bind) {
		/* The session exists before the call, so that a retry after a
		 * failure finds the same send count and so the same key. */
		rc = otp_store_session_bind(s, in->bind, NULL, NULL, false,
					    in->now);
		if (rc == 0)
			rc = otp_store_session_get(s, in->bind->hash, in->now,
						   &sess);
		if (rc < 0)
			return rc;
		login_idem(in->bind, in->phone, sess.sends, idem);
		key = idem;
	}
	json_t *body = json_pack("{s:s}", "phoneNumber", in->phone);
	if (key)
		json_object_set_new(body, "idempotencyKey", json_string(key));
	rc = post(u, "/otp/send", body, &status, &ans);
	json_decref(body);
	if (rc < 0)
		return rc;
	json_t *d = data_of(ans);
	const char *id = json_string_value(json_object_get(d, "requestId"));
	const char *exp = json_string_value(json_object_get(d, "expiresAt"));
	/* An empty id would name no request (found by fuzz_upstream). */
	if (status != 200 || !id || !id[0] ||
	    strlen(id) >= sizeof out->request_id || !exp ||
	    otp_clock_parse_iso8601(exp, &out->expires_ms) < 0) {
		char st[16];
		snprintf(st, sizeof st, "%ld", status);
		otp_log(OTP_LOG_WARN, "upstream send refused", "#status", st,
			NULL);
		json_decref(ans);
		return status == 429 ? OTP_ELIMITED : OTP_EUPSTREAM;
	}
	snprintf(out->request_id, sizeof out->request_id, "%s", id);
	json_decref(ans);
	return 0;
}

/* Local limits hold in front of the upstream: a refused send never reaches
 * it. They are taken for a code that was issued only: a send the upstream
 * did not take (unreachable, refused) gives them back. */
static int up_send(struct otp_provider *p, struct otp_store *s,
		   const struct otp_psend *in, struct otp_psend_out *out)
{
	memset(out, 0, sizeof *out);
	out->limit = -1;
	int rc = take_limits(s, in, out);
	if (rc < 0)
		return rc;
	rc = call_send((struct upstream *)p, s, in, out);
	if (rc < 0) {
		int64_t wait = out->retry_ms;
		otp_store_limit_give(s, in->limits, in->nlimits, in->now);
		memset(out, 0, sizeof *out);
		out->retry_ms = wait;
		out->limit = -1;
		return rc;
	}
	/* the abuse signals: the store did not add them with a code */
	if (in->nsignals && !out->replayed &&
	    (rc = otp_store_signal_add(s, in->signals, in->nsignals, in->now)) <
		0)
		return rc;
	if (in->bind)
		return otp_store_session_bind(s, in->bind, out->request_id,
					      in->phone, true, in->now);
	return 0;
}

static int up_verify(struct otp_provider *p, struct otp_store *s,
		     const struct otp_pverify *in, struct otp_verify_out *out)
{
	struct upstream *u = (struct upstream *)p;
	struct otp_session sess = {.phone = ""};
	long status = 0;
	json_t *ans;
	int rc;

	memset(out, 0, sizeof *out);
	if (in->rotate) {
		rc = otp_store_session_get(s, in->old_hash, in->now, &sess);
		if (rc < 0)
			return rc;
		memcpy(out->phone, sess.pending_phone, sizeof out->phone);
	}
	json_t *body = json_pack("{s:s, s:s#}", "requestId", in->request_id,
				 "otpCode", in->code, (int)in->code_len);
	rc = post(u, "/otp/verify", body, &status, &ans);
	json_decref(body);
	if (rc < 0)
		return rc;
	json_t *d = data_of(ans);
	json_t *v = json_object_get(d, "verified");
	json_t *left = json_object_get(d, "attemptsRemaining");
	if (status == 404) {
		out->result = OTP_VERIFY_NOTFOUND;
	} else if (status == 410) {
		out->result = OTP_VERIFY_EXPIRED;
	} else if (status != 200 || !json_is_boolean(v)) {
		json_decref(ans);
		return OTP_EUPSTREAM;
	} else if (json_is_true(v)) {
		out->result = OTP_VERIFY_OK;
	} else {
		out->result = OTP_VERIFY_WRONG;
		/* An upstream's count is shown to the client: a negative one,
		 * or one past an int, is none (found by fuzz_upstream). */
		json_int_t n =
		    json_is_integer(left) ? json_integer_value(left) : 0;
		out->attempts_left = n >= 0 && n <= INT_MAX ? (int)n : 0;
	}
	json_decref(ans);
	/* The code's phone is only known from the session: a mismatch makes
	 * the attempt fail (it was counted upstream all the same). */
	if (out->result == OTP_VERIFY_OK && in->expect_phone[0] &&
	    strcmp(in->expect_phone, out->phone) != 0) {
		out->result = OTP_VERIFY_WRONG;
		out->attempts_left = 0;
	}
	if (out->result == OTP_VERIFY_OK && in->rotate)
		return otp_store_session_rotate(
		    s, in->old_hash, in->new_hash, out->phone,
		    in->session_expires_ms, in->now);
	return 0;
}

static int up_status(struct otp_provider *p, struct otp_store *s,
		     const char *id, struct otp_code_info *out)
{
	(void)p;
	(void)s;
	(void)id;
	(void)out;
	return OTP_ENOTFOUND; /* the upstream keeps its own status */
}

static void up_close(struct otp_provider *p)
{
	struct upstream *u = (struct upstream *)p;
	CURL *c = pthread_getspecific(u->curl_key);
	if (c) {
		pthread_setspecific(u->curl_key, NULL);
		curl_easy_cleanup(c);
	}
	pthread_key_delete(u->curl_key);
	sodium_memzero(u->key_header, strlen(u->key_header));
	free(u->key_header);
	free(u->url);
	free(u);
}

OTP_PROVIDER_OPS(upstream_ops, "startmessaging", up);

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int otp_provider_upstream_open(const char *base_url, const char *api_key,
			       long timeout_ms, struct otp_provider **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, global_init);
	struct upstream *u = calloc(1, sizeof *u);
	if (!u)
		abort();
	u->base.ops = &upstream_ops;
	u->url = strdup(base_url);
	size_t n = strlen(u->url);
	while (n && u->url[n - 1] == '/')
		u->url[--n] = '\0';
	size_t hl = strlen(api_key) + 16;
	u->key_header = malloc(hl);
	if (!u->url || !u->key_header)
		abort();
	snprintf(u->key_header, hl, "X-API-Key: %s", api_key);
	u->timeout_ms = timeout_ms;
	if (pthread_key_create(&u->curl_key, free_curl) != 0)
		abort();
	*out = &u->base;
	return 0;
}
