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
#include "core/cidr.h"
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

enum kind { K_STR, K_INT, K_BOOL, K_ENUM };

struct setting {
	const char *name; /* --name VALUE, --name=VALUE */
	enum kind kind;
	size_t off;	 /* of the field in struct otp_config */
	const char *def; /* default, as text, parsed like any other value */
	long min, max;	 /* K_INT: value; K_STR: length in bytes if max > 0 */
	const char *const *values; /* K_ENUM: allowed spellings, NULL-ended */
	const char *(*check)(const char *v); /* K_STR: NULL or why not */
	const char *form;	      /* K_STR: the shape shown as the range */
	const char *(*form_of)(void); /* or, if the parts know it, this */
	const char *env;
	const char *help;
};

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static const char *check_listen(const char *v);
static const char *check_listen_opt(const char *v);
static const char *check_ips(const char *v);
static const char *check_store(const char *v);
static const char *check_sms(const char *v);
static const char *check_url(const char *v);
static const char *check_origins(const char *v);
static const char *check_token(const char *v);
static const char *check_codes(const char *v);
static const char *check_text(const char *v);
static const char *check_host(const char *v);
static const char *check_app_hash(const char *v);

static const char *const samesites[] = {"Lax", "Strict", "None", NULL};
static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const providers[] = {"local", "startmessaging", NULL};
static const char *const scopes[] = {"process", "store", NULL};

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

