/* config.c - the table of otpd's settings and the loader that fills
 * struct otp_config from it.
 *
 * Each setting is one row of `settings`: flag name, type, field, default as
 * text, bounds, environment variable and help. Defaults, OTPD_* variables and
 * --flags all pass through the same parser and checks, so a default cannot
 * dodge validation, and --help and docs/CONFIG.md cannot drift from the code.
 * This file checks syntax only, and knows no store backend or SMS driver: the
 * shapes of --store and --sms (and their forms in --help) are asked of the
 * store registry and the driver table. What a value means (opening the store,
 * picking the SMS driver) lives with the part it configures, wired up in
 * main.c. The
 * secret is deliberately not a row: it comes only from OTPD_SECRET, so it never
 * shows in argv or ps.
 *
 * otp_config_load needs `c` zeroed or filled by an earlier load: it frees the
 * old strings on success and leaves `c` untouched on help or error.
 */
#include "core/config.h"
#include "core/config_int.h"
#include "core/cidr.h"
#include "core/phone.h"
#include "core/err.h"
#include "sms/sms.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const samesites[] = {"Lax", "Strict", "None", NULL};
static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const providers[] = {"local", "startmessaging", NULL};
static const char *const scopes[] = {"process", "store", NULL};
static const char *const fraud_modes[] = {"enforce", "monitor", "off", NULL};

/* clang-format off */
#define FIELD(f) offsetof(struct otp_config, f)
#define STR(name, f, def, lo, hi, check, form, env, help) \
	{name, K_STR, FIELD(f), def, lo, hi, NULL, check, form, NULL, env, help}
/* A string whose shape the part it configures knows (store, SMS drivers). */
#define STRP(name, f, def, check, form_of, env, help) \
	{name, K_STR, FIELD(f), def, 0, 0, NULL, check, NULL, form_of, env, help}
#define INT(name, f, def, lo, hi, env, help) \
	{name, K_INT, FIELD(f), def, lo, hi, NULL, NULL, NULL, NULL, env, help}
#define BOOL(name, f, def, env, help) \
	{name, K_BOOL, FIELD(f), def, 0, 0, NULL, NULL, NULL, NULL, env, help}
#define ENUM(name, f, def, values, env, help) \
	{name, K_ENUM, FIELD(f), def, 0, 0, values, NULL, NULL, NULL, env, help}

