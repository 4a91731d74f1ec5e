/* test_config.c - the settings table through its public face: defaults, the
 * environment and flags in order of precedence, every class of bad value and
 * the text of --help and docs/CONFIG.md. The environment is a fake table, so
 * nothing here depends on the shell the tests run in.
 */
#include "core/config.h"
#include "core/err.h"
#include "harness.h"

#include <ctype.h>
#include <stdlib.h>

/* --- a fake environment --- */

static const char *fake[16][2];

static const char *fake_env(const char *name)
{
	for (size_t i = 0; i < sizeof(fake) / sizeof(fake[0]) && fake[i][0];
	     i++)
		if (strcmp(fake[i][0], name) == 0)
			return fake[i][1];
	return NULL;
}

static void setenv_fake(const char *name, const char *value)
{
	size_t i = 0;
	while (fake[i][0])
		i++;
	fake[i][0] = name;
	fake[i][1] = value;
}

static void clearenv_fake(void)
{
	memset(fake, 0, sizeof(fake));
}

/* --- loading --- */

static struct otp_config cfg;
static char err[256];

/* Loads argv (NULL-ended, without argv[0]) over the fake env. */
static int load_v(const char **args)
{
	char *argv[32] = {"otpd"};
	int argc = 1;

	while (args[argc - 1])
		argv[argc] = (char *)args[argc - 1], argc++;
	return otp_config_load(&cfg, argc, argv, fake_env, err, sizeof(err));
}

#define LOAD(...) load_v((const char *[]){__VA_ARGS__, NULL})

static void reset(void)
{
	otp_config_deinit(&cfg);
	clearenv_fake();
	err[0] = '\0';
}

static const char *flags[] = {
    "listen",
    "admin-listen",
    "admin-socket",
    "metrics",
    "threads",
    "wait-threads",
    "fibers",
    "conn-limit",
    "conn-timeout",
    "conn-per-ip",
    "request-timeout",
    "drain-timeout",
    "body-max",
    "trusted-proxies",
    "cors-origins",
    "store",
    "sms",
    "sms-from",
    "public-url",
    "sms-workers",
    "sms-attempts",
    "sms-backoff-ms",
    "sms-timeout",
    "sms-connect-timeout",
    "outbox-lease",
    "secret-file",
    "secret-previous-file",
    "code-length",
    "code-ttl",
    "code-attempts",
    "limit-ip",
    "limit-phone",
    "resend-cooldown",
    "session-ttl",
    "cookie-name",
    "cookie-secure",
    "cookie-samesite",
    "countries-allow",
    "countries-deny",
    "default-region",
    "sms-number-types",
    "phone-ranges-allow",
    "test-numbers",
    "fraud",
    "fraud-prefix-digits",
    "fraud-block-ttl",
    "fraud-allow",
    "fraud-pow-bits",
    "spend-prices",
    "spend-cap-hour",
    "spend-cap-day",
    "app-name",
    "login-redirect-hosts",
    "domain",
    "sms-template",
    "android-app-hash",
    "log-level",
    "purge-interval",
    "limit-key",
    "provider",
    "upstream-url",
    "upstream-timeout",
    "limit-scope",
    "session-cache",
};
#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

/* OTPD_ + upper case, - to _ */
static void env_of(const char *flag, char *out, size_t n)
{
	size_t i = (size_t)snprintf(out, n, "OTPD_");
	for (; *flag && i + 1 < n; flag++)
		out[i++] =
		    *flag == '-' ? '_' : (char)toupper((unsigned char)*flag);
	out[i] = '\0';
}

/* --- tests --- */

/* A setting's default: its field (name, offset, and kind: 's' for a
 * string, 'l' for a long, from its type; any other type does not compile)
 * and its value as text, a long in decimal. */
struct want_default {
	const char *field;
	size_t off;
	char kind;
	const char *value;
};

#define KIND(f)	 _Generic(((struct otp_config *)0)->f, char * : 's', long : 'l')
#define FIELD(f) #f, offsetof(struct otp_config, f), KIND(f)

static const struct want_default want_defaults[] = {
    {FIELD(listen), "127.0.0.1:8080"},
    {FIELD(threads), "0"},
    {FIELD(conn_limit), "1024"},
    {FIELD(conn_timeout), "10"},
    {FIELD(body_max), "8192"},
    {FIELD(trusted_proxies), ""},
    {FIELD(store), "sqlite:./var/otpd.db"},
    {FIELD(sms), "console"},
    {FIELD(sms_from), ""},
    {FIELD(public_url), ""},
    {FIELD(sms_workers), "4"},
    {FIELD(sms_attempts), "6"},
    {FIELD(sms_backoff_ms), "1000"},
    {FIELD(sms_timeout), "10"},
    {FIELD(sms_connect_timeout), "3"},
    {FIELD(outbox_lease), "0"},
    {FIELD(secret_file), ""},
    {FIELD(code_length), "6"},
    {FIELD(code_ttl), "300"},
    {FIELD(code_attempts), "5"},
    {FIELD(limit_ip), "60"},
    {FIELD(limit_phone), "5"},
    {FIELD(resend_cooldown), "30"},
    {FIELD(limit_scope), "process"},
    {FIELD(session_cache), "32768"},
    {FIELD(session_ttl), "86400"},
    {FIELD(cookie_name), "otpd_session"},
    {FIELD(cookie_samesite), "Lax"},
    {FIELD(countries_allow), ""},
    {FIELD(countries_deny), ""},
    {FIELD(app_name), "otpd"},
    {FIELD(domain), ""},
    {FIELD(sms_template),
     "{code} is your {app} code. It expires in {minutes} minutes."},
    {FIELD(android_app_hash), ""},
    {FIELD(log_level), "info"},
    {FIELD(purge_interval), "60"},
};

