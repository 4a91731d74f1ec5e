/* test_engine.c - the login flows of the engine over a real SQLite store,
 * with an injected clock and codes read back from the sealed outbox. */
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "engine/engine.h"
#include "engine_fixture.h"
#include "harness.h"
#include "store/store.h"

static void setup(void)
{
	/* these flows send to many numbers that never verify: the abuse
	 * rules (tests/unit/abuse/) would stop them */
	char *argv[] = {"otpd", "--fraud", "off", NULL};
	engine_fixture_setup(argv);
}

/* The newest code sent to `phone`: claims the outbox and unseals. */
static void last_code(char code[16])
{
	struct otp_msg m[16];
	size_t n = 0;
	char text[512];
	code[0] = '\0';
	otp_store_outbox_claim(st, now, 1000, m, 16, &n);
	for (size_t i = 0; i < n; i++) {
		if (otp_engine_unseal(&eng, &m[i], now, text, sizeof text) == 0)
			snprintf(code, 16, "%.*s",
				 (int)strspn(text, "0123456789"), text);
		otp_store_outbox_ack(st, m[i].id, m[i].attempts, now);
		otp_msg_deinit(&m[i]);
	}
}

static int send_from(const char *phone, const char *token, const char *ip,
		     struct otp_send_out *o)
{
	return engine_fixture_send(phone, token, ip, NULL, o);
}

static int send(const char *phone, const char *token, struct otp_send_out *o)
{
	return send_from(phone, token, NULL, o);
}

/* setup(), a login-API send to +14155550100 into *o, its code into code. */
static int setup_sent(struct otp_send_out *o, char code[16])
{
	setup();
	int rc = send("+14155550100", NULL, o);
	last_code(code);
	return rc;
}

static int verify(const char *token, const char *code, const char *phone,
		  struct otp_verify_res *r)
{
	struct otp_verify_req in = {token, strlen(token),
				    code,  strlen(code),
				    phone, phone ? strlen(phone) : 0,
				    now};
	return otp_engine_verify(&eng, st, &in, r);
}

static void full_flow(void)
{
	struct otp_send_out o;
	struct otp_verify_res r;
	struct otp_session s;
	char code[16];
	setup();
	CHECK_INT(send("+1 (415) 555-0100", NULL, &o), 0);
	CHECK_STR(o.phone, "+14155550100");
	CHECK_INT(o.expires_ms, now + 300000);
	CHECK_INT(strlen(o.new_token), OTP_TOKEN_LEN);
	last_code(code);
	CHECK_INT(strlen(code), 6);
	/* not authenticated yet */
	CHECK_INT(
	    otp_engine_session(&eng, st, o.new_token, OTP_TOKEN_LEN, now, &s),
	    OTP_EUNAUTH);
	CHECK_INT(verify(o.new_token, code, NULL, &r), 0);
	CHECK(r.verified);
	CHECK_STR(r.phone, "+14155550100");
	CHECK(strcmp(r.new_token, o.new_token) != 0);
	CHECK_INT(
	    otp_engine_session(&eng, st, r.new_token, OTP_TOKEN_LEN, now, &s),
	    0);
	CHECK_STR(s.phone, "+14155550100");
	/* the pre-rotation token is gone */
	CHECK_INT(
	    otp_engine_session(&eng, st, o.new_token, OTP_TOKEN_LEN, now, &s),
	    OTP_EUNAUTH);
	/* the code is single use */
	CHECK_INT(verify(r.new_token, code, NULL, &r), OTP_EEXPIRED);
}

static void wrong_codes_then_dead(void)
{
	struct otp_send_out o;
	struct otp_verify_res r;
	char code[16], wrong[16];
	CHECK_INT(setup_sent(&o, code), 0);
	snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 1) % 1000000);
	for (int left = 4; left >= 0; left--) {
		CHECK_INT(verify(o.new_token, wrong, NULL, &r), 0);
		CHECK(!r.verified);
		CHECK_INT(r.attempts_left, left);
	}
	CHECK_INT(verify(o.new_token, code, NULL, &r), OTP_EEXPIRED);
}

static void other_phone_in_body_costs_an_attempt(void)
{
	struct otp_send_out o;
	struct otp_verify_res r;
	char code[16];
	CHECK_INT(setup_sent(&o, code), 0);
	CHECK_INT(verify(o.new_token, code, "+14155550199", &r), 0);
	CHECK(!r.verified);
	CHECK_INT(r.attempts_left, 4);
	/* the same number in another format is the same phone */
	CHECK_INT(verify(o.new_token, code, "+1 415-555-0100", &r), 0);
	CHECK(r.verified);
	CHECK_STR(r.phone, "+14155550100");
}

