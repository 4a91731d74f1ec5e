/* otpctl.c - the operator's tool: API keys, the outbox, sessions, a
 * phone's state, stats, purge and backups of an otpd store.
 *
 *   otpctl [OPTIONS] key create NAME       prints the new key, once
 *   otpctl [OPTIONS] key list              id, name, created, state
 *   otpctl [OPTIONS] key revoke ID         takes effect at once
 *   otpctl [OPTIONS] outbox list [STATE]   newest messages first
 *   otpctl [OPTIONS] outbox dead           the dead letters
 *   otpctl [OPTIONS] outbox retry ID|--all a dead letter (or all) back in
 *                                          the queue while its code lives
 *   otpctl [OPTIONS] session revoke --phone P   logs P out everywhere
 *   otpctl [OPTIONS] phone show P          P's hourly limit, last sends
 *   otpctl [OPTIONS] stats                 outbox, sends, conversion
 *   otpctl [OPTIONS] purge                 deletes what has expired
 *   otpctl [OPTIONS] backup FILE           SQLite: a copy, while otpd runs
 *   otpctl [OPTIONS] fraud list            the rules' blocks, allow entries
 *   otpctl [OPTIONS] fraud unblock KEY     ends a block (p:+1415, ip:...)
 *   otpctl [OPTIONS] fraud allow VALUE     +NUMBER, +PREFIX, NG, an address
 *                                          or range, key:ID: never refused
 *   otpctl [OPTIONS] spend                 the last hour's and day's spend
 *   OPTIONS: --store URL, --secret-file PATH, --sms LIST, --admin-socket
 *   PATH, --json (the reply's data as JSON instead of the human lines).
 *
 * The store URL comes from --store, else OTPD_STORE, else otpd's default.
 * When an otpd of that store runs, otpctl asks it through its admin socket
 * (ctl/socket.h: beside the store, or --admin-socket / OTPD_ADMIN_SOCKET),
 * so that a write takes effect in that process at once (its session cache
 * included) and never competes with it for the store. When none runs (no
 * socket, or nobody listens on it) otpctl opens the store itself and runs
 * the same command (ctl/run.c): then it reads otpd's secret as otpd does
 * (OTPD_SECRET, --secret-file or OTPD_SECRET_FILE, else the file next to an
 * SQLite database, which key create makes if otpd has not yet), --sms
 * names the drivers, and the limits' rates are otpd's defaults and OTPD_*
 * settings. Exit status: 0 done, 1 refused, 2 usage.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/secret.h"
#include "ctl/render.h"
#include "ctl/socket.h"
#include "engine/sealed.h"
#include "store/store.h"

#define CALL_TIMEOUT_S 300 /* a backup or stats of a big store */

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

enum arg_kind {
	A_NONE,	 /* no argument */
	A_WORD,	 /* one word, into args[arg] */
	A_MAYBE, /* one word or none */
	A_ID,	 /* a message id (an integer) or --all */
	A_FLAG,	 /* --ARG VALUE */
	A_FILE,	 /* a path, made absolute: otpd may run elsewhere */
};

static const struct verb {
	const char *noun, *verb, *cmd, *arg;
	enum arg_kind kind;
} verbs[] = {
    {"key", "create", "key.create", "name", A_WORD},
    {"key", "list", "key.list", NULL, A_NONE},
    {"key", "revoke", "key.revoke", "id", A_WORD},
    {"outbox", "list", "outbox.list", "state", A_MAYBE},
    {"outbox", "dead", "outbox.dead", NULL, A_NONE},
    {"outbox", "retry", "outbox.retry", "id", A_ID},
    {"session", "revoke", "session.revoke", "phone", A_FLAG},
    {"phone", "show", "phone.show", "phone", A_WORD},
    {"stats", NULL, "stats", NULL, A_NONE},
    {"purge", NULL, "purge", NULL, A_NONE},
    {"backup", NULL, "backup", "file", A_FILE},
    {"fraud", "list", "fraud.list", NULL, A_NONE},
    {"fraud", "unblock", "fraud.unblock", "key", A_WORD},
    {"fraud", "allow", "fraud.allow", "value", A_WORD},
    {"spend", NULL, "spend", NULL, A_NONE},
};