static const struct setting settings[] = {
	STR("listen", listen, "127.0.0.1:8080", 0, 0, check_listen, "HOST:PORT",
	    "OTPD_LISTEN", "address to listen on: IPv4, localhost or [IPv6], and a port"),
	STR("admin-listen", admin_listen, "", 0, 0, check_listen_opt, "HOST:PORT or empty",
	    "OTPD_ADMIN_LISTEN", "address of the admin listener (/metrics, /healthz, /readyz); "
	    "empty = none. Never expose it to the public"),
	INT("threads", threads, "0", 0, 256,
	    "OTPD_THREADS", "worker threads; 0 = one per CPU core"),
	INT("conn-limit", conn_limit, "1024", 1, 65536,
	    "OTPD_CONN_LIMIT", "open connections at most"),
	INT("conn-timeout", conn_timeout, "10", 1, 3600,
	    "OTPD_CONN_TIMEOUT", "seconds an idle or slow connection may stay open"),
	INT("conn-per-ip", conn_per_ip, "256", 0, 65536,
	    "OTPD_CONN_PER_IP", "open connections per client address (trusted proxies exempt); 0 = no limit"),
	INT("request-timeout", request_timeout, "10", 0, 3600,
	    "OTPD_REQUEST_TIMEOUT", "seconds a request's head and body may take in all, however slowly sent; 0 = none"),
	INT("body-max", body_max, "8192", 64, 1048576,
	    "OTPD_BODY_MAX", "bytes of request body at most"),
	STR("trusted-proxies", trusted_proxies, "", 0, 0, check_ips, "IPs or CIDR ranges, comma-separated",
	    "OTPD_TRUSTED_PROXIES", "proxies whose X-Forwarded-For is believed (set it behind nginx or a load balancer); empty = none"),
	STR("cors-origins", cors_origins, "", 0, 1024, check_origins,
	    "origins, comma-separated, e.g. https://app.example.com",
	    "OTPD_CORS_ORIGINS", "web pages on other origins that may call the API with the "
	    "session cookie (CORS with credentials); empty = none"),
	STRP("store", store, OTP_STORE_URL_DEFAULT, check_store, otp_store_forms,
	    "OTPD_STORE", "where codes, sessions, limits and the outbox are kept: an SQLite file "
	    "(one process), or a Redis server that several otpd processes share"),
	STRP("sms", sms, OTP_SMS_DEFAULT, check_sms, otp_sms_forms,
	    "OTPD_SMS", "how codes are sent, drivers tried in order (failover); console prints, "
	    "null drops, file:PATH appends JSON lines"),
	STR("sms-from", sms_from, "", 0, 64, check_text, "0..64 bytes",
	    "OTPD_SMS_FROM", "sender: a number or name (Kannel, Twilio), or a Twilio Messaging Service SID"),
	STR("public-url", public_url, "", 0, 512, check_url, "http(s)://HOST[:PORT][/PATH]",
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
	INT("code-length", code_length, "6", 4, 10,
	    "OTPD_CODE_LENGTH", "digits in a code"),
	INT("code-ttl", code_ttl, "300", 30, 86400,
	    "OTPD_CODE_TTL", "seconds a code stays valid"),
	INT("code-attempts", code_attempts, "5", 1, 100,
	    "OTPD_CODE_ATTEMPTS", "wrong guesses before a code is dead"),
	INT("limit-ip", limit_ip, "60", 0, 100000000,
	    "OTPD_LIMIT_IP", "requests per minute from one client IP; 0 = off"),
	INT("limit-phone", limit_phone, "5", 0, 100000000,
	    "OTPD_LIMIT_PHONE", "codes sent per hour to one phone; 0 = off"),
	INT("resend-cooldown", resend_cooldown, "30", 0, 86400,
	    "OTPD_RESEND_COOLDOWN", "seconds between two sends to one phone; 0 = off"),
	INT("limit-key", limit_key, "20", 0, 1000000,
	    "OTPD_LIMIT_KEY", "provider API requests per second per API key; 0 = off"),
	ENUM("limit-scope", limit_scope, "process", scopes,
	     "OTPD_LIMIT_SCOPE", "where the per-IP and per-key counts live: process (memory, fast; "
	     "N processes behind a balancer allow up to N times the rate) or store (one count "
	     "shared by every process on the store, one store write per request); per-phone "
	     "limits are always in the store"),
	ENUM("provider", provider, "local", providers,
	     "OTPD_PROVIDER", "where codes come from: local (this otpd) or startmessaging (an upstream API)"),
	STR("upstream-url", upstream_url, "", 0, 512, check_url, "http(s)://HOST[:PORT][/PATH]",
	    "OTPD_UPSTREAM_URL", "base URL of the upstream API (its key: OTPD_UPSTREAM_API_KEY)"),
	INT("upstream-timeout", upstream_timeout, "10", 1, 120,
	    "OTPD_UPSTREAM_TIMEOUT", "seconds an upstream call may take"),
	INT("session-ttl", session_ttl, "86400", 60, 31536000,
	    "OTPD_SESSION_TTL", "seconds a login session lasts"),
	INT("session-cache", session_cache, "65536", 0, 4194304,
	    "OTPD_SESSION_CACHE", "sessions kept in memory for /auth/check (about 200 bytes each); "
	    "used only with a store that this process alone writes (sqlite); 0 = off"),
	STR("cookie-name", cookie_name, "otpd_session", 1, 64, check_token, "1..64 of A-Z a-z 0-9 _ -",
	    "OTPD_COOKIE_NAME", "name of the session cookie"),
	BOOL("cookie-secure", cookie_secure, "false",
	     "OTPD_COOKIE_SECURE", "send the session cookie over HTTPS only (Secure)"),
	ENUM("cookie-samesite", cookie_samesite, "Lax", samesites,
	     "OTPD_COOKIE_SAMESITE", "SameSite of the session cookie; None needs --cookie-secure"),
	STR("countries-allow", countries_allow, "", 0, 0, check_codes, "calling codes, e.g. 1,44",
	    "OTPD_COUNTRIES_ALLOW", "only these destinations get codes; empty = all"),
	STR("countries-deny", countries_deny, "", 0, 0, check_codes, "calling codes, e.g. 1,44",
	    "OTPD_COUNTRIES_DENY", "these destinations are refused with 403"),
	STR("app-name", app_name, "otpd", 1, 32, check_text, NULL,
	    "OTPD_APP_NAME", "name shown in the SMS text"),
	STR("domain", domain, "", 0, 253, check_host, "hostname, at most 253 bytes",
	    "OTPD_DOMAIN", "adds an \"@domain #code\" line so browsers can autofill; empty = none"),
	STR("sms-template", sms_template,
	    "{code} is your {app} code. It expires in {minutes} minutes.", 1, 320,
	    check_text, "text with {code}, {app}, {minutes}, {domain}; \\n = new line",
	    "OTPD_SMS_TEMPLATE", "the SMS text; must fit one SMS segment with a 10-digit code"),
	STR("android-app-hash", android_app_hash, "", 0, 11, check_app_hash, "11 characters of A-Z a-z 0-9 + /",
	    "OTPD_ANDROID_APP_HASH", "adds this Android SMS Retriever app hash line; empty = none"),
	ENUM("log-level", log_level, "info", levels,
	     "OTPD_LOG_LEVEL", "least severe message logged"),
	INT("purge-interval", purge_interval, "60", 1, 86400,
	    "OTPD_PURGE_INTERVAL", "seconds between purges of expired rows"),
};
/* clang-format on */

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

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

static const char *join(const char *const *list, char *buf, size_t n)
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

static const char *check_listen_opt(const char *v)
{
	return v[0] ? check_listen(v) : NULL;
}

static const char *check_listen(const char *v)
{
	static const char why[] = "is not HOST:PORT (HOST an IPv4 address, "
				  "localhost or [IPv6]; PORT 1..65535)";
	unsigned char addr[16];
	char host[64];
	const char *h = v, *port;
	size_t hl;
	int family = AF_INET;
	long n;

	if (*v == '[') {
		const char *close = strchr(v, ']');
		if (!close || close[1] != ':')
			return why;
		h = v + 1;
		hl = (size_t)(close - h);
		port = close + 2;
		family = AF_INET6;
	} else {
		const char *colon = strchr(v, ':');
		if (!colon || strchr(colon + 1, ':'))
			return why;
		hl = (size_t)(colon - v);
		port = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(host))
		return why;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (!(family == AF_INET && strcmp(host, "localhost") == 0) &&
	    inet_pton(family, host, addr) != 1)
		return why;
	/* digits only: strtol alone would take "+80" or " 80" */
	hl = strlen(port);
	if (hl < 1 || hl > 5 || strspn(port, "0123456789") != hl)
		return why;
	n = strtol(port, NULL, 10);
	return n >= 1 && n <= 65535 ? NULL : why;
}

static const char *check_ips(const char *v)
{
	static const char why[] = "is not a comma-separated list of IP "
				  "addresses and CIDR ranges (10.0.0.0/8)";
	struct otp_cidr_list one;
	char e[64];

	if (!*v)
		return NULL;
	for (;;) {
		size_t n = strcspn(v, ",");
		if (n == 0 || n >= sizeof(e))
			return why;
		memcpy(e, v, n);
		e[n] = '\0';
		if (otp_cidr_parse(e, &one, NULL) < 0 || one.n != 1)
			return why;
		if (!v[n])
			return NULL;
		v += n + 1;
	}
}

/* Which stores exist and what their URLs look like: asked of the store
 * registry, which asks the backend the scheme names. */
static const char *check_store(const char *v)
{
	static char why[320];
	return otp_store_check(v, why, sizeof why) == 0 ? NULL : why;
}

/* Which SMS drivers exist, and what each one's spec looks like: asked of
 * the driver table (sms.c), which asks each entry's driver. */
static const char *check_sms(const char *v)
{
	static char why[320];
	return otp_sms_check_list(v, why, sizeof why) == 0 ? NULL : why;
}

/* "" (none) or an http(s) URL without spaces or control characters. */
/* Exact origins: scheme://host[:port], no path, no '*' (an origin that
 * may read answers with the user's cookie is named, never a wildcard). */
static const char *check_origins(const char *v)
{
	static const char why[] = "is not a comma-separated list of origins "
				  "(https://HOST[:PORT], no path)";
	while (*v) {
		size_t n = strcspn(v, ",");
		const char *host = NULL;
		if (n > 8 && strncmp(v, "https://", 8) == 0)
			host = v + 8;
		else if (n > 7 && strncmp(v, "http://", 7) == 0)
			host = v + 7;
		if (!host)
			return why;
		for (const char *p = host; p < v + n; p++)
			if (!(isalnum((unsigned char)*p) || *p == '.' ||
			      *p == '-' || *p == ':' || *p == '[' || *p == ']'))
				return why;
		v += n;
		if (*v == ',' && !*++v)
			return why;
	}
	return NULL;
}

static const char *check_url(const char *v)
{
	if (!*v)
		return NULL;
	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
		return "must start with http:// or https://";
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return "may not hold spaces or control characters";
	return NULL;
}

static const char *check_token(const char *v)
{
	if (strspn(v, ALNUM "_-") == strlen(v))
		return NULL;
	return "may hold only letters, digits, _ and -";
}

static const char *check_codes(const char *v)
{
	static const char why[] = "is not a comma-separated list of calling "
				  "codes (1-3 digits, no leading 0, e.g. 1,44)";

	if (!*v)
		return NULL;
	for (;;) {
		size_t n = strspn(v, "0123456789");
		if (n < 1 || n > 3 || *v == '0')
			return why;
		v += n;
		if (!*v)
			return NULL;
		if (*v++ != ',')
			return why;
	}
}

static const char *check_text(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return "has a control character";
	return NULL;
}

static const char *check_host(const char *v)
{
	static const char why[] = "is not a hostname (labels of letters, "
				  "digits and -, joined by dots)";

	if (!*v)
		return NULL;
	for (;;) {
		size_t n = strspn(v, ALNUM "-");
		if (n < 1 || n > 63 || v[0] == '-' || v[n - 1] == '-')
			return why;
		v += n;
		if (!*v)
			return NULL;
		if (*v++ != '.')
			return why;
	}
}

static const char *check_app_hash(const char *v)
{
	if (!*v || (strlen(v) == 11 && strspn(v, ALNUM "+/") == 11))
		return NULL;
	return "is not 11 characters of A-Z a-z 0-9 + /";
}

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
				    src, q, join(s->values, buf, sizeof(buf)));
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