const struct setting otp_cfg_settings[] = {
	STR("listen", listen, "127.0.0.1:8080", 0, 0, otp_cfg_check_listen, "HOST:PORT",
	    "OTPD_LISTEN", "address to listen on: IPv4, localhost or [IPv6], and a port"),
	STR("admin-listen", admin_listen, "", 0, 0, otp_cfg_check_listen_opt, "HOST:PORT or empty",
	    "OTPD_ADMIN_LISTEN", "address of the admin listener (/metrics, /healthz, /readyz); "
	    "empty = none. Never expose it to the public"),
	BOOL("metrics", metrics, "true",
	     "OTPD_METRICS", "count each request by route and time each store operation for "
	     "/metrics; false leaves only the engine's and the outbox's counters (what "
	     "`make bench` compares)"),
	STR("admin-socket", admin_socket, "", 0, 107, otp_cfg_check_text, "PATH, empty or off",
	    "OTPD_ADMIN_SOCKET", "otpctl's Unix socket (0600): empty = beside the store "
	    "(PATH.ctl for sqlite:PATH, else ./var/otpd.ctl); off = none"),
	INT("threads", threads, "0", 0, 256,
	    "OTPD_THREADS", "worker threads; 0 = one per CPU this process may run on (its affinity: taskset, CPUAffinity=)"),
	INT("wait-threads", wait_threads, "64", 0, 256,
	    "OTPD_WAIT_THREADS", "requests that wait on the store or a remote (send, verify, "
	    "logout, delivery reports) run, while their connections are suspended, on this many "
	    "threads, or as this many fibers (see --fibers): the sends and verifies in flight "
	    "share one store COMMIT, of up to 64 operations; 0 = they run on the worker threads"),
	BOOL("fibers", fibers, "true",
	     "OTPD_FIBERS", "on a store whose waits park fibers (sqlite, redis) and with the local "
	     "provider, the requests that wait on the store run as fibers on one thread a CPU, "
	     "parked while their COMMIT is pending, instead of one thread each; delivery "
	     "reports still get threads"),
	INT("conn-limit", conn_limit, "1024", 1, 65536,
	    "OTPD_CONN_LIMIT", "open connections at most"),
	INT("conn-timeout", conn_timeout, "10", 1, 3600,
	    "OTPD_CONN_TIMEOUT", "seconds an idle or slow connection may stay open"),
	INT("conn-per-ip", conn_per_ip, "256", 0, 65536,
	    "OTPD_CONN_PER_IP", "open connections per client address (trusted proxies exempt); 0 = no limit"),
	INT("request-timeout", request_timeout, "10", 0, 3600,
	    "OTPD_REQUEST_TIMEOUT", "seconds a request's head and body may take in all, however slowly sent; 0 = none"),
	INT("drain-timeout", drain_timeout, "5", 0, 300,
	    "OTPD_DRAIN_TIMEOUT", "seconds SIGTERM waits for requests in flight and the SMS in hand; "
	    "then what is left gets 503 or goes back to its lease"),
	INT("body-max", body_max, "8192", 64, 1048576,
	    "OTPD_BODY_MAX", "bytes of request body at most"),
	STR("trusted-proxies", trusted_proxies, "", 0, 0, otp_cfg_check_ips, "IPs or CIDR ranges, comma-separated",
	    "OTPD_TRUSTED_PROXIES", "proxies whose X-Forwarded-For is believed (set it behind nginx or a load balancer); empty = none"),
	STR("cors-origins", cors_origins, "", 0, 1024, otp_cfg_check_origins,
	    "origins, comma-separated, e.g. https://app.example.com",
	    "OTPD_CORS_ORIGINS", "web pages on other origins that may call the API with the "
	    "session cookie (CORS with credentials); empty = none"),
	STRP("store", store, OTP_STORE_URL_DEFAULT, otp_cfg_check_store, otp_store_forms,
	    "OTPD_STORE", "where codes, sessions, limits and the outbox are kept: an SQLite file "
	    "(one process), or a Redis server that several otpd processes share"),
	STRP("sms", sms, OTP_SMS_DEFAULT, otp_cfg_check_sms, otp_sms_forms,
	    "OTPD_SMS", "how codes are sent, drivers tried in order (failover); console prints, "
	    "null drops, file:PATH appends JSON lines"),
	STR("sms-from", sms_from, "", 0, 64, otp_cfg_check_text, "0..64 bytes",
	    "OTPD_SMS_FROM", "sender: a number or name (Kannel, Twilio), or a Twilio Messaging Service SID"),
	STR("public-url", public_url, "", 0, 512, otp_cfg_check_url, "http(s)://HOST[:PORT][/PATH]",
	    "OTPD_PUBLIC_URL", "otpd's URL as gateways reach it, for delivery reports; empty = http://LISTEN"),
	INT("sms-workers", sms_workers, "4", 1, 64,
	    "OTPD_SMS_WORKERS", "delivery threads, each with its own gateway connections"),
	INT("sms-attempts", sms_attempts, "6", 1, 50,
	    "OTPD_SMS_ATTEMPTS", "tries per driver for a transient failure before the next driver"),
	INT("sms-backoff-ms", sms_backoff_ms, "1000", 10, 60000,
	    "OTPD_SMS_BACKOFF_MS", "first retry delay in ms; doubles each try, at most 60 s, minus up to 20% jitter"),
	INT("sms-timeout", sms_timeout, "10", 1, 120,
	    "OTPD_SMS_TIMEOUT", "seconds a gateway request may take in all"),
	INT("sms-connect-timeout", sms_connect_timeout, "3", 1, 60,
	    "OTPD_SMS_CONNECT_TIMEOUT", "seconds to connect to a gateway"),
	INT("outbox-lease", outbox_lease, "0", 0, 3600,
	    "OTPD_OUTBOX_LEASE", "seconds a delivery worker holds a message it took before another "
	    "worker or process may take it; 0 = 30; at least the SMS timeouts + 2 s"),
	STR("secret-file", secret_file, "", 0, 0, NULL, "PATH",
	    "OTPD_SECRET_FILE", "file for the server's secret key; empty = next to the database"),
	STR("secret-previous-file", secret_previous_file, "", 0, 0, NULL, "PATH",
	    "OTPD_SECRET_PREVIOUS_FILE", "while rotating the secret: the old one, still accepted for what it "
	    "made (or OTPD_SECRET_PREVIOUS); keep it until codes and sessions made before have expired"),
	INT("code-length", code_length, "6", 4, 10,
	    "OTPD_CODE_LENGTH", "digits in a code"),
	INT("code-ttl", code_ttl, "300", 30, 86400,
	    "OTPD_CODE_TTL", "seconds a code stays valid"),
	INT("code-attempts", code_attempts, "5", 1, 100,
	    "OTPD_CODE_ATTEMPTS", "wrong guesses before a code is dead"),
	INT("limit-ip", limit_ip, "60", 0, 100000000,
	    "OTPD_LIMIT_IP", "requests per minute from one client IP; 0 = off"),
	INT("limit-phone", limit_phone, "5", 0, 100000000,
	    "OTPD_LIMIT_PHONE", "codes an hour to one phone from one session, IP or API key"
	    " (from everyone: 4 times that); 0 = off"),
	INT("resend-cooldown", resend_cooldown, "30", 0, 86400,
	    "OTPD_RESEND_COOLDOWN", "seconds between two sends to one phone from one IP or API key;"
	    " 0 = off"),
	INT("limit-key", limit_key, "20", 0, 1000000,
	    "OTPD_LIMIT_KEY", "provider API requests per second per API key; 0 = off"),
	ENUM("limit-scope", limit_scope, "process", scopes,
	     "OTPD_LIMIT_SCOPE", "where the per-IP and per-key counts live: process (memory, fast; "
	     "N processes behind a balancer allow up to N times the rate) or store (one count "
	     "shared by every process on the store, one store write per request); per-phone "
	     "limits are always in the store"),
	ENUM("provider", provider, "local", providers,
	     "OTPD_PROVIDER", "where codes come from: local (this otpd) or startmessaging (an upstream API)"),
	STR("upstream-url", upstream_url, "", 0, 512, otp_cfg_check_url, "http(s)://HOST[:PORT][/PATH]",
	    "OTPD_UPSTREAM_URL", "base URL of the upstream API (its key: OTPD_UPSTREAM_API_KEY)"),
	INT("upstream-timeout", upstream_timeout, "10", 1, 120,
	    "OTPD_UPSTREAM_TIMEOUT", "seconds an upstream call may take"),
	INT("session-ttl", session_ttl, "86400", 60, 31536000,
	    "OTPD_SESSION_TTL", "seconds a login session lasts"),
	INT("session-cache", session_cache, "32768", 0, 4194304,
	    "OTPD_SESSION_CACHE", "sessions kept in memory for /auth/check (256 bytes each, 8 MiB "
	    "at most by default); on redis, kept coherent with every process by Redis's "
	    "invalidation messages, each row read again within 1 s; 0 = off"),
	STR("cookie-name", cookie_name, "otpd_session", 1, 64, otp_cfg_check_token, "1..64 of A-Z a-z 0-9 _ -",
	    "OTPD_COOKIE_NAME", "name of the session cookie"),
	BOOL("cookie-secure", cookie_secure, "false",
	     "OTPD_COOKIE_SECURE", "send the session cookie over HTTPS only (Secure)"),
	ENUM("cookie-samesite", cookie_samesite, "Lax", samesites,
	     "OTPD_COOKIE_SAMESITE", "SameSite of the session cookie; None needs --cookie-secure"),
	STR("countries-allow", countries_allow, "", 0, 0, otp_cfg_check_codes, "calling codes, e.g. 1,44",
	    "OTPD_COUNTRIES_ALLOW", "only these destinations get codes; empty = all"),
	STR("countries-deny", countries_deny, "", 0, 0, otp_cfg_check_codes, "calling codes, e.g. 1,44",
	    "OTPD_COUNTRIES_DENY", "these destinations are refused with 403"),
	STR("default-region", default_region, "", 0, 2, otp_phone_check_region, "region code, e.g. US",
	    "OTPD_DEFAULT_REGION", "country assumed for numbers given without +<country code>; empty = refuse them"),
	STR("sms-number-types", sms_number_types, "mobile,fixed-line-or-mobile", 1, 256, otp_phone_check_types,
	    "list of mobile, fixed-line, fixed-line-or-mobile, voip, toll-free, premium-rate, ...",
	    "OTPD_SMS_NUMBER_TYPES", "number types that get codes; others answer 400 number_type_not_allowed"),
	STR("phone-ranges-allow", phone_ranges_allow, "", 0, 512, otp_phone_check_ranges, "E.164 prefixes, e.g. +4475",
	    "OTPD_PHONE_RANGES_ALLOW", "numbers under these prefixes count as valid mobiles (ranges newer than the metadata)"),
	STR("test-numbers", test_numbers, "", 0, 8192, otp_cfg_check_test_numbers, "LIST",
	    "OTPD_TEST_NUMBERS", "+PHONE=CODE,... or @FILE: log in with a fixed code, no SMS sent, no per-phone "
	    "limits (app-store review, CI); use numbers no subscriber owns, e.g. +12015550123"),
	ENUM("fraud", fraud, "enforce", fraud_modes,
	     "OTPD_FRAUD", "SMS-pumping rules (docs/ABUSE.md): enforce (block and refuse), monitor "
	     "(log and count what would be refused, change nothing) or off"),
	INT("fraud-prefix-digits", fraud_prefix_digits, "3", 1, 8,
	    "OTPD_FRAUD_PREFIX_DIGITS", "digits after the calling code that make a number prefix, "
	    "the unit the rules count and block (+1 415 at 3)"),
	INT("fraud-block-ttl", fraud_block_ttl, "43200", 60, 2592000,
	    "OTPD_FRAUD_BLOCK_TTL", "seconds a rule's block lasts; doubled at each repeat within 30 "
	    "days, at most 16 times"),
	STR("fraud-allow", fraud_allow, "", 0, 8192, otp_cfg_check_fraud_allow, "LIST",
	    "OTPD_FRAUD_ALLOW", "never refused by the rules: E.164 numbers or prefixes (+1415), "
	    "IP ranges (192.0.2.0/24), API key ids (key:ID), comma-separated (more with otpctl "
	    "fraud allow)"),
	INT("fraud-pow-bits", fraud_pow_bits, "13", 8, 28,
	    "OTPD_FRAUD_POW_BITS", "leading zero bits of the proof of work a send at elevated risk "
	    "must show (login API, 428); each bit doubles the work. 13: a mean of ~0.2 s in the "
	    "page on a 4x-slowed CPU (a phone), measured (docs/ABUSE.md)"),
	STR("spend-prices", spend_prices, "", 0, 0, otp_cfg_check_prices, "PATH",
	    "OTPD_SPEND_PRICES", "CSV of region,price per SMS segment (e.g. US,0.0079); "
	    "empty = every segment costs 1; a region not in it costs its * row, else 1"),
	STR("spend-cap-hour", spend_cap_hour, "", 0, 1024, otp_cfg_check_caps, "N or N,CC=N,...",
	    "OTPD_SPEND_CAP_HOUR", "most spend in the last hour, in all and per region "
	    "(e.g. 50,NG=5); at the cap sends answer 503 spend_limit; empty = no cap"),
	STR("spend-cap-day", spend_cap_day, "", 0, 1024, otp_cfg_check_caps, "N or N,CC=N,...",
	    "OTPD_SPEND_CAP_DAY", "most spend in the last 24 hours, in all and per region; "
	    "empty = no cap"),
	STR("app-name", app_name, "otpd", 1, 32, otp_cfg_check_text, NULL,
	    "OTPD_APP_NAME", "name shown in the SMS text and on the login page"),
	STR("login-redirect-hosts", login_redirect_hosts, "", 0, 1024, otp_cfg_check_origins,
	    "origins, comma-separated, e.g. https://app.example.com",
	    "OTPD_LOGIN_REDIRECT_HOSTS", "other sites the login page may send the user back to "
	    "(its rd=); empty = only paths on the page's own site"),
	STR("domain", domain, "", 0, 253, otp_cfg_check_host, "hostname, at most 253 bytes",
	    "OTPD_DOMAIN", "adds an \"@domain #code\" line so browsers can autofill; empty = none"),
	STR("sms-template", sms_template,
	    "{code} is your {app} code. It expires in {minutes} minutes.", 1, 320,
	    otp_cfg_check_text, "text with {code}, {app}, {minutes}, {domain}; \\n = new line",
	    "OTPD_SMS_TEMPLATE", "the SMS text; must fit one SMS segment with a 10-digit code"),
	STR("android-app-hash", android_app_hash, "", 0, 11, otp_cfg_check_app_hash, "11 characters of A-Z a-z 0-9 + /",
	    "OTPD_ANDROID_APP_HASH", "adds this Android SMS Retriever app hash line; empty = none"),
	ENUM("log-level", log_level, "info", levels,
	     "OTPD_LOG_LEVEL", "least severe message logged"),
	INT("purge-interval", purge_interval, "60", 1, 86400,
	    "OTPD_PURGE_INTERVAL", "seconds between purges of expired rows"),
};
/* clang-format on */

