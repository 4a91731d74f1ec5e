/* metrics.c - GET /metrics on the admin listener: the Prometheus text
 * format 0.0.4.
 *
 * The counters the HTTP layer, the engine and the outbox keep (core/
 * metrics.h) come first; then what is read at scrape time: the store (up,
 * the outbox by state), the session cache, the SQLite writer's batches,
 * the build, and the process from /proc/self. Nothing here is a phone, an
 * address or a key. Not here: counting (core/metrics.c), the admin
 * listener's routes (routes.c).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "abuse/pow.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "handlers/app.h"
#include "store/redis/stats.h"
#include "store/sqlite/stats.h"

#ifndef OTPD_VERSION
#define OTPD_VERSION "0.1.0"
#endif

/* outbox_list answers at most this many rows a state: past it a state's
 * gauge stays at the cap (docs/METRICS.md). */
#define OUTBOX_CAP 1000

static const char content_type[] = "text/plain; version=0.0.4; charset=utf-8";

static void one(FILE *f, const char *type, const char *name, const char *help,
		double v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name,
		type, name, v);
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
	one(f, "gauge", name, help, v);
}

static void counter(FILE *f, const char *name, const char *help, double v)
{
	one(f, "counter", name, help, v);
}

/* This thread's own handle, without the session cache: the SQLite
 * writer's counts need the backend's handle itself. */
static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;

static void close_handle(void *p)
{
	struct otp_store **h = p;
	otp_store_close(h[0]);
	otp_store_close(h[1]);
	free(h);
}

static void make_key(void)
{
	if (pthread_key_create(&handle_key, close_handle) != 0)
		abort();
}

/* This thread's handle as every other (wrapped: a fault plan applies), or
 * with raw, the backend's own (for its counters). */
static struct otp_store *handle(bool raw)
{
	pthread_once(&handle_once, make_key);
	struct otp_store **h = pthread_getspecific(handle_key);
	if (!h) {
		h = calloc(2, sizeof *h);
		if (!h)
			return NULL;
		pthread_setspecific(handle_key, h);
	}
	if (!h[raw])
		(raw ? otp_store_open_raw
		     : otp_store_open)(otp_app()->store_url, &h[raw]);
	return h[raw];
}

static void write_outbox(FILE *f, struct otp_store *s, int64_t now)
{
	static struct otp_msg_info msgs[OUTBOX_CAP]; /* under one_scrape */
	size_t n[OTP_MSG_STATES] = {0};
	int64_t oldest = 0;
	for (int st = 0; st < OTP_MSG_STATES; st++) {
		if (otp_store_outbox_list(s, st, msgs, OUTBOX_CAP, &n[st]) < 0)
			return; /* no family rather than a wrong one */
		for (size_t i = 0; st == OTP_MSG_QUEUED && i < n[st]; i++)
			if (msgs[i].next_ms <= now &&
			    (!oldest || msgs[i].next_ms < oldest))
				oldest = msgs[i].next_ms;
	}
	fprintf(f, "# HELP otpd_outbox_messages Messages in the outbox by "
		   "state (at most 1000 counted a state).\n"
		   "# TYPE otpd_outbox_messages gauge\n");
	for (int st = 0; st < OTP_MSG_STATES; st++)
		fprintf(f, "otpd_outbox_messages{state=\"%s\"} %zu\n",
			otp_msg_state_names[st], n[st]);
	gauge(f, "otpd_outbox_oldest_due_seconds",
	      "How long the oldest queued message that is due has waited.",
	      oldest ? (double)(now - oldest) / 1000 : 0);
}

