/* fuzz_upstream.c - the answers of an upstream StartMessaging-compatible
 * API (provider/upstream.c, included with libcurl faked: fake_curl.h) to
 * POST /otp/send and POST /otp/verify, on a store that only counts.
 *
 * Input: STATUS (2 bytes) CURLCODE WHAT, then the answer's body. WHAT's
 * low bit picks send or verify, the next one the login scope (a session).
 * Checked: every answer maps to a result the engine knows, a request id
 * taken from an answer fits and is terminated, a verify that succeeds is a
 * 200 with "verified": true, and the session is rotated only then. */
#include "fake_curl.h"

#include "../../src/provider/upstream.c"

#include "fuzz.h"

static int rotations, binds;

static int limit_take(struct otp_store *s, const struct otp_limit *l, size_t n,
		      int64_t now, int64_t *retry)
{
	(void)s, (void)l, (void)n, (void)now;
	*retry = 0;
	return 0;
}

static int limit_give(struct otp_store *s, const struct otp_limit *l, size_t n,
		      int64_t now)
{
	(void)s, (void)l, (void)n, (void)now;
	return 0;
}

static int session_get(struct otp_store *s, const unsigned char h[OTP_HASH_LEN],
		       int64_t now, struct otp_session *out)
{
	(void)s, (void)h, (void)now;
	memset(out, 0, sizeof *out);
	snprintf(out->pending_phone, sizeof out->pending_phone, "+14155550100");
	out->sends = 3;
	return 0;
}

static int session_bind(struct otp_store *s, const struct otp_session_bind *b,
			const char *id, const char *phone, bool count,
			int64_t now)
{
	(void)s, (void)b, (void)phone, (void)count, (void)now;
	if (id)
		FUZZ_CHECK(strlen(id) < OTP_PENDING_MAX);
	binds++;
	return 0;
}

static int session_rotate(struct otp_store *s,
			  const unsigned char o[OTP_HASH_LEN],
			  const unsigned char n[OTP_HASH_LEN],
			  const char *phone, int64_t exp, int64_t now)
{
	(void)s, (void)o, (void)n, (void)exp, (void)now;
	FUZZ_CHECK(strcmp(phone, "+14155550100") == 0);
	rotations++;
	return 0;
}

static const struct otp_store_ops ops = {.name = "fuzz",
					 .limit_take = limit_take,
					 .limit_give = limit_give,
					 .session_get = session_get,
					 .session_bind = session_bind,
					 .session_rotate = session_rotate};

static const CURLcode codes[] = {CURLE_OK, CURLE_OK, CURLE_OK,
				 CURLE_OPERATION_TIMEDOUT};

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct otp_provider *p;
	static struct otp_store store = {.ops = &ops};
	if (!p) {
		otp_log_set_level(OTP_LOG_ERROR); /* refusals log warnings */
		FUZZ_CHECK(otp_provider_upstream_open("http://127.0.0.1:9/",
						      "key", 1000, &p) == 0);
	}
	if (n < 4)
		return 0;
	memset(&fk, 0, sizeof fk);
	fk.status = (d[0] << 8 | d[1]) % 700;
	fk.rc = codes[d[2] % (sizeof codes / sizeof codes[0])];
	fk.resp = (const char *)d + 4;
	fk.resp_len = n - 4;
	bool login = d[3] & 2;
	struct otp_session_bind bind = {.hash = {1}};
	int rc;
	if (d[3] & 1) {
		struct otp_psend in = {.phone = "+14155550100",
				       .code_length = 6,
				       .ttl_s = 300,
				       .bind = login ? &bind : NULL};
		struct otp_psend_out out;
		rc = otp_provider_send(p, &store, &in, &out);
		FUZZ_CHECK(rc == 0 || rc == OTP_EUPSTREAM ||
			   rc == OTP_ELIMITED);
		if (rc == 0) {
			FUZZ_CHECK(fk.status == 200 && fk.rc == CURLE_OK);
			size_t len =
			    strnlen(out.request_id, sizeof out.request_id);
			FUZZ_CHECK(len > 0 && len < sizeof out.request_id);
		}
		if (rc == OTP_ELIMITED)
			FUZZ_CHECK(fk.status == 429);
	} else {
		struct otp_pverify in = {.request_id = "r1",
					 .code = "123456",
					 .code_len = 6,
					 .expect_phone = "",
					 .rotate = login};
		struct otp_verify_out out;
		int before = rotations;
		rc = otp_provider_verify(p, &store, &in, &out);
		FUZZ_CHECK(rc == 0 || rc == OTP_EUPSTREAM);
		if (rc == 0 && out.result == OTP_VERIFY_OK) {
			FUZZ_CHECK(fk.status == 200);
			json_t *j = json_loadb(fk.resp, fk.resp_len, 0, NULL);
			FUZZ_CHECK(json_is_true(json_object_get(
			    json_object_get(j, "data"), "verified")));
			json_decref(j);
		}
		FUZZ_CHECK((rotations > before) ==
			   (rc == 0 && login && out.result == OTP_VERIFY_OK));
		if (rc == 0 && out.result == OTP_VERIFY_WRONG)
			FUZZ_CHECK(out.attempts_left >= 0);
	}
	if (fk.rc != CURLE_OK)
		FUZZ_CHECK(rc == OTP_EUPSTREAM);
	return 0;
}
