/* otpctl.c - the operator's tool: API keys and the outbox of an otpd
 * store, from the command line.
 *
 *   otpctl [--store URL] [--secret-file PATH] key create NAME
 *                                          prints the new key, once
 *   otpctl [--store URL] key list          id, name, created, state
 *   otpctl [--store URL] key revoke ID     takes effect at once
 *   otpctl [--store URL] [--sms LIST] outbox list [STATE]
 *                                          newest messages first: id, state,
 *                                          driver, tries, masked phone,
 *                                          updated, next try, last error
 *   otpctl [--store URL] outbox retry ID   puts a dead letter back in the
 *                                          queue (first driver, now), while
 *                                          its code lives
 *
 * The store URL comes from --store, else OTPD_STORE, else otpd's default. It
 * talks to the store directly (the same one otpd uses, concurrently), no
 * HTTP. It reads otpd's secret as otpd does (OTPD_SECRET, --secret-file or
 * OTPD_SECRET_FILE, else the file next to an SQLite database, which key
 * create makes if otpd has not yet): key create needs it (a key's hash is
 * keyed with it), outbox list opens the sealed phones with it (without it
 * they show as "sealed"). Exit status: 0 done, 1 refused, 2 usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/phone.h"
#include "core/secret.h"
#include "engine/apikey.h"
#include "engine/sealed.h"
#include "store/store.h"

/* otpd's keys, when its secret can be read (ring.cur NULL if not). */
static struct otp_keyring ring;
static char no_secret[4500];

/* make: a store of one process (SQLite) gets otpd's default secret file
 * made if there is none yet, as otpd's first start would (key create
 * before the first start); otherwise a missing secret leaves ring empty. */
static void load_keys(const char *url, const char *file, bool make)
{
	char dir[4096], fallback[4200], err[256];
	unsigned char *secret = NULL, *prev = NULL;
	bool created = false, shared = true;
	const struct otp_store_ops *b = otp_store_backend(url);
	if (b)
		shared = !(b->caps & OTP_STORE_CAP_ONE_PROCESS);
	otp_store_home(url, "var", dir, sizeof dir);
	snprintf(fallback, sizeof fallback, "%s/otpd.secret", dir);
	if (!file || !file[0])
		file = getenv("OTPD_SECRET_FILE");
	bool given = (getenv("OTPD_SECRET") && getenv("OTPD_SECRET")[0]) ||
		     (file && file[0]);
	if (!given && (shared || (!make && access(fallback, R_OK) != 0))) {
		int n = snprintf(no_secret, sizeof no_secret,
				 "no secret: give otpd's with OTPD_SECRET or "
				 "--secret-file");
		if (!shared)
			snprintf(no_secret + n, sizeof no_secret - (size_t)n,
				 " (none at %s)", fallback);
		return;
	}
	if (otp_crypto_init() < 0 ||
	    otp_secret_load(getenv("OTPD_SECRET"), file ? file : "", fallback,
			    &secret, &created, err, sizeof err) < 0 ||
	    otp_secret_load(getenv("OTPD_SECRET_PREVIOUS"),
			    getenv("OTPD_SECRET_PREVIOUS_FILE")
				? getenv("OTPD_SECRET_PREVIOUS_FILE")
				: "",
			    NULL, &prev, &created, err, sizeof err) < 0) {
		snprintf(no_secret, sizeof no_secret, "%s", err);
		otp_secret_free(secret);
		return;
	}
	if (created)
		fprintf(stderr, "otpctl: created otpd's secret file %s\n",
			fallback);
	ring.cur = otp_keys_new(secret);
	ring.prev = prev ? otp_keys_new(prev) : NULL;
	otp_secret_free(secret);
	otp_secret_free(prev);
	otp_store_wrap_opens(otp_sealed_wrap, &ring);
}

static int usage(FILE *f, int status)
{
	fputs(
	    "usage: otpctl [--store URL] [--secret-file PATH] key create NAME\n"
	    "       otpctl [--store URL] key list\n"
	    "       otpctl [--store URL] key revoke ID\n"
	    "       otpctl [--store URL] [--sms LIST] outbox list [STATE]\n"
	    "       otpctl [--store URL] outbox retry ID\n"
	    "STATE: queued, sending, sent, delivered, undelivered, failed, "
	    "expired\n",
	    f);
	return status;
}