static void write_store(FILE *f, struct otp_store *s)
{
	gauge(f, "otpd_store_up", "1 if the store answered a ping.",
	      s && otp_store_ping(s) == 0);
	const char *backend = otp_store_backend(otp_app()->store_url)->name;
	if (strcmp(backend, "redis") == 0) {
		struct otp_redis_stats rs = otp_redis_stats();
#define REDIS_STAT(name)                                                       \
	counter(f, "otpd_redis_" #name "_total",                               \
		"The Redis store's shared data connection: " #name ".",        \
		(double)rs.name);
		OTP_REDIS_STATS(REDIS_STAT)
#undef REDIS_STAT
		struct otp_redis_tracking_stats ts = otp_redis_tracking_stats();
#define TRACKING_STAT(name)                                                    \
	counter(f, "otpd_redis_" #name "_total",                               \
		"The session cache's tracking connection: " #name ".",         \
		(double)ts.name);
		OTP_REDIS_TRACKING_STATS(TRACKING_STAT)
#undef TRACKING_STAT
		gauge(f, "otpd_redis_tracking_up",
		      "1 while the session cache hears of every session "
		      "change (subscribed to Redis's invalidations).",
		      ts.up);
	}
	if (!s || strcmp(backend, "sqlite") != 0)
		return;
	struct otp_sqlite_stats q;
	otp_sqlite_stats(handle(true), &q);
	counter(f, "otpd_sqlite_write_ops_total",
		"Write operations the SQLite writer ended.", q.ops);
	counter(f, "otpd_sqlite_batches_total",
		"Transactions the SQLite writer committed (ops / batches is "
		"the mean batch size).",
		q.batches);
	counter(f, "otpd_sqlite_commits_total",
		"SQLite commits that wrote WAL frames.", q.commits);
	counter(f, "otpd_sqlite_checkpoints_total",
		"Passive WAL checkpoints run.", q.checkpoints);
	gauge(f, "otpd_sqlite_wal_pages",
	      "Frames in the WAL at the last commit.", q.wal_pages);
}

/* /proc/self/stat's fields after the command's closing parenthesis. */
static void write_process(FILE *f)
{
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	unsigned long long utime = 0, stime = 0, start = 0, btime = 0;
	unsigned long long vsize = 0, rss = 0;
	char buf[1024], *p;
	FILE *in = fopen("/proc/self/stat", "r");
	if (in) {
		size_t n = fread(buf, 1, sizeof buf - 1, in);
		buf[n] = '\0';
		fclose(in);
		p = strrchr(buf, ')');
		/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
		 * cmajflt utime stime cutime cstime priority nice threads
		 * itrealvalue starttime vsize rss */
		if (p)
			sscanf(
			    p + 2,
			    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
			    "%llu %*d %*d %*d %*d %*d %*d %llu %llu %llu",
			    &utime, &stime, &start, &vsize, &rss);
	}
	in = fopen("/proc/stat", "r");
	while (in && fgets(buf, sizeof buf, in))
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	if (in)
		fclose(in);
	long fds = 0;
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *e; d && (e = readdir(d));)
		fds += e->d_name[0] != '.';
	if (d)
		closedir(d);
	fds -= d != NULL; /* opendir's own */
	struct rlimit rl = {0, 0};
	getrlimit(RLIMIT_NOFILE, &rl);

	counter(f, "process_cpu_seconds_total",
		"Total user and system CPU time spent in seconds.",
		(double)(utime + stime) / (double)tick);
	gauge(f, "process_start_time_seconds",
	      "Start time of the process since unix epoch in seconds.",
	      (double)btime + (double)start / (double)tick);
	gauge(f, "process_resident_memory_bytes",
	      "Resident memory size in bytes.", (double)rss * (double)page);
	gauge(f, "process_virtual_memory_bytes",
	      "Virtual memory size in bytes.", (double)vsize);
	gauge(f, "process_open_fds", "Number of open file descriptors.",
	      (double)fds);
	gauge(f, "process_max_fds", "Maximum number of open file descriptors.",
	      (double)rl.rlim_cur);
}

int otp_h_metrics(struct otp_req *r)
{
	static pthread_mutex_t one_scrape = PTHREAD_MUTEX_INITIALIZER;
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	if (!f)
		abort();
	pthread_mutex_lock(&one_scrape);
	otp_metrics_write(f);
	otp_abuse_metrics_write(f);
	otp_pow_metrics_write(f);
	struct otp_store *s = handle(false);
	write_store(f, s);
	if (s)
		write_outbox(f, s, r->now);
	uint64_t hits = 0, misses = 0;
	otp_app_session_stats(&hits, &misses);
	counter(f, "otpd_session_cache_hits_total",
		"Session reads answered from the in-memory cache.", hits);
	counter(f, "otpd_session_cache_misses_total",
		"Session reads the cache sent to the store.", misses);
	fprintf(f,
		"# HELP otpd_build_info The running build.\n"
		"# TYPE otpd_build_info gauge\n"
		"otpd_build_info{version=\"%s\"} 1\n",
		OTPD_VERSION);
	write_process(f);
	pthread_mutex_unlock(&one_scrape);
	if (fclose(f) != 0)
		abort();
	otp_req_set_body(r, 200, content_type, body, len);
	return 0;
}
