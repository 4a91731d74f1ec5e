/* main.c - otpd: wiring only.
 *
 * Reads the settings, opens (and migrates) the store, loads the secret,
 * starts the delivery worker and the HTTP server, then waits for SIGTERM or
 * SIGINT while purging expired rows now and then. On a signal it stops
 * accepting, drains requests in flight, lets the worker finish its message,
 * and exits 0.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/cpus.h"
#include "core/err.h"
#include "core/log.h"
#include "core/secret.h"
#include "ctl/socket.h"
#include "engine/apikey.h"
#include "engine/sealed.h"
#include "engine/delivery.h"
#include "engine/engine.h"
#include "engine/message.h"
#include "handlers/app.h"
#include "http/http.h"
#include "outbox/outbox.h"
#include "sms/sms.h"
#include "store/store.h"
#include "store/store_faults.h"
#include "store/store_timing.h"

static const char *env(const char *name)
{
	return getenv(name);
}

/* A secret given in the environment, once read into otpd's own memory:
 * its text wiped where it lies (the process's environment block, which
 * /proc/PID/environ and a core dump show for the process's life) and the
 * variable dropped. The SMS drivers' credentials are not: each delivery
 * worker reads them when it opens its drivers. */
static void wipe_env(const char *name)
{
	char *v = getenv(name);
	if (v)
		sodium_memzero(v, strlen(v));
	unsetenv(name);
}

/* The directory the store's URL implies for local files (an SQLite file's),
 * else ./var, created if missing, and the default secret file in it. */
