/* fuzz_config.c - the command line and the environment as otpd reads them
 * at start-up: otp_config_load (core/config.c, its table and the value
 * checks of config_check.c, which ask the store registry, the SMS driver
 * table and core/phone.c), never exiting the process.
 *
 * Input: lines. A line starting with '-' is one argument; any other line
 * NAME=VALUE is the environment variable OTPD_NAME. Checked: the answer is
 * a run, a help or version request, or an error with a message; a run
 * holds every setting within its table row (numbers in range, strings
 * within their length and passing their check, enums spelled as listed),
 * and loading the same input again gives the same answer. */
#include "core/config.h"
#include "core/config_int.h"
#include "fuzz.h"

#define MAXARG 32

static char *envs[MAXARG];
static size_t nenv;

static const char *env(const char *name)
{
	if (strncmp(name, "OTPD_", 5) != 0)
		return NULL;
	size_t n = strlen(name + 5);
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(envs[i], name + 5, n) == 0 && envs[i][n] == '=')
			return envs[i] + n + 1;
	return NULL;
}

static void check_run(const struct otp_config *c)
{
	for (size_t i = 0; i < otp_cfg_nsettings; i++) {
		const struct setting *s = &otp_cfg_settings[i];
		const void *p = (const char *)c + s->off;
		if (s->kind == K_INT) {
			long v = *(const long *)p;
			FUZZ_CHECK(v >= s->min && v <= s->max);
		} else if (s->kind == K_STR) {
			const char *v = *(char *const *)p;
			FUZZ_CHECK(v != NULL);
			if (s->max > 0)
				FUZZ_CHECK(strlen(v) >= (size_t)s->min &&
					   strlen(v) <= (size_t)s->max);
			if (s->check)
				FUZZ_CHECK(s->check(v) == NULL);
		} else if (s->kind == K_ENUM) {
			const char *v = *(char *const *)p;
			bool listed = false;
			for (const char *const *e = s->values; *e; e++)
				listed |= strcmp(*e, v) == 0;
			FUZZ_CHECK(listed);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s = fuzz_str(d, n), *lines[MAXARG], *argv[MAXARG + 2];
	int argc = 1;
	argv[0] = "otpd"; /* then up to MAXARG arguments and NULL */
	fuzz_split(s, '\n', lines, MAXARG);
	nenv = 0;
	for (size_t i = 0; i < MAXARG; i++) {
		if (lines[i][0] == '-')
			argv[argc++] = lines[i];
		else if (strchr(lines[i], '='))
			envs[nenv++] = lines[i];
	}
	argv[argc] = NULL;
	struct otp_config c = {0}, again = {0};
	char err[512], err2[512];
	memset(err, 'x', sizeof err);
	int rc = otp_config_load(&c, argc, argv, env, err, sizeof err);
	int rc2 = otp_config_load(&again, argc, argv, env, err2, sizeof err2);
	FUZZ_CHECK(rc == rc2);
	FUZZ_CHECK(strnlen(err, sizeof err) < sizeof err);
	if (rc < 0) {
		FUZZ_CHECK(err[0] != '\0' && strcmp(err, err2) == 0);
	} else if (rc == OTP_CONFIG_RUN) {
		check_run(&c);
	} else {
		FUZZ_CHECK(rc == OTP_CONFIG_HELP || rc == OTP_CONFIG_HELP_MD ||
			   rc == OTP_CONFIG_HELP_MAN ||
			   rc == OTP_CONFIG_VERSION);
	}
	otp_config_deinit(&c);
	otp_config_deinit(&again);
	free(s);
	return 0;
}