static void defaults(void)
{
	reset();
	CHECK_INT(otp_config_load(&cfg, 1, (char *[]){"otpd", NULL}, fake_env,
				  err, sizeof(err)),
		  OTP_CONFIG_RUN);
	for (size_t i = 0; i < sizeof want_defaults / sizeof want_defaults[0];
	     i++) {
		const struct want_default *w = &want_defaults[i];
		const char *at = (const char *)&cfg + w->off;
		char num[24] = "";
		if (w->kind == 'l')
			snprintf(num, sizeof num, "%ld", *(const long *)at);
		const char *got = w->kind == 's' ? *(char *const *)at : num;
		if (strcmp(got, w->value) != 0)
			fprintf(stderr, "the default of %s\n", w->field);
		CHECK_STR(got, w->value);
	}
	CHECK(!cfg.cookie_secure);
	CHECK_STR(err, "");
	reset();
}

static void null_env_means_getenv(void)
{
	reset();
	setenv("OTPD_CODE_TTL", "77", 1);
	int r = otp_config_load(&cfg, 1, (char *[]){"otpd", NULL}, NULL, err,
				sizeof(err));
	unsetenv("OTPD_CODE_TTL");
	CHECK_INT(r, OTP_CONFIG_RUN);
	CHECK_INT(cfg.code_ttl, 77);
	reset();
}

static void env_overrides_default(void)
{
	reset();
	setenv_fake("OTPD_CODE_LENGTH", "8");
	setenv_fake("OTPD_LISTEN", "[::1]:9000");
	setenv_fake("OTPD_SECRET_FILE", "/etc/otpd/secret");
	setenv_fake("OTPD_LIMIT_IP", "0");
	setenv_fake("OTPD_COOKIE_SECURE", "yes");
	setenv_fake("OTPD_LOG_LEVEL", "debug");
	setenv_fake("OTPD_TRUSTED_PROXIES", "10.0.0.1,::1");
	CHECK_INT(LOAD(NULL), OTP_CONFIG_RUN);
	CHECK_INT(cfg.code_length, 8);
	CHECK_STR(cfg.listen, "[::1]:9000");
	CHECK_STR(cfg.secret_file, "/etc/otpd/secret");
	CHECK_INT(cfg.limit_ip, 0);
	CHECK(cfg.cookie_secure);
	CHECK_STR(cfg.log_level, "debug");
	CHECK_STR(cfg.trusted_proxies, "10.0.0.1,::1");
	CHECK_INT(cfg.code_ttl, 300); /* untouched */
	reset();
}

static void every_flag_has_its_env(void)
{
	/* each OTPD_* name reaches its setting: set it to a bad value */
	char env[64];
	for (size_t i = 0; i < NFLAGS; i++) {
		reset();
		env_of(flags[i], env, sizeof(env));
		setenv_fake(env, "\x01 bad");
		if (strcmp(flags[i], "secret-file") == 0) {
			/* any path goes */
			CHECK_INT(LOAD(NULL), OTP_CONFIG_RUN);
			CHECK_STR(cfg.secret_file, "\x01 bad");
			continue;
		}
		if (strcmp(flags[i], "secret-previous-file") == 0) {
			CHECK_INT(LOAD(NULL), OTP_CONFIG_RUN);
			CHECK_STR(cfg.secret_previous_file, "\x01 bad");
			continue;
		}
		CHECK_INT(LOAD(NULL), OTP_ETYPE);
		CHECK(strncmp(err, env, strlen(env)) == 0);
		CHECK(err[strlen(env)] == ':');
	}
	reset();
}

static void flag_overrides_env(void)
{
	reset();
	setenv_fake("OTPD_CODE_LENGTH", "8");
	setenv_fake("OTPD_APP_NAME", "FromEnv");
	CHECK_INT(LOAD("--code-length", "7"), OTP_CONFIG_RUN);
	CHECK_INT(cfg.code_length, 7);
	CHECK_STR(cfg.app_name, "FromEnv");
	reset();
	/* a flag wins even over a bad env value */
	setenv_fake("OTPD_CODE_LENGTH", "99");
	CHECK_INT(LOAD("--code-length=4"), OTP_ETYPE);
	CHECK_STR(err, "OTPD_CODE_LENGTH: 99 is out of range 4..10");
	reset();
}