static int prepare_paths(const char *store, char *secret, size_t cap)
{
	char dir[4096];
	otp_store_home(store, "var", dir, sizeof dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "otpd: cannot create %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	snprintf(secret, cap, "%s/otpd.secret", dir);
	return 0;
}

static struct otp_store *wrap_faulty(struct otp_store *s, void *plan)
{
	return otp_store_faults_wrap(s, plan);
}

/* OTPD_TEST_FAULTS (store_faults.h, docs/TESTING.md): for the test suites
 * only, every store handle of the process fails as the spec says. Not a
 * setting: --help never shows it. 0, or -1 with the reason on stderr. */
static int use_test_faults(struct otp_store_faults **plan)
{
	const char *spec = getenv("OTPD_TEST_FAULTS");
	char err[256];
	*plan = NULL;
	if (!spec || !spec[0])
		return 0;
	if (otp_store_faults_new(spec, plan, err, sizeof err) < 0) {
		fprintf(stderr, "otpd: OTPD_TEST_FAULTS: %s\n", err);
		return -1;
	}
	otp_log(OTP_LOG_WARN,
		"OTPD_TEST_FAULTS is set: store calls will fail on purpose; "
		"never run this in production",
		"faults", spec, NULL);
	otp_store_wrap_opens(wrap_faulty, *plan);
	return 0;
}

/* --provider startmessaging: codes come from the upstream, with the key in
 * OTPD_UPSTREAM_API_KEY (or the tutorial's STARTMESSAGING_API_KEY). */
static int use_upstream(const struct otp_config *cfg, struct otp_engine *e)
{
	struct otp_provider *p;
	if (strcmp(cfg->provider, "startmessaging") != 0)
		return 0;
	const char *key = getenv("OTPD_UPSTREAM_API_KEY");
	if (!key || !key[0])
		key = getenv("STARTMESSAGING_API_KEY");
	if (!key || !key[0] || !cfg->upstream_url[0]) {
		fprintf(stderr, "otpd: --provider startmessaging needs "
				"--upstream-url and OTPD_UPSTREAM_API_KEY\n");
		return -1;
	}
	otp_provider_upstream_open(cfg->upstream_url, key,
				   cfg->upstream_timeout * 1000, &p);
	otp_provider_close(e->provider);
	e->provider = p;
	return 0;
}

/* Whoever knows a test number logs in as it: say which ones at start. They
 * are the local provider's (an upstream one would send real SMS).
 * 0, or -1 with the reason on stderr. */
static int warn_test_numbers(const struct otp_config *cfg,
			     const struct otp_engine *e)
{
	char list[OTP_TESTNUMS_MAX * (OTP_PHONE_MAX + 2)];
	if (!e->tests.n)
		return 0;
	if (strcmp(cfg->provider, "local") != 0) {
		fprintf(stderr,
			"otpd: --test-numbers needs the local provider, "
			"not --provider %s\n",
			cfg->provider);
		return -1;
	}
	otp_testnums_masked(&e->tests, list, sizeof list);
	otp_log(OTP_LOG_WARN,
		"test numbers log in with a fixed code and get no SMS: whoever "
		"knows one logs in as it",
		"numbers", list, NULL);
	return 0;
}

/* Where gateways reach otpd for delivery reports: --public-url, else the
 * listen address (a wildcard one as loopback: a gateway elsewhere needs
 * --public-url). */
static void callback_url(const struct otp_config *cfg, char *out, size_t cap)
{
	if (cfg->public_url[0]) {
		snprintf(out, cap, "%s", cfg->public_url);
		return;
	}
	const char *l = cfg->listen;
	if (strncmp(l, "0.0.0.0:", 8) == 0)
		snprintf(out, cap, "http://127.0.0.1:%s", l + 8);
	else if (strncmp(l, "[::]:", 5) == 0)
		snprintf(out, cap, "http://[::1]:%s", l + 5);
	else
		snprintf(out, cap, "http://%s", l);
}

static void wake_outbox(void *arg)
{
	otp_outbox_notify(arg);
}

static bool reserve_outbox(void *arg, int64_t *lease_ms)
{
	return otp_outbox_reserve(arg, lease_ms);
}

static void hand_outbox(void *arg, struct otp_msg *m, int64_t lease_until)
{
	otp_outbox_hand(arg, m, lease_until);
}

static void cancel_outbox(void *arg)
{
	otp_outbox_cancel(arg);
}

/* --admin-listen: /metrics and the probes on a port of their own, with the
 * public listener's limits but none of its hooks, and counted nowhere. */
static int start_admin(const struct otp_http_cfg *pub, int fd,
		       struct otp_http **out)
{
	char err[512];
	struct otp_http_cfg a = *pub;
	a.listen = otp_app()->cfg->admin_listen;
	a.listen_fd = fd;
	a.threads = 1;
	a.wait_threads = 0;
	a.trusted_proxies = "";
	a.cors_origins = "";
	a.routes = otp_admin_routes;
	a.nroutes = otp_admin_nroutes;
	a.auth = NULL;
	a.guard = NULL;
	a.error_page = NULL;
	a.metrics = false;
	if (otp_http_start(out, &a, err, sizeof err) < 0) {
		fprintf(stderr, "otpd: --admin-listen: %s\n", err);
		return -1;
	}
	otp_log(OTP_LOG_INFO, "admin listening", "addr", a.listen, "routes",
		"/metrics /healthz /readyz", NULL);
	return 0;
}

/* --admin-socket: otpctl's commands, run on this process's own store
 * handles. Another otpd answering there already (a shared store's
 * processes in one directory), or a default path too long for a socket,
 * leaves this one without: a warning. 0, or -1 with the reason on
 * stderr. */
static int start_ctl(const struct otp_config *cfg, struct otp_engine *e,
		     struct otp_outbox *outbox, struct otp_ctl_server **out)
{
	char path[4200], err[512];
	*out = NULL;
	if (strcmp(cfg->admin_socket, "off") == 0)
		return 0;
	if (otp_ctl_socket_path(cfg->store, cfg->admin_socket, path,
				sizeof path, err, sizeof err) < 0) {
		if (cfg->admin_socket[0]) {
			fprintf(stderr, "otpd: --admin-socket: %s\n", err);
			return -1;
		}
		/* a deep directory is no reason not to serve */
		otp_log(OTP_LOG_WARN, "no admin socket", "reason", err, NULL);
		return 0;
	}
	struct otp_ctl_server_cfg c = {
	    .path = path,
	    .store_url = cfg->store,
	    .store = otp_app_store,
	    .release = otp_app_release,
	    .ring = &e->ring,
	    .cfg = cfg,
	    .sms = cfg->sms,
	    .notify = wake_outbox,
	    .notify_arg = outbox,
	};
	int rc = otp_ctl_server_start(out, &c, err, sizeof err);
	if (rc == OTP_EBUSY) {
		otp_log(OTP_LOG_WARN, "no admin socket: another otpd has it",
			"path", path, NULL);
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "otpd: --admin-socket: %s\n", err);
		return -1;
	}
	otp_log(OTP_LOG_INFO, "admin socket listening", "path", path, NULL);
	return 0;
}

static void serve_until_signal(const struct otp_config *cfg,
			       struct otp_store *store)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	for (;;) {
		struct timespec ts = {cfg->purge_interval, 0};
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			otp_log(OTP_LOG_INFO, "stopping", "signal",
				sig == SIGTERM ? "TERM" : "INT", NULL);
			return;
		}
		long removed = 0;
		if (otp_store_purge(store, otp_clock_now_ms(), &removed) < 0)
			otp_log(OTP_LOG_WARN, "purge failed", NULL);
	}
}

