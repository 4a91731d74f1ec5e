/* engine_fixture.h - the main of the unit tests that drive whole sends
 * through an engine over a real SQLite store in a temp directory: makes the
 * directory, runs the tests, closes the engine, store and config, and
 * removes the directory (a failure to remove it fails the run). */
#ifndef OTP_TESTS_ENGINE_FIXTURE_H
#define OTP_TESTS_ENGINE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "engine/engine.h"
#include "harness.h"
#include "store/store.h"

static inline int
engine_fixture_main(const char *suite, const struct harness_test *tests,
		    size_t n, char *dir, struct otp_store **st,
		    struct otp_engine *eng, struct otp_config *cfg)
{
	if (!mkdtemp(dir))
		return 1;
	int rc = harness_run(suite, tests, n);
	otp_store_close(*st);
	otp_engine_deinit(eng);
	otp_config_deinit(cfg);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}

#endif