const size_t otp_cfg_nsettings =
    sizeof(otp_cfg_settings) / sizeof(otp_cfg_settings[0]);
#define settings  otp_cfg_settings
#define NSETTINGS otp_cfg_nsettings

static const char *const trues[] = {"true", "1", "yes", "on", NULL};
static const char *const falses[] = {"false", "0", "no", "off", NULL};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return OTP_ETYPE;
}

static char *copy(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

static void replace(char **p, const char *v)
{
	free(*p);
	*p = copy(v);
}

/* The spelling in `list` that matches v, ignoring case; NULL if none. */
static const char *match(const char *const *list, const char *v)
{
	for (; *list; list++)
		if (strcasecmp(*list, v) == 0)
			return *list;
	return NULL;
}

/* 1 true, 0 false, -1 not a boolean. */
static int to_bool(const char *v)
{
	if (match(trues, v))
		return 1;
	return match(falses, v) ? 0 : -1;
}

const char *otp_cfg_join(const char *const *list, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (; *list && len < n; list++)
		len += snprintf(buf + len, n - len, "%s%s", len ? ", " : "",
				*list);
	return buf;
}

static const struct setting *find(const char *name, size_t len)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strlen(settings[i].name) == len &&
		    memcmp(settings[i].name, name, len) == 0)
			return &settings[i];
	return NULL;
}