/* From here on every store handle seals phones (engine/sealed.h), this
 * one too; then phones stored otherwise (by an otpd older than seals, or
 * under the previous secret) are resealed, once per secret. 0 or -1. */
static int seal_store(struct otp_engine *e, struct otp_store **store)
{
	long n = 0;
	char nbuf[OTP_LOG_NUM_LEN];
	otp_store_wrap_opens(otp_sealed_wrap, &e->ring);
	*store = otp_sealed_wrap(*store, &e->ring);
	int rc = otp_sealed_reseal(*store, &e->ring, &n);
	if (rc < 0) {
		fprintf(stderr, "otpd: cannot seal the store's phones: %s\n",
			otp_err_message(rc));
		return -1;
	}
	if (n > 0)
		otp_log(OTP_LOG_INFO, "stored phones sealed with the secret",
			"#phones", otp_log_num(nbuf, n), NULL);
	return 0;
}

/* With the store's lock held, every claimed message is an orphan of a
 * process that died (kill -9, a crash, a drain deadline): the workers take
 * them at once instead of after their leases. A shared store says 0. */
static void reclaim_orphans(struct otp_store *store)
{
	long n = 0;
	char nbuf[OTP_LOG_NUM_LEN];
	if (otp_store_outbox_reclaim(store, otp_clock_now_ms(), &n) < 0)
		otp_log(OTP_LOG_WARN,
			"cannot reclaim the outbox; its claims wait out their "
			"leases",
			NULL);
	else if (n > 0)
		otp_log(OTP_LOG_INFO,
			"outbox claims of a previous run taken back",
			"#messages", otp_log_num(nbuf, n), NULL);
}

/* glibc gives threads up to 8 malloc arenas a core, and otpd runs ~70
 * threads (the wait pool's 64 among them) that each leave freed memory
 * in theirs: a 5 s send burst on a store of 2*10^5 codes left RSS at
 * 74-76 MiB with the default, 57-59 MiB with one arena a core, at the
 * same rates (bench/ab send, verify, check, 3 pairs: within noise). Only
 * as many threads as CPUs (those otpd may run on: cpus.h) run at once, so
 * one arena a CPU is as many as can be busy. Before any thread, and not
 * over an operator's own MALLOC_ARENA_MAX or glibc.malloc tunable. */
static void bound_arenas(void)
{
	const char *t = getenv("GLIBC_TUNABLES");
	if (getenv("MALLOC_ARENA_MAX") || (t && strstr(t, "arena_max")))
		return;
	mallopt(M_ARENA_MAX, (int)otp_cpus());
}