static void expiry_with_injected_clock(void)
{
	struct otp_send_out o;
	struct otp_verify_res r;
	char code[16];
	CHECK_INT(setup_sent(&o, code), 0);
	int64_t t0 = now;
	now = t0 + 300000;
	CHECK_INT(verify(o.new_token, code, NULL, &r), OTP_EEXPIRED);
	now = t0;
}

/* The SMS says the time left when it goes to the gateway, not when the
 * code was made: a message first sent (or retried) 270 s into a 300 s
 * code says 30 seconds. */
static void text_says_the_time_left_at_hand_off(void)
{
	struct otp_send_out o;
	struct otp_msg m[4];
	size_t n = 0;
	char text[512];
	setup();
	CHECK_INT(send("+14155550100", NULL, &o), 0);
	int64_t t0 = now;
	CHECK_INT(otp_store_outbox_claim(st, t0, 1000, m, 4, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(otp_engine_unseal(&eng, &m[0], t0, text, sizeof text), 0);
	CHECK(strstr(text, "It expires in 5 minutes.") != NULL);
	CHECK_INT(otp_engine_unseal(&eng, &m[0], t0 + 1, text, sizeof text), 0);
	CHECK(strstr(text, "It expires in 5 minutes.") != NULL);
	CHECK_INT(
	    otp_engine_unseal(&eng, &m[0], t0 + 240000, text, sizeof text), 0);
	CHECK(strstr(text, "It expires in 1 minute.") != NULL);
	CHECK_INT(
	    otp_engine_unseal(&eng, &m[0], t0 + 270000, text, sizeof text), 0);
	CHECK(strstr(text, "It expires in 30 seconds.") != NULL);
	otp_store_outbox_ack(st, m[0].id, m[0].attempts, t0);
	otp_msg_deinit(&m[0]);
}

static void resend_retires_old_code_and_cooldown(void)
{
	struct otp_send_out o, o2;
	struct otp_verify_res r;
	char c1[16], c2[16];
	CHECK_INT(setup_sent(&o, c1), 0);
	/* a second send within 30 s: refused, with the wait */
	now += 10000;
	CHECK_INT(send("+1 415 555 0100", o.new_token, &o2), OTP_ECOOLDOWN);
	CHECK_INT(o2.retry_after_s, 20);
	now += 20000;
	CHECK_INT(send("+1 415 555 0100", o.new_token, &o2), 0);
	CHECK_STR(o2.new_token, ""); /* same session, same cookie */
	last_code(c2);
	if (strcmp(c1, c2) != 0) {
		CHECK_INT(verify(o.new_token, c1, NULL, &r), 0);
		CHECK(!r.verified);
	}
	CHECK_INT(verify(o.new_token, c2, NULL, &r), 0);
	CHECK(r.verified);
}

static void five_sends_per_hour(void)
{
	struct otp_send_out o;
	setup();
	cfg.resend_cooldown = 0;
	const char *forms[] = {"+14155550100", "+1 415 555 0100",
			       "001 415 555 0100", "+1.415.555.0100",
			       "+1(415)5550100"};
	for (int i = 0; i < 5; i++)
		CHECK_INT(send(forms[i], NULL, &o), 0);
	/* every send came from one client: its budget for the phone */
	CHECK_INT(send("+14155550100", NULL, &o), OTP_EPHONEIP);
	CHECK_INT(o.retry_after_s, 720);
	/* another phone has its own bucket */
	CHECK_INT(send("+14155550101", NULL, &o), 0);
	now += 720000;
	CHECK_INT(send("+14155550100", NULL, &o), 0);
	now -= 720000;
}

static void limits_can_be_switched_off(void)
{
	struct otp_send_out o;
	int64_t retry;
	setup();
	cfg.resend_cooldown = 0;
	cfg.limit_phone = 0;
	cfg.limit_ip = 0;
	for (int i = 0; i < 20; i++) {
		CHECK_INT(send("+14155550100", NULL, &o), 0);
		CHECK_INT(
		    otp_engine_limit_ip(&eng, st, "127.0.0.1", now, &retry), 0);
	}
}

static void ip_limit_sixty_per_minute(void)
{
	int64_t retry = 0;
	setup();
	for (int i = 0; i < 60; i++)
		CHECK_INT(
		    otp_engine_limit_ip(&eng, st, "10.0.0.1", now, &retry), 0);
	CHECK_INT(otp_engine_limit_ip(&eng, st, "10.0.0.1", now, &retry),
		  OTP_EIPLIM);
	CHECK_INT(retry, 1);
	CHECK_INT(otp_engine_limit_ip(&eng, st, "10.0.0.2", now, &retry), 0);
}

/* Two engines (two processes) on one store: with --limit-scope store they
 * share one count per IP; with the default (process) each keeps its own. */
/* n requests from 10.0.0.1 on eng and on other, each under the limit. */
static void both_pass(struct otp_engine *other, int n, int64_t *retry)
{
	for (int i = 0; i < n; i++) {
		CHECK_INT(otp_engine_limit_ip(&eng, st, "10.0.0.1", now, retry),
			  0);
		CHECK_INT(
		    otp_engine_limit_ip(other, st, "10.0.0.1", now, retry), 0);
	}
}

static void ip_limit_scope(void)
{
	static const unsigned char secret[32] = {42};
	struct otp_engine other;
	int64_t retry = 0;
	setup();
	free(cfg.limit_scope);
	cfg.limit_scope = strdup("store");
	otp_engine_deinit(&eng);
	otp_engine_init(&eng, &cfg, secret, NULL);
	otp_engine_init(&other, &cfg, secret, NULL);
	CHECK(eng.limiter == NULL);
	both_pass(&other, 30, &retry);
	CHECK_INT(otp_engine_limit_ip(&other, st, "10.0.0.1", now, &retry),
		  OTP_EIPLIM);
	CHECK_INT(retry, 1);
	otp_engine_deinit(&other);

	setup(); /* process scope: each engine counts alone */
	otp_engine_init(&other, &cfg, secret, NULL);
	CHECK(eng.limiter != NULL);
	both_pass(&other, 60, &retry);
	CHECK_INT(otp_engine_limit_ip(&eng, st, "10.0.0.1", now, &retry),
		  OTP_EIPLIM);
	otp_engine_deinit(&other);
}

static void bad_phones_and_codes(void)
{
	struct otp_send_out o;
	struct otp_verify_res r;
	setup();
	CHECK_INT(send("4155550100", NULL, &o), OTP_ENATIONAL);
	CHECK_INT(send("+1 415 CALL NOW", NULL, &o), OTP_EPHONE);
	CHECK_INT(send("+14155550100", NULL, &o), 0);
	CHECK_INT(verify(o.new_token, "12a456", NULL, &r), OTP_ECODEFMT);
	CHECK_INT(verify(o.new_token, "123", NULL, &r), OTP_ECODEFMT);
	CHECK_INT(verify(o.new_token, "123456", "garbage", &r), OTP_EPHONE);
	CHECK_INT(verify("not-a-token", "123456", NULL, &r), OTP_EEXPIRED);
}

static void destination_lists(void)
{
	struct otp_send_out o;
	setup();
	free(cfg.countries_deny);
	cfg.countries_deny = strdup("44,7");
	CHECK_INT(send("+447400123456", NULL, &o), OTP_EDENIED);
	CHECK_INT(send("+14155550100", NULL, &o), 0);
	free(cfg.countries_allow);
	cfg.countries_allow = strdup("33");
	CHECK_INT(send("+14155550101", NULL, &o), OTP_EDENIED);
	CHECK_INT(send("+33612345678", NULL, &o), 0);
}

static int api_send(const char *phone, const char *idem,
		    struct otp_api_send_out *o)
{
	struct otp_api_send_in in = {.phone = phone,
				     .phone_len = strlen(phone),
				     .idem = idem,
				     .idem_len = idem ? strlen(idem) : 0,
				     .key_id = "k1",
				     .now = now};
	return otp_engine_api_send(&eng, st, &in, o);
}

/* Both APIs pass the one policy: the same destination lists and one
 * per-phone ceiling between them (4 x limit-phone), each with budgets of
 * its own under it (login: per client IP and per session; provider: per
 * API key), and an idempotent replay takes nothing. Changed on purpose
 * (issue 12): one shared budget of 5 let anyone lock a phone out. */
static void both_apis_share_the_policy(void)
{
	struct otp_send_out o;
	struct otp_api_send_out a, b;
	struct otp_engine_stats es;
	int64_t retry;
	setup();
	cfg.resend_cooldown = 0;
	free(cfg.countries_deny);
	cfg.countries_deny = strdup("44");
	CHECK_INT(api_send("+447400123456", NULL, &a), OTP_EDENIED);
	for (int i = 0; i < 5; i++)
		CHECK_INT(send("+14155550100", NULL, &o), 0);
	CHECK_INT(send("+14155550100", NULL, &o), OTP_EPHONEIP);
	CHECK_INT(o.retry_after_s, 720);
	CHECK_INT(api_send("+14155550100", "idem-1", &a), 0);
	CHECK(!a.replayed);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(api_send("+1 415 555 0100", "idem-1", &b), 0);
		CHECK(b.replayed);
		CHECK_STR(b.request_id, a.request_id);
	}
	for (int i = 0; i < 4; i++)
		CHECK_INT(api_send("+14155550100", NULL, &a), 0);
	CHECK_INT(api_send("+14155550100", NULL, &a), OTP_EPHONEKEY);
	CHECK_INT(a.retry_after_s, 720);
	/* 10 of the ceiling's 20 are spent: two more clients spend the rest */
	for (int i = 0; i < 5; i++) {
		CHECK_INT(send_from("+14155550100", NULL, "10.0.0.1", &o), 0);
		CHECK_INT(send_from("+14155550100", NULL, "10.0.0.2", &o), 0);
	}
	CHECK_INT(send_from("+14155550100", NULL, "10.0.0.3", &o),
		  OTP_EPHONELIM);
	CHECK_INT(o.retry_after_s, 180);
	CHECK_INT(otp_engine_limit_ip(&eng, st, "10.0.0.1", now, &retry), 0);
	otp_engine_stats(&eng, &es);
	CHECK_INT(es.limiter_cells, 1);
}

/* The bound README states: from any number of clients and sessions, a
 * phone gets at most 39 codes in any hour (the ceiling's burst of 20, then
 * one every 180 s), so at most 39 x 5 = 195 wrong guesses. */
static void ceiling_bounds_codes_per_phone_per_hour(void)
{
	struct otp_send_out o;
	char ip[32];
	int issued = 0;
	setup();
	cfg.resend_cooldown = 0;
	int64_t t0 = now;
	for (int i = 0; now < t0 + 3600000; i++, now += 10000) {
		snprintf(ip, sizeof ip, "10.%d.%d.1", i / 250, i % 250);
		int rc = send_from("+14155550100", NULL, ip, &o);
		if (rc == 0)
			issued++;
		else
			CHECK_INT(rc, OTP_EPHONELIM);
	}
	CHECK_INT(issued, 39);
	now = t0;
}

static void logout_destroys_session(void)
{
	struct otp_send_out o;
	struct otp_verify_res r;
	struct otp_session s;
	char code[16];
	CHECK_INT(setup_sent(&o, code), 0);
	CHECK_INT(verify(o.new_token, code, NULL, &r), 0);
	CHECK_INT(otp_engine_logout(&eng, st, r.new_token, OTP_TOKEN_LEN), 0);
	CHECK_INT(
	    otp_engine_session(&eng, st, r.new_token, OTP_TOKEN_LEN, now, &s),
	    OTP_EUNAUTH);
}

/* A session made by an otpd before tokens carried their time (43
 * characters, 32 random bytes, stored under the whole keyed hash) still
 * logs in after the upgrade; its rotation gives a token of today's form. */
static void tokens_of_the_old_length_still_work(void)
{
	struct otp_send_out o;
	struct otp_verify_res r;
	struct otp_session s;
	char old[OTP_TOKEN_LEN_OLD + 1], code[16];
	unsigned char raw[32];
	setup();
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(old, sizeof old, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	CHECK_INT(strlen(old), OTP_TOKEN_LEN_OLD);
	CHECK_INT(send("+14155550100", old, &o), 0);
	CHECK_STR(o.new_token, ""); /* the cookie stays */
	last_code(code);
	CHECK_INT(verify(old, code, NULL, &r), 0);
	CHECK(r.verified);
	CHECK_INT(strlen(r.new_token), OTP_TOKEN_LEN);
	CHECK_INT(
	    otp_engine_session(&eng, st, r.new_token, OTP_TOKEN_LEN, now, &s),
	    0);
	CHECK_STR(s.phone, "+14155550100");
	CHECK_INT(otp_engine_session(&eng, st, old, OTP_TOKEN_LEN_OLD, now, &s),
		  OTP_EUNAUTH);
}

static const struct harness_test tests[] = {
    TEST(full_flow),
    TEST(wrong_codes_then_dead),
    TEST(other_phone_in_body_costs_an_attempt),
    TEST(expiry_with_injected_clock),
    TEST(text_says_the_time_left_at_hand_off),
    TEST(resend_retires_old_code_and_cooldown),
    TEST(five_sends_per_hour),
    TEST(limits_can_be_switched_off),
    TEST(ip_limit_sixty_per_minute),
    TEST(ip_limit_scope),
    TEST(bad_phones_and_codes),
    TEST(destination_lists),
    TEST(both_apis_share_the_policy),
    TEST(ceiling_bounds_codes_per_phone_per_hour),
    TEST(logout_destroys_session),
    TEST(tokens_of_the_old_length_still_work),
};

ENGINE_FIXTURE_MAIN("engine", tests)