/* --- the shapes of string values; each returns NULL or why not --- */

/* --- parsing one value into its field --- */

#define CLIP 48

/* A value as an error message shows it: cut short so that a long one cannot
 * push the reason out of a small buffer. */
static void clip(const char *v, char q[CLIP])
{
	if (strlen(v) < CLIP)
		memcpy(q, v, strlen(v) + 1);
	else
		snprintf(q, CLIP, "%.*s...", CLIP - 4, v);
}

static int set_int(long *p, const struct setting *s, const char *v,
		   const char *q, const char *src, char *err, size_t errlen)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || *end || isspace((unsigned char)*v))
		return fail(err, errlen, "%s: '%s' is not a whole number", src,
			    q);
	if (errno == ERANGE || n < s->min || n > s->max)
		return fail(err, errlen, "%s: %s is out of range %ld..%ld", src,
			    q, s->min, s->max);
	*p = n;
	return 0;
}

static int set_str(char **p, const struct setting *s, const char *v,
		   const char *q, const char *src, char *err, size_t errlen)
{
	size_t len = strlen(v);
	const char *why;

	if (s->max > 0 && (len < (size_t)s->min || len > (size_t)s->max))
		return fail(err, errlen,
			    "%s: '%s' is %zu bytes long, not %ld..%ld", src, q,
			    len, s->min, s->max);
	if (s->check && (why = s->check(v)))
		return fail(err, errlen, "%s: '%s' %s", src, q, why);
	replace(p, v);
	return 0;
}