int main(int argc, char **argv)
{
	struct otp_config cfg = {0};
	char err[512], secret_path[4200];
	bound_arenas();
	int rc = otp_config_load(&cfg, argc, argv, env, err, sizeof err);
	if (rc > 0) {
		otp_config_help(stdout, rc);
		otp_config_deinit(&cfg);
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "otpd: %s\n", err);
		return 2;
	}
	/* A template that cannot fit one segment would bill every login two
	 * or more SMS: refuse it now rather than at the first send. */
	struct otp_message_cfg mcfg = {cfg.sms_template, cfg.app_name,
				       cfg.code_ttl, cfg.domain,
				       cfg.android_app_hash};
	if (otp_message_check(&mcfg, err, sizeof err) < 0) {
		fprintf(stderr, "otpd: %s\n", err);
		otp_config_deinit(&cfg);
		return 2;
	}
	enum otp_log_level lvl = OTP_LOG_INFO;
	otp_log_parse_level(cfg.log_level, &lvl);
	otp_log_set_level(lvl);

	/* Threads started below inherit this mask: only main takes signals. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	int status = 1;
	struct otp_store *store = NULL;
	struct otp_engine engine;
	struct otp_outbox *outbox = NULL;
	struct otp_http *http = NULL, *admin = NULL;
	struct otp_ctl_server *ctl = NULL;
	unsigned char *secret = NULL;
	bool created;
	struct otp_store_faults *faults = NULL;

	/* The port first, then the store's lock: a second otpd started by
	 * mistake stops here, before it touches the store or the outbox. */
	int listen_fd = -1, admin_fd = -1;
	rc = otp_http_bind(cfg.listen, &listen_fd, err, sizeof err);
	if (rc == 0 && cfg.admin_listen[0])
		rc =
		    otp_http_bind(cfg.admin_listen, &admin_fd, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "otpd: %s\n", err);
		if (rc == OTP_EBUSY || rc == OTP_ETYPE)
			status = 2;
		goto fail_paths;
	}
	if (cfg.metrics) { /* innermost: the backend's own time */
		otp_store_timing_init();
		otp_store_wrap_opens(otp_store_timed, NULL);
	}
	if (use_test_faults(&faults) < 0) {
		status = 2;
		goto fail_paths;
	}
	if (prepare_paths(cfg.store, secret_path, sizeof secret_path) < 0)
		goto fail_paths;
	rc = otp_store_lock(cfg.store, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "otpd: %s\n", err);
		if (rc == OTP_EBUSY)
			status = 2;
		goto fail_paths;
	}
	rc = otp_store_open(cfg.store, &store);
	if (rc < 0) {
		fprintf(stderr, "otpd: cannot open store %s: %s\n", cfg.store,
			otp_err_message(rc));
		goto fail_paths;
	}
	reclaim_orphans(store);
	/* A shared store needs one secret for every process: one made up
	 * per host would make codes sent by one fail on another. */
	if (!(otp_store_backend(cfg.store)->caps & OTP_STORE_CAP_ONE_PROCESS) &&
	    !cfg.secret_file[0] &&
	    !(getenv("OTPD_SECRET") && getenv("OTPD_SECRET")[0])) {
		fprintf(stderr,
			"otpd: a shared store (%s) needs the same "
			"secret in every process: set OTPD_SECRET or "
			"--secret-file\n",
			otp_store_backend(cfg.store)->name);
		goto fail_secret;
	}
	rc = otp_secret_load(getenv("OTPD_SECRET"), cfg.secret_file,
			     secret_path, &secret, &created, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "otpd: %s\n", err);
		goto fail_secret;
	}
	if (created)
		otp_log(OTP_LOG_WARN,
			"no secret configured: created one; keep it with the "
			"database",
			"file", secret_path, NULL);
	unsigned char *previous = NULL;
	rc = otp_secret_load(getenv("OTPD_SECRET_PREVIOUS"),
			     cfg.secret_previous_file, NULL, &previous,
			     &created, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "otpd: previous secret: %s\n", err);
		otp_secret_free(secret);
		goto fail_secret;
	}
	rc = otp_engine_init(&engine, &cfg, secret, previous);
	otp_secret_free(secret);
	otp_secret_free(previous);
	if (rc < 0)
		goto fail_secret;
	if (seal_store(&engine, &store) < 0)
		goto fail_sms;
	if (use_upstream(&cfg, &engine) < 0) {
		status = 2; /* a setting is missing */
		goto fail_sms;
	}
	if (warn_test_numbers(&cfg, &engine) < 0) {
		status = 2;
		goto fail_sms;
	}
	rc = otp_apikey_seed(store, &engine.ring, getenv("OTPD_API_KEYS"),
			     otp_clock_now_ms());
	static const char *const read_once[] = {
	    "OTPD_SECRET", "OTPD_SECRET_PREVIOUS", "OTPD_API_KEYS",
	    "OTPD_UPSTREAM_API_KEY", "STARTMESSAGING_API_KEY"};
	for (size_t i = 0; i < sizeof read_once / sizeof read_once[0]; i++)
		wipe_env(read_once[i]);
	if (rc < 0) {
		fprintf(stderr, "otpd: OTPD_API_KEYS: %s\n",
			rc == OTP_ETYPE ? "each key needs 16 to 128 bytes"
					: otp_err_message(rc));
		goto fail_sms;
	}

	char callback[600];
	callback_url(&cfg, callback, sizeof callback);
	struct otp_outbox_cfg ocfg = {
	    .store_url = cfg.store,
	    .sms_list = cfg.sms,
	    .sms_env =
		{
		    .from = cfg.sms_from,
		    .callback_url = callback,
		    .connect_timeout_ms = cfg.sms_connect_timeout * 1000,
		    .timeout_ms = cfg.sms_timeout * 1000,
		},
	    .unseal = otp_engine_unseal,
	    .dlr_token = otp_engine_dlr_token,
	    .id_tag = otp_engine_id_tag,
	    .arg = &engine,
	    .workers = (int)cfg.sms_workers,
	    .max_attempts = (int)cfg.sms_attempts,
	    .backoff_ms = cfg.sms_backoff_ms,
	    .lease_ms = cfg.outbox_lease * 1000, /* 0: the outbox's default */
	};
	/* Each delivery thread opens its own drivers: a bad --sms (a URL, a
	 * missing OTPD_WEBHOOK_SECRET) stops otpd here, with the reason. */
	rc = otp_outbox_start(&outbox, &ocfg, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "otpd: %s%s\n",
			rc == OTP_ETYPE ? "--sms: " : "",
			err[0] ? err : "cannot start the delivery workers");
		if (rc == OTP_ETYPE)
			status = 2;
		goto fail_sms;
	}
	engine.notify = wake_outbox;
	engine.notify_arg = outbox;
	engine.reserve = reserve_outbox;
	engine.hand = hand_outbox;
	engine.cancel = cancel_outbox;

	struct otp_app app = {
	    .cfg = &cfg, .engine = &engine, .store_url = cfg.store};
	otp_app_init(&app);
	/* Before the HTTP server: once otpd answers, otpctl reaches it. */
	if (start_ctl(&cfg, &engine, outbox, &ctl) < 0)
		goto fail_http;
	struct otp_http_cfg hcfg = {
	    .listen = cfg.listen,
	    .listen_fd = listen_fd,
	    .threads = cfg.threads ? (unsigned)cfg.threads : otp_cpus(),
	    .wait_threads = (unsigned)cfg.wait_threads,
	    /* A provider whose codes are the store's waits on the store
	     * alone; an upstream waits on its calls (up to
	     * --upstream-timeout), which do not park a fiber. */
	    .fibers =
		cfg.fibers &&
		(otp_store_backend(cfg.store)->caps & OTP_STORE_CAP_FIBERS) &&
		(engine.provider->ops->caps & OTP_PROVIDER_CAP_STORE_CODES),
	    .conn_limit = (unsigned)cfg.conn_limit,
	    .conn_timeout_s = (unsigned)cfg.conn_timeout,
	    .conn_per_ip = (unsigned)cfg.conn_per_ip,
	    .request_timeout_s = (unsigned)cfg.request_timeout,
	    .body_max = (size_t)cfg.body_max,
	    .trusted_proxies = cfg.trusted_proxies,
	    .cors_origins = cfg.cors_origins,
	    .routes = otp_routes,
	    .nroutes = otp_nroutes,
	    .auth = otp_app_auth,
	    .guard = otp_app_guard,
	    .error_page = otp_h_login_error_page,
	    .metrics = cfg.metrics,
	};
	listen_fd = -1; /* the server's now, even if it fails to start */
	if (otp_http_start(&http, &hcfg, err, sizeof err) < 0) {
		fprintf(stderr, "otpd: %s\n", err);
		goto fail_ctl;
	}
	char tbuf[OTP_LOG_NUM_LEN];
	otp_log(OTP_LOG_INFO, "listening", "addr", cfg.listen, "store",
		otp_store_backend(cfg.store)->name, "sms", cfg.sms, "provider",
		engine.provider->ops->name, "#threads",
		otp_log_num(tbuf, hcfg.threads), "waits",
		!hcfg.wait_threads ? "server threads"
		: hcfg.fibers	   ? "fibers"
				   : "threads",
		NULL);
	int afd = admin_fd;
	admin_fd = -1; /* the admin server's now, even if it fails to start */
	if (afd >= 0 && start_admin(&hcfg, afd, &admin) < 0)
		goto fail_admin;

	serve_until_signal(&cfg, store);
	otp_app_set_draining();
	otp_ctl_server_stop(ctl);
	int64_t drain_end = otp_clock_mono_ms() + cfg.drain_timeout * 1000;
	otp_http_stop(http, cfg.drain_timeout * 1000);
	otp_http_stop(admin, 1000); /* its /readyz said 503 all along */
	status = 0;
	/* The SMS in hand get what is left of the drain, at least 1 s. */
	int64_t left = drain_end - otp_clock_mono_ms();
	otp_outbox_stop_within(outbox, left > 1000 ? left : 1000);
	outbox = NULL;
	goto fail_http;
fail_admin:
	otp_http_stop(http, 0);
fail_ctl:
	otp_ctl_server_stop(ctl);
fail_http:
	otp_outbox_stop(outbox);
	otp_app_deinit();
fail_sms:
	otp_engine_deinit(&engine);
fail_secret:
	otp_store_close(store);
fail_paths:
	if (listen_fd >= 0)
		close(listen_fd);
	if (admin_fd >= 0)
		close(admin_fd);
	otp_store_faults_free(faults);
	otp_config_deinit(&cfg);
	return status;
}