static void flag_forms(void)
{
	reset();
	CHECK_INT(LOAD("--listen=0.0.0.0:80", "--threads", "4", "--app-name",
		       "My App", "--domain=example.com", "--sms=file:/tmp/x"),
		  OTP_CONFIG_RUN);
	CHECK_STR(cfg.listen, "0.0.0.0:80");
	CHECK_INT(cfg.threads, 4);
	CHECK_STR(cfg.app_name, "My App");
	CHECK_STR(cfg.domain, "example.com");
	CHECK_STR(cfg.sms, "file:/tmp/x");
	reset();
	/* the last of two wins; = may give an empty value; = may hold = */
	CHECK_INT(LOAD("--threads=2", "--threads=3",
		       "--secret-file=", "--store=sqlite:/a=b.db"),
		  OTP_CONFIG_RUN);
	CHECK_INT(cfg.threads, 3);
	CHECK_STR(cfg.secret_file, "");
	CHECK_STR(cfg.store, "sqlite:/a=b.db");
	reset();
	/* a negative number is a value, not a flag */
	CHECK_INT(LOAD("--threads", "-1"), OTP_ETYPE);
	CHECK_STR(err, "--threads: -1 is out of range 0..256");
	reset();
}

static void reload_does_not_leak(void)
{
	reset();
	CHECK_INT(LOAD("--app-name=one"), OTP_CONFIG_RUN);
	CHECK_INT(LOAD("--app-name=two"), OTP_CONFIG_RUN);
	CHECK_STR(cfg.app_name, "two");
	/* a failed load leaves the struct as it was */
	CHECK_INT(LOAD("--app-name=three", "--threads=x"), OTP_ETYPE);
	CHECK_STR(cfg.app_name, "two");
	otp_config_deinit(&cfg);
	CHECK(cfg.app_name == NULL && cfg.listen == NULL && cfg.threads == 0);
	otp_config_deinit(&cfg); /* twice is harmless */
	reset();
}

static void unknown_and_positional(void)
{
	reset();
	CHECK_INT(LOAD("--bogus"), OTP_ETYPE);
	CHECK_STR(err, "--bogus: unknown option (see --help)");
	CHECK_INT(LOAD("--bogus=1"), OTP_ETYPE);
	CHECK_STR(err, "--bogus: unknown option (see --help)");
	CHECK_INT(LOAD("-x"), OTP_ETYPE);
	CHECK_STR(err, "-x: unknown option (see --help)");
	CHECK_INT(LOAD("--"), OTP_ETYPE);
	CHECK_INT(LOAD("--listen1=x"), OTP_ETYPE); /* no prefix matches */
	CHECK_INT(LOAD("--list=x"), OTP_ETYPE);
	CHECK_INT(LOAD("serve"), OTP_ETYPE);
	CHECK(strstr(err, "'serve': unexpected argument") == err);
	CHECK_INT(LOAD("--threads", "2", "extra"), OTP_ETYPE);
	CHECK(strstr(err, "'extra'") != NULL);
	CHECK(cfg.listen == NULL); /* untouched */
	reset();
}

static void missing_value(void)
{
	reset();
	CHECK_INT(LOAD("--listen"), OTP_ETYPE);
	CHECK_STR(err, "--listen: missing value");
	CHECK_INT(LOAD("--app-name", "--threads", "2"), OTP_ETYPE);
	CHECK_STR(err, "--app-name: missing value");
	reset();
}

static void bad_integers(void)
{
	static const char *bad[] = {"abc",  "12abc", "",   " 5",
				    "0x10", "5 ",    "1.5"};
	char arg[64];

	reset();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(arg, sizeof(arg), "--code-length=%s", bad[i]);
		CHECK_INT(LOAD(arg), OTP_ETYPE);
		snprintf(arg, sizeof(arg),
			 "--code-length: '%s' is not a whole number", bad[i]);
		CHECK_STR(err, arg);
	}
	CHECK_INT(LOAD("--code-length", "11"), OTP_ETYPE);
	CHECK_STR(err, "--code-length: 11 is out of range 4..10");
	CHECK_INT(LOAD("--code-length=3"), OTP_ETYPE);
	CHECK_STR(err, "--code-length: 3 is out of range 4..10");
	CHECK_INT(LOAD("--limit-ip=99999999999999999999999"), OTP_ETYPE);
	CHECK_STR(err, "--limit-ip: 99999999999999999999999 is out of range "
		       "0..100000000");
	CHECK_INT(LOAD("--code-length=10", "--code-length=4"), OTP_CONFIG_RUN);
	CHECK_INT(cfg.code_length, 4);
	CHECK_INT(LOAD("--limit-phone=100000000", "--session-ttl=31536000"),
		  OTP_CONFIG_RUN);
	CHECK_INT(cfg.limit_phone, 100000000);
	CHECK_INT(LOAD("--outbox-lease=3601"), OTP_ETYPE);
	CHECK_STR(err, "--outbox-lease: 3601 is out of range 0..3600");
	CHECK_INT(LOAD("--outbox-lease=5"), OTP_CONFIG_RUN);
	CHECK_INT(cfg.outbox_lease, 5);
	reset();
	setenv_fake("OTPD_CODE_LENGTH", "11");
	CHECK_INT(LOAD(NULL), OTP_ETYPE);
	CHECK_STR(err, "OTPD_CODE_LENGTH: 11 is out of range 4..10");
	reset();
}