/* --- the table as text --- */

static const char *range(const struct setting *s, char *buf, size_t n)
{
	buf[0] = '\0';
	switch (s->kind) {
	case K_INT:
		snprintf(buf, n, "%ld..%ld", s->min, s->max);
		break;
	case K_BOOL:
		snprintf(buf, n, "true, false");
		break;
	case K_ENUM:
		join(s->values, buf, n);
		break;
	case K_STR:
		if (s->form_of)
			snprintf(buf, n, "%s", s->form_of());
		else if (s->form)
			snprintf(buf, n, "%s", s->form);
		else if (s->max > 0)
			snprintf(buf, n, "%ld..%ld bytes", s->min, s->max);
		break;
	}
	return buf;
}

static const char *shown(const char *def)
{
	return *def ? def : "\"\"";
}

static int widest(int w, const char *s, size_t extra)
{
	int n = (int)(strlen(s) + extra);
	return n > w ? n : w;
}

void otp_config_usage(FILE *f)
{
	int wf = 4, we = 3, wd = 7, wr = 5; /* the header words */
	char buf[128];
	const struct setting *s;

	for (s = settings; s < settings + NSETTINGS; s++) {
		wf = widest(wf, s->name, 2);
		we = widest(we, s->env, 0);
		wd = widest(wd, shown(s->def), 0);
		wr = widest(wr, range(s, buf, sizeof(buf)), 0);
	}
	fprintf(f, "usage: otpd [options]\n\n"
		   "Each setting comes from its flag (--name VALUE or "
		   "--name=VALUE), else its\n"
		   "environment variable, else the default. A bare boolean "
		   "flag means true.\n"
		   "The secret itself comes only from the OTPD_SECRET "
		   "environment variable,\n"
		   "never a flag, so it never shows in ps.\n\n");
	fprintf(f, "  %-*s  %-*s  %-*s  %-*s  %s\n", wf, "FLAG", we, "ENV", wd,
		"DEFAULT", wr, "RANGE", "MEANING");
	for (s = settings; s < settings + NSETTINGS; s++)
		fprintf(f, "  --%-*s  %-*s  %-*s  %-*s  %s\n", wf - 2, s->name,
			we, s->env, wd, shown(s->def), wr,
			range(s, buf, sizeof(buf)), s->help);
	fprintf(f, "\n  -h, --help   this text\n"
		   "  --help-md    this table as Markdown (docs/CONFIG.md)\n");
}

