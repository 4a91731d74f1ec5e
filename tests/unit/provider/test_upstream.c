/* test_upstream.c - how the upstream provider reads an upstream's answers
 * (provider/upstream.c, included with libcurl's transfer faked by
 * tests/fuzz/fake_curl.h: no network). The black-box suite
 * tests/http/test_upstream.py runs it against a real second otpd. */
#include "../../fuzz/fake_curl.h"

#include "../../../src/provider/upstream.c"

#include "core/err.h"
#include "harness.h"

static struct otp_provider *open_it(void)
{
	struct otp_provider *p = NULL;
	otp_provider_upstream_open("http://127.0.0.1:9", "key", 1000, &p);
	return p;
}

static int verify_answer(struct otp_provider *p, long status, const char *body,
			 struct otp_verify_out *out)
{
	struct otp_pverify in = {.request_id = "r1",
				 .code = "123456",
				 .code_len = 6,
				 .expect_phone = ""};
	memset(&fk, 0, sizeof fk);
	fk.status = status;
	fk.resp = body;
	fk.resp_len = strlen(body);
	return otp_provider_verify(p, NULL, &in, out);
}

/* A wrong code's count comes from the upstream; one that is negative or
 * does not fit an int is taken as none left. */
static void attempts_left_is_bounded(void)
{
	static const struct {
		const char *left;
		int want;
	} cases[] = {
	    {"2", 2}, {"0", 0}, {"-1", 0}, {"4294967297", 0}, {"\"3\"", 0},
	};
	struct otp_provider *p = open_it();
	struct otp_verify_out out;
	char body[128];
	CHECK(p != NULL);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(body, sizeof body,
			 "{\"data\":{\"verified\":false,"
			 "\"attemptsRemaining\":%s}}",
			 cases[i].left);
		CHECK_INT(verify_answer(p, 200, body, &out), 0);
		CHECK_INT(out.result, OTP_VERIFY_WRONG);
		CHECK_INT(out.attempts_left, cases[i].want);
	}
	CHECK_INT(verify_answer(p, 200, "{\"data\":{\"verified\":true}}", &out),
		  0);
	CHECK_INT(out.result, OTP_VERIFY_OK);
	CHECK_INT(verify_answer(p, 200, "{\"data\":{}}", &out), OTP_EUPSTREAM);
	CHECK_INT(verify_answer(p, 410, "", &out), 0);
	CHECK_INT(out.result, OTP_VERIFY_EXPIRED);
	otp_provider_close(p);
}

static int no_limits(struct otp_store *s, const struct otp_limit *l, size_t n,
		     int64_t now, int64_t *retry_ms)
{
	(void)s, (void)l, (void)n, (void)now;
	*retry_ms = 0;
	return 0;
}

static int give_back(struct otp_store *s, const struct otp_limit *lims,
		     size_t n, int64_t now)
{
	(void)s, (void)lims, (void)n, (void)now;
	return 0;
}

/* A send is taken only with a request id and an expiry; an empty id names
 * no request. */
static void send_needs_a_request_id(void)
{
	static const struct otp_store_ops ops = {.limit_take = no_limits,
						 .limit_give = give_back};
	struct otp_store s = {.ops = &ops};
	struct otp_provider *p = open_it();
	struct otp_psend in = {.phone = "+14155550100", .code_length = 6};
	struct otp_psend_out out;
	CHECK(p != NULL);
	memset(&fk, 0, sizeof fk);
	fk.status = 200;
	fk.resp = "{\"data\":{\"requestId\":\"r1\","
		  "\"expiresAt\":\"2026-12-01T23:10:00Z\"}}";
	fk.resp_len = strlen(fk.resp);
	CHECK_INT(otp_provider_send(p, &s, &in, &out), 0);
	CHECK_STR(out.request_id, "r1");
	fk.resp = "{\"data\":{\"requestId\":\"\","
		  "\"expiresAt\":\"2026-12-01T23:10:00Z\"}}";
	fk.resp_len = strlen(fk.resp);
	otp_log_set_level(OTP_LOG_ERROR); /* the refusal is a warning */
	CHECK_INT(otp_provider_send(p, &s, &in, &out), OTP_EUPSTREAM);
	otp_log_set_level(OTP_LOG_INFO);
	otp_provider_close(p);
}

static const struct harness_test tests[] = {
    TEST(attempts_left_is_bounded),
    TEST(send_needs_a_request_id),
};
HARNESS_MAIN("upstream", tests)