static void bools(void)
{
	static const char *yes[] = {"true", "1", "yes", "on", "TRUE", "On"};
	static const char *no[] = {"false", "0", "no", "off", "False", "OFF"};
	char arg[64];

	reset();
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(arg, sizeof(arg), "--cookie-secure=%s", yes[i]);
		CHECK_INT(LOAD(arg), OTP_CONFIG_RUN);
		CHECK(cfg.cookie_secure);
		CHECK_INT(LOAD("--cookie-secure", no[i]), OTP_CONFIG_RUN);
		CHECK(!cfg.cookie_secure);
	}
	CHECK_INT(LOAD("--cookie-secure"), OTP_CONFIG_RUN);
	CHECK(cfg.cookie_secure);
	/* a bare flag does not swallow the next option */
	CHECK_INT(LOAD("--cookie-secure", "--threads", "3"), OTP_CONFIG_RUN);
	CHECK(cfg.cookie_secure);
	CHECK_INT(cfg.threads, 3);
	/* nor a word that is not a boolean: that is a stray argument */
	CHECK_INT(LOAD("--cookie-secure", "maybe"), OTP_ETYPE);
	CHECK(strstr(err, "'maybe': unexpected argument") == err);
	CHECK_INT(LOAD("--cookie-secure=maybe"), OTP_ETYPE);
	CHECK(strstr(err, "--cookie-secure: 'maybe' is not a boolean") == err);
	CHECK_INT(LOAD("--cookie-secure="), OTP_ETYPE);
	reset();
	setenv_fake("OTPD_COOKIE_SECURE", "nah");
	CHECK_INT(LOAD(NULL), OTP_ETYPE);
	CHECK(strstr(err, "OTPD_COOKIE_SECURE: 'nah' is not a boolean") == err);
	reset();
	setenv_fake("OTPD_COOKIE_SECURE", "on");
	CHECK_INT(LOAD("--cookie-secure=off"), OTP_CONFIG_RUN);
	CHECK(!cfg.cookie_secure);
	reset();
}

static void enums(void)
{
	reset();
	CHECK_INT(LOAD("--cookie-samesite=strict", "--log-level", "WARN"),
		  OTP_CONFIG_RUN);
	CHECK_STR(cfg.cookie_samesite, "Strict"); /* canonical spelling */
	CHECK_STR(cfg.log_level, "warn");
	CHECK_INT(LOAD("--log-level=loud"), OTP_ETYPE);
	CHECK_STR(err,
		  "--log-level: 'loud' is not one of debug, info, warn, error");
	CHECK_INT(LOAD("--cookie-samesite=Lax-ish"), OTP_ETYPE);
	CHECK_STR(err,
		  "--cookie-samesite: 'Lax-ish' is not one of Lax, Strict, "
		  "None");
	reset();
}

static void samesite_none_needs_secure(void)
{
	reset();
	CHECK_INT(LOAD("--cookie-samesite=None"), OTP_ETYPE);
	CHECK(strstr(err, "--cookie-samesite") != NULL);
	CHECK(strstr(err, "--cookie-secure") != NULL);
	CHECK(cfg.cookie_samesite == NULL);
	CHECK_INT(LOAD("--cookie-samesite=None", "--cookie-secure"),
		  OTP_CONFIG_RUN);
	CHECK_STR(cfg.cookie_samesite, "None");
	/* checked after everything: the order of flags does not matter */
	CHECK_INT(LOAD("--cookie-secure", "--cookie-samesite=None"),
		  OTP_CONFIG_RUN);
	reset();
	setenv_fake("OTPD_COOKIE_SAMESITE", "None");
	setenv_fake("OTPD_COOKIE_SECURE", "true");
	CHECK_INT(LOAD(NULL), OTP_CONFIG_RUN);
	CHECK_INT(LOAD("--cookie-secure=false"), OTP_ETYPE);
	CHECK(strstr(err, "--cookie-secure") != NULL);
	reset();
}

static void listen_forms(void)
{
	static const char *good[] = {"127.0.0.1:8080", "0.0.0.0:65535",
				     "localhost:1",    "[::1]:80",
				     "[::]:8080",      "[2001:db8::1]:443"};
	static const char *bad[] = {
	    "localhost",      ":80",	      "127.0.0.1:",  "127.0.0.1:0",
	    "1.2.3.4:65536",  "[::1]8080",    "::1:80",	     "[::1]:",
	    "example.com:80", "1.2.3.4:80x",  "1.2.3.4:+80", "1.2.3.4: 80",
	    "256.1.1.1:80",   "[1.2.3.4]:80", "[]:80",	     "1.2.3.4:123456"};
	char arg[64];

	reset();
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(arg, sizeof(arg), "--listen=%s", good[i]);
		CHECK_INT(LOAD(arg), OTP_CONFIG_RUN);
		CHECK_STR(cfg.listen, good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(arg, sizeof(arg), "--listen=%s", bad[i]);
		if (LOAD(arg) != OTP_ETYPE)
			fprintf(stderr, "accepted --listen=%s\n", bad[i]);
		CHECK_INT(LOAD(arg), OTP_ETYPE);
		snprintf(arg, sizeof(arg), "--listen: '%s' is not HOST:PORT",
			 bad[i]);
		CHECK(strncmp(err, arg, strlen(arg)) == 0);
	}
	reset();
}

/* Each string check: one value it takes, one it refuses, and the words the
 * refusal must hold. */