/* Says what the store answered (rc < 0); the exit status 1. */
static int failed(int rc)
{
	fprintf(stderr, "otpctl: %s\n", otp_err_message(rc));
	return 1;
}

static int key_create(struct otp_store *s, const char *name)
{
	char key[OTP_APIKEY_NEW_LEN + 1], id[OTP_KEY_ID_LEN + 1];
	size_t n = strlen(name);
	if (n == 0 || n >= OTP_KEY_NAME_MAX) {
		fprintf(stderr, "otpctl: NAME must be 1..%d bytes\n",
			OTP_KEY_NAME_MAX - 1);
		return 2;
	}
	if (!ring.cur) {
		fprintf(stderr, "otpctl: key create: %s\n", no_secret);
		return 1;
	}
	int rc = otp_apikey_create(s, &ring, name, otp_clock_now_ms(), key, id);
	if (rc < 0)
		return failed(rc);
	printf("%s\n", key);
	fprintf(stderr, "created key %s (%s); it is shown only now\n", id,
		name);
	return 0;
}

static int key_list(struct otp_store *s)
{
	struct otp_apikey keys[256];
	size_t n = 0;
	int rc = otp_store_apikey_list(s, keys, 256, &n);
	if (rc < 0)
		return failed(rc);
	for (size_t i = 0; i < n; i++) {
		char created[OTP_ISO8601_LEN];
		otp_clock_iso8601(keys[i].created_ms, created);
		printf("%s\t%s\t%s\t%s\n", keys[i].id, keys[i].name, created,
		       keys[i].revoked_ms ? "revoked" : "active");
	}
	return 0;
}

static int key_revoke(struct otp_store *s, const char *id)
{
	int rc = otp_store_apikey_revoke(s, id, otp_clock_now_ms());
	if (rc == OTP_ENOTFOUND) {
		fprintf(stderr, "otpctl: no key %s\n", id);
		return 1;
	}
	if (rc < 0)
		return failed(rc);
	printf("revoked %s\n", id);
	return 0;
}

#define NSTATES OTP_MSG_STATES

/* The name of the n-th driver of an --sms list ("kannel" for
 * "console,kannel:http://..."): what a message's driver index means. Only
 * the part before ':' is shown (the rest may hold a URL or a path). */
static void driver_name(const char *list, int n, char *out, size_t cap)
{
	const char *p = list;
	for (int i = 0; i < n && p; i++) {
		p = strchr(p, ',');
		if (p)
			p++;
	}
	size_t len = p ? strcspn(p, ",:") : 0;
	if (!len || len >= cap) {
		snprintf(out, cap, "#%d", n);
		return;
	}
	memcpy(out, p, len);
	out[len] = '\0';
}

static int outbox_list(struct otp_store *s, const char *sms, const char *state)
{
	static struct otp_msg_info msgs[1000];
	int want = -1;
	size_t n = 0;
	if (state) {
		for (int i = 0; i < NSTATES; i++)
			if (strcmp(state, otp_msg_state_names[i]) == 0)
				want = i;
		if (want < 0)
			return usage(stderr, 2);
	}
	int rc = otp_store_outbox_list(s, want, msgs, 1000, &n);
	if (rc < 0)
		return failed(rc);
	for (size_t i = 0; i < n; i++) {
		const struct otp_msg_info *m = &msgs[i];
		char masked[OTP_PHONE_MAX], updated[OTP_ISO8601_LEN];
		char next[OTP_ISO8601_LEN] = "-", driver[32];
		if (m->to[0] == OTP_SEALED_MARK)
			snprintf(masked, sizeof masked, "sealed");
		else
			otp_phone_mask(m->to, masked);
		driver_name(sms, m->driver, driver, sizeof driver);
		otp_clock_iso8601(m->updated_ms, updated);
		if (m->state == OTP_MSG_QUEUED)
			otp_clock_iso8601(m->next_ms, next);
		printf("%lld\t%s\t%s\tdriver=%s\ttries=%d\t%s\t%s\t%s\t%s\n",
		       (long long)m->id, m->request_id,
		       (int)m->state < NSTATES ? otp_msg_state_names[m->state]
					       : "?",
		       driver, m->attempts, masked, updated, next,
		       m->last_error[0] ? m->last_error : "-");
	}
	return 0;
}

