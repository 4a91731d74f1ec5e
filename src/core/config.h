/* config.h - otpd's settings, filled from one table (config.c).
 *
 * Precedence: built-in defaults < environment (OTPD_*) < command-line flags.
 * The table in config.c is the only list of settings: --help, docs/CONFIG.md
 * and the validation of every value come from it. Not thread-safe while
 * loading; read-only afterwards.
 */
#ifndef OTP_CORE_CONFIG_H
#define OTP_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct otp_config {
	/* network */
	char *listen;	       /* "HOST:PORT" */
	char *admin_listen;    /* "HOST:PORT" of /metrics; "" = none */
	bool metrics;	       /* requests by route and store timings counted */
	char *admin_socket;    /* otpctl's socket; "" = beside the store */
	long threads;	       /* 0: one per core */
	long wait_threads;     /* the wait pool; 0: none */
	bool fibers;	       /* its store waits on fibers where they park */
	long conn_limit;       /* open connections at most */
	long conn_timeout;     /* s an idle or slow connection may live */
	long conn_per_ip;      /* open connections per client address */
	long request_timeout;  /* s for a request's head and body in all */
	long body_max;	       /* bytes of request body at most */
	char *trusted_proxies; /* comma-separated IPs whose X-Forwarded-For
				  counts */
	char *cors_origins;    /* exact origins that may call with cookies */
	/* parts */
	char *store;	     /* a URL; its scheme picks the backend */
	char *sms;	     /* drivers, comma-separated, tried in order */
	char *sms_from;	     /* sender id or number; "" = the gateway's */
	char *public_url;    /* otpd as gateways reach it; "" = from listen */
	long drain_timeout;  /* s SIGTERM waits for what is in flight */
	long sms_workers;    /* delivery threads */
	long sms_attempts;   /* tries per driver */
	long sms_backoff_ms; /* first retry delay */
	long sms_timeout;    /* s for a whole gateway request */
	long sms_connect_timeout;   /* s to connect to a gateway */
	long outbox_lease;	    /* s a claim holds; 0 = the outbox's own */
	char *secret_file;	    /* "" = next to the database */
	char *secret_previous_file; /* "" = none, or OTPD_SECRET_PREVIOUS */
	/* codes */
	long code_length;   /* digits, 4..10 */
	long code_ttl;	    /* s */
	long code_attempts; /* wrong tries before a code is dead */
	/* limits, 0 = off */
	long limit_ip;	  /* requests per minute per client IP */
	long limit_phone; /* sends per hour per phone */
	long resend_cooldown;
	/* s between two sends to one phone */ /* provider */
	char *provider;			       /* "local" or "startmessaging" */
	char *upstream_url;		       /* the upstream's base URL */
	long upstream_timeout;		       /* s per upstream call */
	long limit_key;	    /* provider API requests per second per key */
	char *limit_scope;  /* "process" (memory) or "store": per-IP/per-key */
	long session_cache; /* sessions cached in memory; 0 = no cache */
	/* sessions */
	long session_ttl; /* s an authenticated session lives */
	char *cookie_name;
	bool cookie_secure;
	char *cookie_samesite; /* "Lax", "Strict" or "None" */
	/* destinations */
	char *countries_allow;	  /* calling codes, comma-separated; "" = all */
	char *countries_deny;	  /* calling codes refused with 403 */
	char *default_region;	  /* for national input; "" = refuse it */
	char *sms_number_types;	  /* comma list of otp_phone_type names */
	char *phone_ranges_allow; /* E.164 prefixes accepted as mobile */
	/* abuse and spend (src/abuse/) */
	char *fraud;		  /* "enforce", "monitor" or "off" */
	long fraud_prefix_digits; /* digits after the calling code */
	long fraud_block_ttl;	  /* s a block lasts, first time */
	char *fraud_allow;	  /* numbers, prefixes, CIDRs, key:ID */
	long fraud_pow_bits;	  /* proof-of-work difficulty */
	char *spend_prices;	  /* CSV path; "" = 1 a segment */
	char *spend_cap_hour;	  /* "N,CC=N,..."; "" = none */
	char *spend_cap_day;
	/* message */
	char *test_numbers; /* "" = none; testnums.h */
	char *app_name;
	char *login_redirect_hosts; /* origins rd= may name; "" = none */
	char *domain; /* for the "@domain #code" autofill line; "" = none */
	char *sms_template;	/* {code} {app} {minutes} {domain}; \n */
	char *android_app_hash; /* SMS Retriever hash line; "" = none */
	/* operations */
	char *log_level;
	long purge_interval; /* s between purges of expired rows */
};

/* How the loader reads the environment (getenv in production). */
typedef const char *(*otp_config_getenv_fn)(const char *name);

enum {
	OTP_CONFIG_RUN = 0,
	OTP_CONFIG_HELP = 1,
	OTP_CONFIG_HELP_MD = 2,
	OTP_CONFIG_HELP_MAN = 3,
	OTP_CONFIG_VERSION = 4
};

/* Fills `c` from defaults, then env, then argv (argv[0] is skipped).
 * Returns OTP_CONFIG_RUN, OTP_CONFIG_HELP (--help seen), OTP_CONFIG_HELP_MD
 * (--help-md), OTP_CONFIG_HELP_MAN (--help-man), OTP_CONFIG_VERSION
 * (--version), or a negative OTP_E* with a message naming the option and the
 * reason in `err`. `c` must be zeroed or from an earlier load; it is changed
 * only when OTP_CONFIG_RUN is returned. Strings in `c` are owned by it:
 * otp_config_deinit. */
int otp_config_load(struct otp_config *c, int argc, char **argv,
		    otp_config_getenv_fn env, char *err, size_t errlen);

void otp_config_deinit(struct otp_config *c);

/* The table as text for --help (80 columns), as the Markdown of
 * docs/CONFIG.md, and as the roff of otpd.8. */
void otp_config_usage(FILE *f);
void otp_config_markdown(FILE *f);
void otp_config_man(FILE *f);

/* "PROG VERSION\n": the version the Makefile passed as OTPD_VERSION. */
void otp_config_version(FILE *f, const char *prog);

/* Prints what a positive otp_config_load result asked for. */
void otp_config_help(FILE *f, int what);

#endif