static void string_shapes(void)
{
	static const struct {
		const char *arg;
		int want;
		const char *msg;
	} cases[] = {
	    {"--store=sqlite:x.db", OTP_CONFIG_RUN, NULL},
	    {"--store=sqlite:", OTP_ETYPE, "--store: 'sqlite:' is not a store"},
	    {"--store=redis://h", OTP_ETYPE, "--store: 'redis://h' is not"},
	    {"--store=redis://127.0.0.1:6379", OTP_CONFIG_RUN, NULL},
	    {"--store=redis://redis.internal:6380/2", OTP_CONFIG_RUN, NULL},
	    {"--store=redis://:s%40cret@[::1]:6379/0", OTP_CONFIG_RUN, NULL},
	    {"--store=redis://otpd:pw@10.0.0.5:6379", OTP_CONFIG_RUN, NULL},
	    {"--store=redis://h:0", OTP_ETYPE, "--store: 'redis://h:0' is not"},
	    {"--store=redis://h:65536", OTP_ETYPE,
	     "--store: 'redis://h:65536'"},
	    {"--store=redis://h:6379/", OTP_ETYPE,
	     "--store: 'redis://h:6379/'"},
	    {"--store=redis://h:6379/x", OTP_ETYPE,
	     "--store: 'redis://h:6379/x'"},
	    {"--store=redis://pw@h:6379", OTP_ETYPE,
	     "--store: 'redis://pw@h:6"},
	    {"--store=redis://:%zz@h:1", OTP_ETYPE,
	     "--store: 'redis://:%zz@h:1'"},
	    {"--store=redis://:6379", OTP_ETYPE, "--store: 'redis://:6379'"},
	    {"--store=redis://[::1:6379", OTP_ETYPE, "--store: 'redis://[::1:"},
	    {"--store=redis://h :1", OTP_ETYPE,
	     "--store: 'redis://h :1' is not"},
	    {"--store=redis+unix:///run/redis/redis-server.sock",
	     OTP_CONFIG_RUN, NULL},
	    {"--store=redis+unix://:s%40cret@/run/redis.sock?db=2",
	     OTP_CONFIG_RUN, NULL},
	    {"--store=redis+unix://otpd:pw@/tmp/r.sock", OTP_CONFIG_RUN, NULL},
	    {"--store=redis+unix://run/redis.sock", OTP_ETYPE,
	     "--store: 'redis+unix://run/redis.sock' is not"},
	    {"--store=redis+unix:///", OTP_ETYPE, "--store: 'redis+unix:///'"},
	    {"--store=redis+unix:///r.sock?db=", OTP_ETYPE,
	     "--store: 'redis+unix:///r.sock?db='"},
	    {"--store=redis+unix:///r.sock?db=x", OTP_ETYPE,
	     "--store: 'redis+unix:///r.sock?db=x'"},
	    {"--store=redis+unix:///r.sock?pass=x", OTP_ETYPE,
	     "--store: 'redis+unix:///r.sock?pass=x'"},
	    {"--store=redis+unix://pw@/r.sock", OTP_ETYPE,
	     "--store: 'redis+unix://pw@/r.sock'"},
	    {"--store=redis:///r.sock", OTP_ETYPE,
	     "--store: 'redis:///r.sock' is not"},
	    {"--store=redisx://h:1", OTP_ETYPE,
	     "--store: 'redisx://h:1' is not"},
	    {"--store=redis:h:1", OTP_ETYPE,
	     "--store: 'redis:h:1' is not a store"},
	    {"--sms=null", OTP_CONFIG_RUN, NULL},
	    {"--sms=console", OTP_CONFIG_RUN, NULL},
	    {"--sms=file:", OTP_ETYPE, "--sms: 'file:' is not an SMS driver"},
	    {"--sms=twilio", OTP_ETYPE, "--sms: 'twilio' is not"},
	    {"--sms=twilio:", OTP_CONFIG_RUN, NULL},
	    {"--sms=consolex", OTP_ETYPE,
	     "--sms: 'consolex' is not an SMS driver list (console takes"},
	    {"--store=sqlite:", OTP_ETYPE,
	     "--store: 'sqlite:' is not a store: sqlite:PATH needs a PATH"},
	    {"--sms=webhook:http://a/x,kannel:http://u:p@k:13013/cgi-bin/"
	     "sendsms,twilio:https://api.twilio.com,file:/x,console,null",
	     OTP_CONFIG_RUN, NULL},
	    {"--sms=webhook:", OTP_ETYPE,
	     "--sms: 'webhook:' is not an SMS driver list"},
	    {"--sms=null,", OTP_ETYPE,
	     "--sms: 'null,' is not an SMS driver list"},
	    {"--sms=,null", OTP_ETYPE,
	     "--sms: ',null' is not an SMS driver list"},
	    {"--sms=null,null,null,null,null,null,null,null", OTP_CONFIG_RUN,
	     NULL},
	    {"--sms=null,null,null,null,null,null,null,null,null", OTP_ETYPE,
	     "--sms: 'null,null,null,null,null,null,null,null,null' is not"},
	    {"--public-url=https://otp.example.com:8443/base", OTP_CONFIG_RUN,
	     NULL},
	    {"--public-url=ftp://x", OTP_ETYPE,
	     "--public-url: 'ftp://x' must start with"},
	    {"--public-url=http://a b", OTP_ETYPE,
	     "--public-url: 'http://a b' may not hold"},
	    {"--cookie-name=a-B_9", OTP_CONFIG_RUN, NULL},
	    {"--cookie-name=", OTP_ETYPE, "--cookie-name: '' is 0 bytes long"},
	    {"--cookie-name=a;b", OTP_ETYPE, "--cookie-name: 'a;b' may hold"},
	    {"--cookie-name=a b", OTP_ETYPE, "--cookie-name: 'a b' may hold"},
	    {"--cookie-name="
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaaaa",
	     OTP_ETYPE, "--cookie-name: 'aaaa"},
	    {"--countries-allow=1,44,351", OTP_CONFIG_RUN, NULL},
	    {"--countries-deny=7", OTP_CONFIG_RUN, NULL},
	    {"--countries-allow=1,,44", OTP_ETYPE,
	     "--countries-allow: '1,,44'"},
	    {"--countries-allow=1234", OTP_ETYPE, "--countries-allow: '1234'"},
	    {"--countries-allow=+44", OTP_ETYPE, "--countries-allow: '+44'"},
	    {"--countries-deny=44,", OTP_ETYPE, "--countries-deny: '44,'"},
	    {"--countries-deny=044", OTP_ETYPE, "--countries-deny: '044'"},
	    {"--countries-deny=1, 44", OTP_ETYPE, "--countries-deny: '1, 44'"},
	    {"--fraud=monitor", OTP_CONFIG_RUN, NULL},
	    {"--fraud=block", OTP_ETYPE, NULL},
	    {"--fraud-allow=+1415,192.0.2.0/24,key:0123456789abcdef",
	     OTP_CONFIG_RUN, NULL},
	    {"--fraud-allow=+14x", OTP_ETYPE, NULL},
	    {"--fraud-allow=key:XYZ", OTP_ETYPE, NULL},
	    {"--spend-cap-hour=50,NG=5,US=20.5", OTP_CONFIG_RUN, NULL},
	    {"--spend-cap-day=0", OTP_ETYPE, NULL},
	    {"--spend-cap-day=ng=5", OTP_ETYPE, NULL},
	    {"--app-name=Acme Login", OTP_CONFIG_RUN, NULL},
	    {"--app-name=", OTP_ETYPE,
	     "--app-name: '' is 0 bytes long, not 1..32"},
	    {"--app-name=123456789012345678901234567890123", OTP_ETYPE,
	     "--app-name: '123456789012345678901234567890123' is 33 bytes "
	     "long"},
	    {"--app-name=a\nb", OTP_ETYPE, "--app-name: 'a\nb' has a control"},
	    {"--android-app-hash=FA+9qCX9VSu", OTP_CONFIG_RUN, NULL},
	    {"--android-app-hash=", OTP_CONFIG_RUN, NULL},
	    {"--android-app-hash=FA+9qCX9VS", OTP_ETYPE,
	     "--android-app-hash: 'FA+9qCX9VS' is not 11"},
	    {"--android-app-hash=FA-9qCX9VSu", OTP_ETYPE,
	     "--android-app-hash: 'FA-9qCX9VSu' is not 11"},
	    {"--sms-template={code}\\n{app}", OTP_CONFIG_RUN, NULL},
	    {"--sms-template=", OTP_ETYPE, "--sms-template: '' is 0 bytes"},
	    {"--domain=login.example-1.com", OTP_CONFIG_RUN, NULL},
	    {"--domain=localhost", OTP_CONFIG_RUN, NULL},
	    {"--domain=exa mple.com", OTP_ETYPE,
	     "--domain: 'exa mple.com' is not"},
	    {"--domain=.example.com", OTP_ETYPE, "--domain: '.example.com'"},
	    {"--domain=example.com.", OTP_ETYPE, "--domain: 'example.com.'"},
	    {"--domain=a..b", OTP_ETYPE, "--domain: 'a..b'"},
	    {"--domain=-a.com", OTP_ETYPE, "--domain: '-a.com'"},
	    {"--domain=https://a.com", OTP_ETYPE, "--domain: 'https://a.com'"},
	    {"--trusted-proxies=10.0.0.1", OTP_CONFIG_RUN, NULL},
	    {"--trusted-proxies=10.0.0.1,fd00::2", OTP_CONFIG_RUN, NULL},
	    {"--trusted-proxies=10.0.0.1,", OTP_ETYPE,
	     "--trusted-proxies: '10.0.0.1,' is not"},
	    {"--trusted-proxies=proxy.local", OTP_ETYPE,
	     "--trusted-proxies: 'proxy.local'"},
	    {"--trusted-proxies=10.0.0.0/8,fd00::/8", OTP_CONFIG_RUN, NULL},
	    {"--trusted-proxies=10.0.0.0/33", OTP_ETYPE,
	     "--trusted-proxies: '10.0.0.0/33'"},
	    {"--cors-origins=https://app.example.com,http://localhost:3000",
	     OTP_CONFIG_RUN, NULL},
	    {"--cors-origins=*", OTP_ETYPE, "--cors-origins: '*'"},
	    {"--cors-origins=https://app.example.com/", OTP_ETYPE,
	     "--cors-origins:"},
	    {"--cors-origins=https://a.example,", OTP_ETYPE, "--cors-origins:"},
	    {"--cors-origins=app.example.com", OTP_ETYPE, "--cors-origins:"},
	};

	reset();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = LOAD(cases[i].arg);
		if (r != cases[i].want ||
		    (cases[i].msg &&
		     strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0))
			fprintf(stderr, "case %s: got %d \"%s\"\n",
				cases[i].arg, r, err);
		CHECK_INT(r, cases[i].want);
		if (cases[i].msg)
			CHECK(strncmp(err, cases[i].msg,
				      strlen(cases[i].msg)) == 0);
	}
	reset();
}