/* One table cell; `|` would end the cell early, so it is escaped. */
static void cell(FILE *f, const char *v, bool code)
{
	const char *tick = code && *v ? "`" : "";

	fprintf(f, " %s", tick);
	for (; *v; v++) {
		if (*v == '|')
			fputc('\\', f);
		fputc(*v, f);
	}
	fprintf(f, "%s |", tick);
}

void otp_config_markdown(FILE *f)
{
	char buf[128];
	const struct setting *s;

	fprintf(f,
		"# otpd configuration\n\n"
		"<!-- Generated by `otpd --help-md` from the table in "
		"src/core/config.c. Do not edit. -->\n\n"
		"Every setting has a default, which its environment variable "
		"overrides, which its command-line flag overrides in turn "
		"(defaults < environment < flags). Flags take "
		"`--name VALUE` or `--name=VALUE`; a bare boolean flag means "
		"true, and booleans accept true/false, yes/no, on/off and "
		"1/0.\n\n"
		"The secret itself comes only from the `OTPD_SECRET` "
		"environment variable, never from a flag, so it never shows "
		"in `ps`.\n\n"
		"| flag | env | default | range | meaning |\n"
		"|---|---|---|---|---|\n");
	for (s = settings; s < settings + NSETTINGS; s++) {
		snprintf(buf, sizeof(buf), "--%s", s->name);
		fputc('|', f);
		cell(f, buf, true);
		cell(f, s->env, true);
		cell(f, shown(s->def), true);
		cell(f, range(s, buf, sizeof(buf)), false);
		cell(f, s->help, false);
		fputc('\n', f);
	}
}