static int outbox_retry(struct otp_store *s, const char *arg)
{
	char *end;
	long long id = strtoll(arg, &end, 10);
	if (*end || id <= 0)
		return usage(stderr, 2);
	int rc = otp_store_outbox_requeue(s, id, otp_clock_now_ms());
	if (rc == OTP_ENOTFOUND) {
		fprintf(stderr, "otpctl: no message %lld\n", id);
		return 1;
	}
	if (rc == OTP_EGONE) {
		fprintf(stderr,
			"otpctl: message %lld is not a dead letter with its "
			"text (only failed messages can be retried)\n",
			id);
		return 1;
	}
	if (rc < 0)
		return failed(rc);
	/* A running otpd picks it up within its poll interval. */
	printf("requeued %lld\n", id);
	return 0;
}

int main(int argc, char **argv)
{
	const char *url = getenv("OTPD_STORE");
	int i = 1;
	signal(SIGPIPE, SIG_IGN); /* a dropped store connection is an error,
				     not a death */
	const char *sms = getenv("OTPD_SMS");
	const char *secret_file = NULL;
	if (!url || !url[0])
		url = OTP_STORE_URL_DEFAULT;
	if (argc == 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		return usage(stdout, 0);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		otp_config_version(stdout, "otpctl");
		return 0;
	}
	for (;;) {
		if (i + 1 < argc && strcmp(argv[i], "--store") == 0) {
			url = argv[i + 1];
			i += 2;
		} else if (i < argc && strncmp(argv[i], "--store=", 8) == 0) {
			url = argv[i] + 8;
			i++;
		} else if (i + 1 < argc &&
			   strcmp(argv[i], "--secret-file") == 0) {
			secret_file = argv[i + 1];
			i += 2;
		} else if (i + 1 < argc && strcmp(argv[i], "--sms") == 0) {
			sms = argv[i + 1];
			i += 2;
		} else if (i < argc && strncmp(argv[i], "--sms=", 6) == 0) {
			sms = argv[i] + 6;
			i++;
		} else {
			break;
		}
	}
	if (!sms || !sms[0])
		sms = "console"; /* otpd's default */
	if (i + 1 >= argc ||
	    (strcmp(argv[i], "key") != 0 && strcmp(argv[i], "outbox") != 0))
		return usage(stderr, 2);
	const char *noun = argv[i];
	const char *verb = argv[i + 1];
	const char *arg = i + 2 < argc ? argv[i + 2] : NULL;
	if (i + 3 < argc)
		return usage(stderr, 2);

	load_keys(url, secret_file,
		  strcmp(noun, "key") == 0 && strcmp(verb, "create") == 0);
	struct otp_store *s;
	errno = 0;
	int rc = otp_store_open(url, &s);
	if (rc < 0) {
		/* The backend says only that it failed; what the system said
		 * (a missing directory, say) is the useful part. */
		int e = errno;
		fprintf(stderr,
			"otpctl: cannot open store %s: %s (give otpd's "
			"store with --store URL or OTPD_STORE)\n",
			url, e ? strerror(e) : otp_err_message(rc));
		return 1;
	}
	int status;
	if (strcmp(noun, "outbox") == 0) {
		if (strcmp(verb, "list") == 0)
			status = outbox_list(s, sms, arg);
		else if (strcmp(verb, "retry") == 0 && arg)
			status = outbox_retry(s, arg);
		else
			status = usage(stderr, 2);
	} else if (strcmp(verb, "create") == 0 && arg)
		status = key_create(s, arg);
	else if (strcmp(verb, "list") == 0 && !arg)
		status = key_list(s);
	else if (strcmp(verb, "revoke") == 0 && arg)
		status = key_revoke(s, arg);
	else
		status = usage(stderr, 2);
	otp_store_close(s);
	return status;
}