static void domain_length(void)
{
	char arg[300] = "--domain=";
	size_t n = strlen(arg);

	/* 4 labels of 63 plus dots: 255 bytes, too long; drop 2 to fit */
	for (int l = 0; l < 4; l++) {
		if (l)
			arg[n++] = '.';
		memset(arg + n, 'a', 63);
		n += 63;
	}
	arg[n] = '\0';
	reset();
	CHECK_INT(LOAD(arg), OTP_ETYPE);
	/* the value is cut short in the message; the reason survives */
	CHECK(strstr(err, "aaa...' is 255 bytes long, not 0..253") != NULL);
	CHECK(strlen(err) < 120);
	arg[n - 2] = '\0';
	CHECK_INT(LOAD(arg), OTP_CONFIG_RUN);
	CHECK_INT(strlen(cfg.domain), 253);
	/* a label over 63 */
	memset(arg + 9, 'b', 64);
	arg[9 + 64] = '\0';
	CHECK_INT(LOAD(arg), OTP_ETYPE);
	reset();
}

static void help(void)
{
	reset();
	CHECK_INT(LOAD("--help"), OTP_CONFIG_HELP);
	CHECK_INT(LOAD("-h"), OTP_CONFIG_HELP);
	CHECK_INT(LOAD("--threads", "2", "--help"), OTP_CONFIG_HELP);
	CHECK_INT(LOAD("--help-md"), OTP_CONFIG_HELP_MD);
	CHECK_INT(LOAD("--help-man"), OTP_CONFIG_HELP_MAN);
	CHECK_INT(LOAD("--version"), OTP_CONFIG_VERSION);
	CHECK(cfg.listen == NULL); /* help fills nothing */
	/* a broken environment does not hide the help */
	setenv_fake("OTPD_THREADS", "many");
	CHECK_INT(LOAD("--help"), OTP_CONFIG_HELP);
	CHECK_INT(LOAD(NULL), OTP_ETYPE);
	reset();
}