static int usage(FILE *f, int status)
{
	fputs("usage: otpctl [OPTIONS] key create NAME | key list | key revoke "
	      "ID\n"
	      "       otpctl [OPTIONS] outbox list [STATE] | outbox dead | "
	      "outbox retry ID|--all\n"
	      "       otpctl [OPTIONS] session revoke --phone PHONE | phone "
	      "show PHONE\n"
	      "       otpctl [OPTIONS] stats | purge | backup FILE\n"
	      "       otpctl [OPTIONS] fraud list | fraud unblock KEY | fraud "
	      "allow VALUE | spend\n"
	      "OPTIONS: --store URL, --secret-file PATH, --sms LIST, "
	      "--admin-socket PATH, --json\n"
	      "STATE: queued, sending, sent, delivered, undelivered, failed, "
	      "expired\n",
	      f);
	return status;
}

/* An absolute path for FILE (its directory must exist). */
static int absolute(const char *file, char *out, size_t cap)
{
	char a[PATH_MAX], b[PATH_MAX], dir[PATH_MAX];
	snprintf(a, sizeof a, "%s", file);
	snprintf(b, sizeof b, "%s", file);
	if (!realpath(dirname(a), dir)) {
		fprintf(stderr, "otpctl: %s: %s\n", file, strerror(errno));
		return -1;
	}
	if (snprintf(out, cap, "%s/%s", dir, basename(b)) >= (int)cap)
		return -1;
	return 0;
}

/* The request the words ask for, or NULL (usage). */
static json_t *request(int n, char **w, const char **cmd)
{
	static char path[PATH_MAX];
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		const struct verb *v = &verbs[i];
		int used = v->verb ? 2 : 1;
		if (n < used || strcmp(w[0], v->noun) != 0 ||
		    (v->verb && strcmp(w[1], v->verb) != 0))
			continue;
		int rest = n - used;
		char **a = w + used;
		json_t *args = json_object();
		*cmd = v->cmd;
		bool ok =
		    rest == 0 && (v->kind == A_NONE || v->kind == A_MAYBE);
		if (rest == 1 && (v->kind == A_WORD || v->kind == A_MAYBE)) {
			json_object_set_new(args, v->arg, json_string(a[0]));
			ok = true;
		} else if (rest == 1 && v->kind == A_ID) {
			char *end;
			long long id = strtoll(a[0], &end, 10);
			if (strcmp(a[0], "--all") == 0)
				json_object_set_new(args, "all", json_true());
			else if (!*end && id > 0)
				json_object_set_new(args, "id",
						    json_integer(id));
			ok = json_object_size(args) == 1;
		} else if (rest == 2 && v->kind == A_FLAG &&
			   strncmp(a[0], "--", 2) == 0 &&
			   strcmp(a[0] + 2, v->arg) == 0) {
			json_object_set_new(args, v->arg, json_string(a[1]));
			ok = true;
		} else if (rest == 1 && v->kind == A_FILE &&
			   absolute(a[0], path, sizeof path) == 0) {
			json_object_set_new(args, v->arg, json_string(path));
			ok = true;
		}
		if (ok)
			return json_pack("{ssso}", "cmd", v->cmd, "args", args);
		json_decref(args);
		return NULL;
	}
	return NULL;
}

/* Prints a reply: its data for a person or as JSON, or its error. */
static int finish(const char *cmd, json_t *reply, bool as_json)
{
	json_t *data = json_object_get(reply, "data");
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *e =
		    json_string_value(json_object_get(reply, "error"));
		int st =
		    (int)json_integer_value(json_object_get(reply, "status"));
		fprintf(stderr, "otpctl: %s\n", e ? e : "refused");
		if (st == 2)
			usage(stderr, 2);
		return st == 2 ? 2 : 1;
	}
	if (as_json) {
		json_dumpf(data, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		otp_ctl_render(cmd, data, stdout);
	}
	return 0;
}

static const char *env(const char *name)
{
	return getenv(name);
}