static int set(struct otp_config *c, const struct setting *s, const char *v,
	       const char *src, char *err, size_t errlen)
{
	void *p = (char *)c + s->off;
	char buf[128], q[CLIP];
	const char *e;
	int b;

	clip(v, q);
	switch (s->kind) {
	case K_INT:
		return set_int(p, s, v, q, src, err, errlen);
	case K_STR:
		return set_str(p, s, v, q, src, err, errlen);
	case K_BOOL:
		if ((b = to_bool(v)) < 0)
			return fail(err, errlen,
				    "%s: '%s' is not a boolean (true/false, "
				    "yes/no, on/off, 1/0)",
				    src, q);
		*(bool *)p = b;
		return 0;
	case K_ENUM:
		if (!(e = match(s->values, v)))
			return fail(err, errlen, "%s: '%s' is not one of %s",
				    src, q,
				    otp_cfg_join(s->values, buf, sizeof(buf)));
		replace(p, e);
		return 0;
	}
	return OTP_EINTERNAL;
}

/* Rules between settings, checked once everything is loaded. */
static int check_all(const struct otp_config *c, char *err, size_t errlen)
{
	if (strcmp(c->cookie_samesite, "None") == 0 && !c->cookie_secure)
		return fail(err, errlen,
			    "--cookie-samesite None requires --cookie-secure "
			    "true (OTPD_COOKIE_SAMESITE, OTPD_COOKIE_SECURE): "
			    "browsers drop SameSite=None cookies without "
			    "Secure");
	return 0;
}