/* Runs `out` into memory and returns the text (caller frees). */
/* noinline: gcc -O2 mistakes the memstream buffer for a dangling local. */
__attribute__((noinline)) static char *capture(void (*out)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	out(f);
	fclose(f);
	return buf;
}

/* `word` in text as a whole word: no name character on either side. */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
		char before = p == text ? ' ' : p[-1], after = p[n];
		if (!isalnum((unsigned char)before) && before != '-' &&
		    before != '_' && !isalnum((unsigned char)after) &&
		    after != '-' && after != '_')
			return true;
	}
	return false;
}

static bool has_all_flags(const char *text)
{
	char want[64];

	for (size_t i = 0; i < NFLAGS; i++) {
		snprintf(want, sizeof(want), "--%s", flags[i]);
		if (!has_word(text, want)) {
			fprintf(stderr, "missing %s\n", want);
			return false;
		}
		env_of(flags[i], want, sizeof(want));
		if (!has_word(text, want)) {
			fprintf(stderr, "missing %s\n", want);
			return false;
		}
	}
	return true;
}

static void usage_text(void)
{
	char *text = capture(otp_config_usage);
	bool ok = strncmp(text, "usage: otpd [options]\n", 22) == 0 &&
		  has_all_flags(text) && strstr(text, "OTPD_SECRET ") &&
		  strstr(text, "127.0.0.1:8080") && strstr(text, "4..10") &&
		  strstr(text, "Lax, Strict, None");
	free(text);
	CHECK(ok);
}

static void usage_fits_80_columns(void)
{
	char *text = capture(otp_config_usage);
	size_t widest = 0;

	for (char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		widest = n > widest ? n : widest;
		p += n + (p[n] == '\n');
	}
	free(text);
	CHECK(widest <= 80);
}

static void man_text(void)
{
	char *text = capture(otp_config_man);
	bool ok = strstr(text, "\n.TH OTPD 8 ") &&
		  strstr(text, "\n.TP\n\\fB\\-\\-store\\fR") &&
		  strstr(text, "OTPD_CODE_LENGTH") &&
		  strstr(text, "CREDENTIALS_DIRECTORY");
	free(text);
	CHECK(ok);
}

/* systemd's LoadCredential=otpd-secret:PATH is the secret file unless one is
 * given; a credentials directory without it changes nothing. */