/* No otpd runs: the command on a store handle of our own. */
static json_t *run_here(const char *url, const char *secret_file,
			const char *sms, const char *cmd, json_t *req)
{
	struct otp_config cfg = {0};
	char err[512];
	char *argv0[] = {"otpctl", NULL};
	if (otp_config_load(&cfg, 1, argv0, env, err, sizeof err) != 0)
		return json_pack("{sbsiss}", "ok", 0, "status", 2, "error",
				 err);
	load_keys(url, secret_file, strcmp(cmd, "key.create") == 0);
	struct otp_store *s;
	errno = 0;
	int rc = otp_store_open(url, &s);
	if (rc < 0) {
		/* The backend says only that it failed; what the system said
		 * (a missing directory, say) is the useful part. */
		int e = errno;
		snprintf(err, sizeof err,
			 "cannot open store %s: %s (give otpd's store with "
			 "--store URL or OTPD_STORE)",
			 url, e ? strerror(e) : otp_err_message(rc));
		otp_config_deinit(&cfg);
		return json_pack("{sbsiss}", "ok", 0, "status", 1, "error",
				 err);
	}
	struct otp_ctl_env e = {
	    .store = s,
	    .store_url = url,
	    .ring = &ring,
	    .no_secret = no_secret,
	    .sms = sms,
	    .cfg = &cfg,
	    .now = otp_clock_now_ms(),
	};
	json_t *reply = otp_ctl_run(&e, req);
	otp_store_close(s);
	otp_config_deinit(&cfg);
	return reply;
}

/* The value of option `name` at argv[*i] ("--name V" or "--name=V"), or
 * NULL; *i moves past it. */
static const char *option(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[(*i)++] + n + 1;
	if (argv[*i][n] == '\0' && *i + 1 < argc) {
		*i += 2;
		return argv[*i - 1];
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *url = getenv("OTPD_STORE"), *sms = getenv("OTPD_SMS");
	const char *sock = getenv("OTPD_ADMIN_SOCKET"), *secret_file = NULL;
	const char *v;
	bool as_json = false;
	int i = 1;
	signal(SIGPIPE, SIG_IGN); /* a dropped connection is an error, not a
				     death */
	if (argc == 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		return usage(stdout, 0);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		otp_config_version(stdout, "otpctl");
		return 0;
	}
	while (i < argc) {
		if ((v = option(argc, argv, &i, "--store")))
			url = v;
		else if ((v = option(argc, argv, &i, "--secret-file")))
			secret_file = v;
		else if ((v = option(argc, argv, &i, "--sms")))
			sms = v;
		else if ((v = option(argc, argv, &i, "--admin-socket")))
			sock = v;
		else if (strcmp(argv[i], "--json") == 0)
			as_json = true, i++;
		else
			break;
	}
	if (!url || !url[0])
		url = OTP_STORE_URL_DEFAULT;
	if (!sms || !sms[0])
		sms = "console"; /* otpd's default */
	const char *cmd = NULL;
	json_t *req = request(argc - i, argv + i, &cmd);
	if (!req)
		return usage(stderr, 2);

	char path[4200], err[600];
	char *text = json_dumps(req, JSON_COMPACT), *answer = NULL;
	int rc = OTP_ENOTFOUND;
	if (!sock || strcmp(sock, "off") != 0) {
		/* a default path too long for a socket: otpd has none either */
		if (otp_ctl_socket_path(url, sock, path, sizeof path, err,
					sizeof err) == 0)
			rc = otp_ctl_call(path, text, CALL_TIMEOUT_S, &answer,
					  err, sizeof err);
		else if (sock && sock[0])
			rc = OTP_ETYPE;
	}
	free(text);
	json_t *reply = NULL;
	if (rc == 0) {
		json_error_t jerr;
		reply = json_loads(answer, 0, &jerr);
		free(answer);
		if (!reply) {
			fprintf(stderr, "otpctl: otpd's answer is not JSON\n");
			return 1;
		}
	} else if (rc == OTP_ENOTFOUND) {
		reply = run_here(url, secret_file, sms, cmd, req);
	} else {
		fprintf(stderr, "otpctl: %s\n", err);
		return 1;
	}
	int status = finish(cmd, reply, as_json);
	json_decref(reply);
	json_decref(req);
	return status;
}
