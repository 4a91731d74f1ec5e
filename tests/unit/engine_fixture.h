/* engine_fixture.h - what the unit tests that drive whole sends through an
 * engine over a real SQLite store share: the fixture itself (cfg, eng, st,
 * the temp directory the stores live in and the injected clock, statics of
 * the including file), engine_fixture_setup() to start each test on a
 * fresh one, engine_fixture_send() for a login-API send, and
 * ENGINE_FIXTURE_MAIN, the suite's main (makes the directory, runs the
 * tests, closes the engine, store and config, removes the directory: a
 * failure to remove it fails the run). Include it once, in the test's .c. */
#ifndef OTP_TESTS_ENGINE_FIXTURE_H
#define OTP_TESTS_ENGINE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "engine/engine.h"
#include "harness.h"
#include "store/store.h"

static struct otp_config cfg;
static struct otp_engine eng;
static struct otp_store *st;
static char dir[64];
static int64_t now = 1700000000000; /* the injected clock, in ms */

/* Loads cfg from argv (NULL-terminated, argv[0] the program's name), opens
 * a new SQLite store in dir and an engine over cfg, closing the previous
 * ones; aborts when any of it fails. */
static inline void engine_fixture_setup(char **argv)
{
	static const unsigned char secret[32] = {42};
	static int n;
	char url[128], err[256];
	int argc = 0;
	while (argv[argc])
		argc++;
	otp_config_deinit(&cfg);
	memset(&cfg, 0, sizeof cfg);
	if (otp_config_load(&cfg, argc, argv, NULL, err, sizeof err) != 0)
		abort();
	otp_store_close(st);
	snprintf(url, sizeof url, "sqlite:%s/%d.db", dir, n++);
	if (otp_store_open(url, &st) != 0)
		abort();
	otp_engine_deinit(&eng);
	if (otp_engine_init(&eng, &cfg, secret, NULL) != 0)
		abort();
}

/* A login-API send to phone at now, from ip, with the session token and
 * the proof of work pow (each NULL: none), into *o: the engine's answer. */
static inline int engine_fixture_send(const char *phone, const char *token,
				      const char *ip, const char *pow,
				      struct otp_send_out *o)
{
	struct otp_send_in in = {.phone = phone,
				 .phone_len = strlen(phone),
				 .token = token,
				 .token_len = token ? strlen(token) : 0,
				 .now = now,
				 .ip = ip,
				 .pow = pow,
				 .pow_len = pow ? strlen(pow) : 0};
	return otp_engine_send(&eng, st, &in, o);
}

static inline void engine_fixture_close(void)
{
	otp_store_close(st);
	otp_engine_deinit(&eng);
	otp_config_deinit(&cfg);
}

static inline int engine_fixture_main(const char *suite,
				      const struct harness_test *tests,
				      size_t n)
{
	snprintf(dir, sizeof dir, "/tmp/otpd-%s-XXXXXX", suite);
	return harness_run_in_dir(suite, tests, n, dir, NULL,
				  engine_fixture_close);
}

#define ENGINE_FIXTURE_MAIN(suite, tests)                                      \
	int main(void)                                                         \
	{                                                                      \
		return engine_fixture_main(                                    \
		    suite, tests, sizeof(tests) / sizeof((tests)[0]));         \
	}

#endif