static void credentials_directory(void)
{
	char dir[] = "/tmp/otpd-cred-XXXXXX", path[64];

	CHECK(mkdtemp(dir) != NULL);
	reset();
	setenv_fake("CREDENTIALS_DIRECTORY", dir);
	CHECK_INT(LOAD(NULL), OTP_CONFIG_RUN);
	CHECK_STR(cfg.secret_file, "");
	snprintf(path, sizeof(path), "%s/otpd-secret", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	CHECK_INT(LOAD(NULL), OTP_CONFIG_RUN);
	CHECK_STR(cfg.secret_file, path);
	CHECK_INT(LOAD("--secret-file", "/etc/otpd/secret"), OTP_CONFIG_RUN);
	CHECK_STR(cfg.secret_file, "/etc/otpd/secret");
	setenv_fake("OTPD_SECRET_FILE", "/etc/otpd/other");
	CHECK_INT(LOAD(NULL), OTP_CONFIG_RUN);
	CHECK_STR(cfg.secret_file, "/etc/otpd/other");
	reset();
	harness_remove_dir(dir);
}

static void markdown_text(void)
{
	char *a = capture(otp_config_markdown);
	char *b = capture(otp_config_markdown);
	bool same = strcmp(a, b) == 0;
	bool ok = strncmp(a, "# otpd configuration\n", 21) == 0 &&
		  has_all_flags(a) && strstr(a, "`OTPD_SECRET`") &&
		  strstr(a, "| flag | env | default | range | meaning |") &&
		  strstr(a, "| `--code-length` | `OTPD_CODE_LENGTH` | `6` | "
			    "4..10 |");
	/* every table row has the same number of cells */
	size_t rows = 0;
	for (char *line = strstr(a, "\n| `--"); line;
	     line = strstr(line + 1, "\n| `--")) {
		int bars = 0;
		for (char *p = line + 1; *p && *p != '\n'; p++)
			bars += *p == '|' && p[-1] != '\\';
		ok = ok && bars == 6;
		rows++;
	}
	free(a);
	free(b);
	CHECK(same);
	CHECK(ok);
	CHECK_INT(rows, NFLAGS);
}

/* --admin-listen: off (empty) by default; an address, or empty again. */
static void admin_listen(void)
{
	reset();
	CHECK_INT(LOAD(NULL), OTP_CONFIG_RUN);
	CHECK_STR(cfg.admin_listen, "");
	CHECK_INT(LOAD("--admin-listen", "127.0.0.1:9464"), OTP_CONFIG_RUN);
	CHECK_STR(cfg.admin_listen, "127.0.0.1:9464");
	CHECK_INT(LOAD("--admin-listen", "[::1]:9464"), OTP_CONFIG_RUN);
	CHECK_INT(LOAD("--admin-listen", ""), OTP_CONFIG_RUN);
	CHECK_INT(LOAD("--admin-listen", "9464"), OTP_ETYPE);
	CHECK(strstr(err, "--admin-listen") != NULL);
	reset();
}

/* --admin-socket: beside the store by default (""), a path, or off. */
static void admin_socket(void)
{
	reset();
	CHECK_INT(LOAD(NULL), OTP_CONFIG_RUN);
	CHECK_STR(cfg.admin_socket, "");
	CHECK_INT(LOAD("--admin-socket", "/run/otpd/ctl"), OTP_CONFIG_RUN);
	CHECK_STR(cfg.admin_socket, "/run/otpd/ctl");
	CHECK_INT(LOAD("--admin-socket", "off"), OTP_CONFIG_RUN);
	CHECK_STR(cfg.admin_socket, "off");
	char longer[120];
	memset(longer, 'a', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	CHECK_INT(LOAD("--admin-socket", longer), OTP_ETYPE); /* sun_path */
	reset();
}

/* A Redis URL the config takes is one the store reads when it connects:
 * a password holding %00 (no C string can) and a host longer than the
 * store keeps passed the check, so otpd started and failed on its first
 * connection, and so did a '/' inside [IPv6] (found by
 * tests/fuzz/fuzz_url). */
static void redis_urls_the_store_can_read(void)
{
	char arg[400] = "--store=redis://";
	memset(arg + 16, 'h', 256);
	strcpy(arg + 16 + 256, ":6379");
	CHECK_INT(LOAD(arg), OTP_ETYPE);
	strcpy(arg + 16 + 255, ":6379");
	CHECK_INT(LOAD(arg), OTP_CONFIG_RUN);
	reset();
	CHECK_INT(LOAD("--store=redis://:%00@h:1"), OTP_ETYPE);
	CHECK_INT(LOAD("--store=redis://[::1/x]:6379"), OTP_ETYPE);
	CHECK_INT(LOAD("--store=redis://:%01@h:1"), OTP_CONFIG_RUN);
	reset();
}

static const struct harness_test tests[] = {
    TEST(admin_listen),
    TEST(admin_socket),
    TEST(defaults),
    TEST(null_env_means_getenv),
    TEST(env_overrides_default),
    TEST(every_flag_has_its_env),
    TEST(flag_overrides_env),
    TEST(flag_forms),
    TEST(reload_does_not_leak),
    TEST(unknown_and_positional),
    TEST(missing_value),
    TEST(bad_integers),
    TEST(bools),
    TEST(enums),
    TEST(samesite_none_needs_secure),
    TEST(listen_forms),
    TEST(string_shapes),
    TEST(redis_urls_the_store_can_read),
    TEST(domain_length),
    TEST(help),
    TEST(usage_text),
    TEST(markdown_text),
    TEST(usage_fits_80_columns),
    TEST(man_text),
    TEST(credentials_directory),
};

HARNESS_MAIN("config", tests)
