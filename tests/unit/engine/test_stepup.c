/* test_stepup.c - the login send's proof-of-work step-up (send.c's login
 * adapter) over a real SQLite store, with an injected clock. The rules'
 * step-up verdict comes from a rule table of the test's own, installed
 * with otp_abuse_set_rules (one rule that always asks for a proof);
 * abuse/pow.c itself is tests/unit/abuse/test_pow.c's. */
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include "abuse/pow.h"
#include "core/config.h"
#include "core/err.h"
#include "engine/engine.h"
#include "engine_fixture.h"
#include "harness.h"
#include "abuse/pow_solve.h"
#include "store/store.h"

static const char *const phone = "+14155550100";

static enum otp_abuse_action always_stepup(const struct otp_abuse_view *v,
					   enum otp_abuse_scope *scope)
{
	(void)v;
	*scope = OTP_AS_IP;
	return OTP_AA_STEPUP;
}

static const struct otp_abuse_rule stepup_rule = {"test_stepup", always_stepup};
static const struct otp_abuse_rule *const stepup_rules[] = {&stepup_rule};

/* The rules ask for a proof of every send, or of none. */
static void want_stepup(bool yes)
{
	otp_abuse_set_rules(eng.abuse, stepup_rules, yes ? 1 : 0);
}

static void setup(void)
{
	char *argv[] = {
	    "otpd",	      "--fraud-pow-bits",    "10", "--fraud", "enforce",
	    "--test-numbers", "+12015550123=123456", NULL};
	engine_fixture_setup(argv);
	if (!eng.abuse)
		abort();
	want_stepup(true);
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
	return engine_fixture_send(to, token, "192.0.2.1", pow, o);
}

static void stepup_then_solved_send_goes(void)
{
	struct otp_send_out o, o2;
	char tok[OTP_TOKEN_LEN + 1], sol[OTP_POW_MAX];
	setup();
	CHECK_INT(send_pow(phone, NULL, NULL, &o), OTP_ESTEPUP);
	/* a challenge at the configured bits, and a new session for it */
	CHECK(strncmp(o.challenge, "2.10.", 5) == 0);
	CHECK_INT(strlen(o.new_token), OTP_TOKEN_LEN);
	CHECK_STR(o.phone, phone);
	CHECK_INT(outbox(), 0);
	memcpy(tok, o.new_token, sizeof tok);
	pow_solve(o.challenge, sol);
	CHECK_INT(send_pow(phone, tok, sol, &o2), 0);
	CHECK_STR(o2.new_token, ""); /* the same session */
	CHECK_STR(o2.challenge, "");
	CHECK_INT(outbox(), 1);
	/* the same solution again: a new challenge, nothing sent */
	now += 60000;
	CHECK_INT(send_pow(phone, tok, sol, &o2), OTP_ESTEPUP);
	CHECK(strncmp(o2.challenge, "2.10.", 5) == 0);
	CHECK(strcmp(o2.challenge, o.challenge) != 0);
	CHECK_INT(outbox(), 0);
}

static void solution_is_bound_to_session_and_phone(void)
{
	struct otp_send_out o, o2;
	char sol[OTP_POW_MAX];
	setup();
	CHECK_INT(send_pow(phone, NULL, NULL, &o), OTP_ESTEPUP);
	pow_solve(o.challenge, sol);
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
	want_stepup(false);
	CHECK_INT(send_pow(phone, NULL, "1.2.3", &o), 0);
	CHECK_STR(o.challenge, "");
	want_stepup(true);
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

ENGINE_FIXTURE_MAIN("stepup", tests)