/* --- the command line --- */

/* Reads the option at argv[*i] and moves *i past it and its value. Returns 0
 * with *s and *v set, a help code, or OTP_ETYPE. A boolean takes the next
 * argument only if it reads as a boolean: a bare flag means true. */
static int step(int argc, char **argv, int *i, const struct setting **s,
		const char **v, char *err, size_t errlen)
{
	const char *a = argv[(*i)++], *name, *eq;
	char q[CLIP];
	size_t len;

	if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
		return OTP_CONFIG_HELP;
	if (strcmp(a, "--help-md") == 0)
		return OTP_CONFIG_HELP_MD;
	if (strcmp(a, "--help-man") == 0)
		return OTP_CONFIG_HELP_MAN;
	if (strcmp(a, "--version") == 0)
		return OTP_CONFIG_VERSION;
	clip(a, q);
	if (a[0] != '-')
		return fail(err, errlen,
			    "'%s': unexpected argument (settings are --flags)",
			    q);
	if (a[1] != '-')
		return fail(err, errlen, "%s: unknown option (see --help)", q);
	name = a + 2;
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	if (!(*s = find(name, len)))
		return fail(err, errlen, "--%.*s: unknown option (see --help)",
			    len < CLIP ? (int)len : CLIP, name);
	if (eq) {
		*v = eq + 1;
	} else if ((*s)->kind == K_BOOL) {
		*v = "true";
		if (*i < argc && to_bool(argv[*i]) >= 0)
			*v = argv[(*i)++];
	} else if (*i >= argc || strncmp(argv[*i], "--", 2) == 0) {
		return fail(err, errlen, "--%s: missing value", (*s)->name);
	} else {
		*v = argv[(*i)++];
	}
	return 0;
}

/* Under systemd, LoadCredential=otpd-secret:PATH puts the secret file in
 * $CREDENTIALS_DIRECTORY; it is the secret file when --secret-file (or
 * OTPD_SECRET_FILE) is not given. */
static void credential_secret(struct otp_config *c, otp_config_getenv_fn env)
{
	const char *dir = env("CREDENTIALS_DIRECTORY");
	char path[4096];

	if (c->secret_file[0] || !dir || !dir[0])
		return;
	snprintf(path, sizeof(path), "%s/otpd-secret", dir);
	if (access(path, F_OK) == 0)
		replace(&c->secret_file, path);
}

/* getenv returns char *, not const char *: wrap it to fit the type. */
static const char *sysenv(const char *name)
{
	return getenv(name);
}

int otp_config_load(struct otp_config *c, int argc, char **argv,
		    otp_config_getenv_fn env, char *err, size_t errlen)
{
	struct otp_config n = {0};
	const struct setting *s;
	const char *v;
	char src[64];
	int i, r;

	if (errlen)
		err[0] = '\0';
	/* the command line's shape first, so --help works with a broken env */
	for (i = 1; i < argc;)
		if ((r = step(argc, argv, &i, &s, &v, err, errlen)) != 0)
			return r;
	if (!env)
		env = sysenv;

	for (s = settings; s < settings + NSETTINGS; s++) {
		snprintf(src, sizeof(src), "default of --%s", s->name);
		if (set(&n, s, s->def, src, err, errlen) < 0) {
			r = OTP_EINTERNAL;
			goto fail;
		}
	}
	for (s = settings; s < settings + NSETTINGS; s++)
		if ((v = env(s->env)) &&
		    (r = set(&n, s, v, s->env, err, errlen)) < 0)
			goto fail;
	for (i = 1; i < argc;) {
		step(argc, argv, &i, &s, &v, err, errlen);
		snprintf(src, sizeof(src), "--%s", s->name);
		if ((r = set(&n, s, v, src, err, errlen)) < 0)
			goto fail;
	}
	credential_secret(&n, env);
	if ((r = check_all(&n, err, errlen)) < 0)
		goto fail;

	otp_config_deinit(c);
	*c = n;
	return OTP_CONFIG_RUN;
fail:
	otp_config_deinit(&n);
	return r;
}

void otp_config_deinit(struct otp_config *c)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (settings[i].kind == K_STR || settings[i].kind == K_ENUM)
			free(*(char **)((char *)c + settings[i].off));
	memset(c, 0, sizeof(*c));
}
