/* test_stepup.c - the login send's proof-of-work step-up (send.c's login
 * adapter) over a real SQLite store, with an injected clock. The rules'
 * step-up verdict comes from send_test.h's hook; abuse/pow.c itself is
 * tests/unit/abuse/test_pow.c's. */
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include "abuse/pow.h"
#include "core/config.h"
#include "core/err.h"
#include "engine/engine.h"
#include "engine/send_test.h"
#include "harness.h"
#include "store/store.h"

static struct otp_config cfg;
static struct otp_engine eng;
static struct otp_store *st;
static char dir[] = "/tmp/otpd-stepup-XXXXXX";
static int64_t now = 1700000000000;
static const char *const phone = "+14155550100";

static bool want_stepup(const struct otp_send_core *c)
{
	(void)c;
	return true;
}

static void setup(void)
{
	static const unsigned char secret[32] = {42};
	static int n;
	char url[128], err[256];
	char *argv[] = {"otpd",		  "--fraud-pow-bits",	 "10",
			"--test-numbers", "+12015550123=123456", NULL};
	otp_config_deinit(&cfg);
	memset(&cfg, 0, sizeof cfg);
	if (otp_config_load(&cfg, 5, argv, NULL, err, sizeof err) != 0)
		abort();
	otp_store_close(st);
	snprintf(url, sizeof url, "sqlite:%s/s%d.db", dir, n++);
	if (otp_store_open(url, &st) != 0)
		abort();
	otp_engine_deinit(&eng);
	otp_engine_init(&eng, &cfg, secret, NULL);
	otp_send_test_stepup = want_stepup;
}

/* Messages waiting in the outbox (claimed and acked). */
static size_t outbox(void)
{
	struct otp_msg m[16];
	size_t n = 0;
	otp_store_outbox_claim(st, now, 1000, m, 16, &n);
	for (size_t i = 0; i < n; i++) {
		otp_store_outbox_ack(st, m[i].id, m[i].attempts, now);
		otp_msg_deinit(&m[i]);
	}
	return n;
}

static int send_pow(const char *to, const char *token, const char *pow,
		    struct otp_send_out *o)
{
	struct otp_send_in in = {.phone = to,
				 .phone_len = strlen(to),
				 .token = token,
				 .token_len = token ? strlen(token) : 0,
				 .now = now,
				 .ip = "192.0.2.1",
				 .pow = pow,
				 .pow_len = pow ? strlen(pow) : 0};
	return otp_engine_send(&eng, st, &in, o);
}

static void solve(const char *ch, char sol[OTP_POW_MAX])
{
	int bits = atoi(ch + 2);
	unsigned char h[crypto_hash_sha256_BYTES];
	for (long c = 0;; c++) {
		int n = snprintf(sol, OTP_POW_MAX, "%s.%ld", ch, c);
		crypto_hash_sha256(h, (const unsigned char *)sol, (size_t)n);
		int z = 0;
		while (z < bits && !(h[z / 8] & (0x80 >> (z % 8))))
			z++;
		if (z >= bits)
			return;
	}
}

static void stepup_then_solved_send_goes(void)
{
	struct otp_send_out o, o2;
	char tok[OTP_TOKEN_LEN + 1], sol[OTP_POW_MAX];
	setup();
	CHECK_INT(send_pow(phone, NULL, NULL, &o), OTP_ESTEPUP);
	/* a challenge at the configured bits, and a new session for it */
	CHECK(strncmp(o.challenge, "1.10.", 5) == 0);
	CHECK_INT(strlen(o.new_token), OTP_TOKEN_LEN);
	CHECK_STR(o.phone, phone);
	CHECK_INT(outbox(), 0);
	memcpy(tok, o.new_token, sizeof tok);
	solve(o.challenge, sol);
	CHECK_INT(send_pow(phone, tok, sol, &o2), 0);
	CHECK_STR(o2.new_token, ""); /* the same session */
	CHECK_STR(o2.challenge, "");
	CHECK_INT(outbox(), 1);
	/* the same solution again: a new challenge, nothing sent */
	now += 60000;
	CHECK_INT(send_pow(phone, tok, sol, &o2), OTP_ESTEPUP);
	CHECK(strncmp(o2.challenge, "1.10.", 5) == 0);
	CHECK(strcmp(o2.challenge, o.challenge) != 0);
	CHECK_INT(outbox(), 0);
}

static void solution_is_bound_to_session_and_phone(void)
{
	struct otp_send_out o, o2;
	char sol[OTP_POW_MAX];
	setup();
	CHECK_INT(send_pow(phone, NULL, NULL, &o), OTP_ESTEPUP);
	solve(o.challenge, sol);
	/* no cookie: another (new) session */
	CHECK_INT(send_pow(phone, NULL, sol, &o2), OTP_ESTEPUP);
	CHECK_INT(strlen(o2.new_token), OTP_TOKEN_LEN);
	/* the right session, another phone */
	CHECK_INT(send_pow("+14155550123", o.new_token, sol, &o2), OTP_ESTEPUP);
	/* tampered */
	char bad[OTP_POW_MAX];
	snprintf(bad, sizeof bad, "%s", sol);
	bad[2] = '9';
	CHECK_INT(send_pow(phone, o.new_token, bad, &o2), OTP_ESTEPUP);
	CHECK_INT(send_pow(phone, o.new_token, "garbage", &o2), OTP_ESTEPUP);
	CHECK_INT(outbox(), 0);
	/* none of that used it up */
	CHECK_INT(send_pow(phone, o.new_token, sol, &o2), 0);
	CHECK_INT(outbox(), 1);
}

/* Without a step-up verdict a pow changes nothing; test numbers and the
 * provider API never see one. */
static void only_where_the_rules_ask(void)
{
	struct otp_send_out o;
	struct otp_api_send_out ao;
	setup();
	otp_send_test_stepup = NULL;
	CHECK_INT(send_pow(phone, NULL, "1.2.3", &o), 0);
	CHECK_STR(o.challenge, "");
	otp_send_test_stepup = want_stepup;
	CHECK_INT(send_pow("+12015550123", NULL, NULL, &o), 0);
	struct otp_api_send_in in = {.phone = phone,
				     .phone_len = strlen(phone),
				     .key_id = "0123456789abcdef",
				     .now = now};
	CHECK_INT(otp_engine_api_send(&eng, st, &in, &ao), 0);
}

static const struct harness_test tests[] = {
    TEST(stepup_then_solved_send_goes),
    TEST(solution_is_bound_to_session_and_phone),
    TEST(only_where_the_rules_ask),
};

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	int rc = harness_run("stepup", tests, sizeof tests / sizeof tests[0]);
	otp_store_close(st);
	otp_engine_deinit(&eng);
	otp_config_deinit(&cfg);
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
