/* tracking.c - the Redis store's tracker (store.h's track): a thread and a
 * connection of its own that keep the process's session cache
 * (store_cache.h) coherent with what every process writes, through Redis's
 * server-assisted client-side caching over RESP2 (hiredis 0.14 speaks no
 * RESP3).
 *
 * The connection asks for broadcast tracking of the session keys' prefix,
 * redirected to itself (CLIENT TRACKING on REDIRECT <its own id> BCAST
 * PREFIX otp:{s:), then subscribes to __redis__:invalidate: Redis publishes
 * there the name of every session key that any client changes, and a nil
 * for a FLUSHALL or FLUSHDB. Each name is a token hash in store.c's key
 * layout, dropped from the cache; a nil drops every row. The data
 * connections (conn.c) are left as they are: broadcast mode tracks no
 * reads, so Redis keeps no table of what each of them read.
 *
 * A notice comes on another connection than the reply it races, so it may
 * come first: the cache's generations make that fill give up. A notice the
 * thread cannot get is lost for good, so the cache is suspended (nothing
 * answered from memory, nothing filled) from the start until the
 * subscription is confirmed, and again the moment the connection fails,
 * closes, or leaves a PING (one every PING_MS: a dead path says nothing)
 * unanswered for PONG_MS; on top of that no row lives longer than
 * MAX_AGE_MS. It reconnects at once, then with a backoff of 50 ms doubling
 * to 1 s. The only clock it reads is the monotonic one.
 *
 * Not here: the cache (store_cache.c), the key layout (store.c, redis.h),
 * the data connections (conn.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "store/redis/conn.h"
#include "store/redis/redis.h"
#include "store/redis/stats.h"
#include "store/store_cache.h"

/* A logout on another process stops this one's check well within 100 ms
 * while the connection is up; a path that dies silently is found within
 * PING_MS + PONG_MS, and a row that outlived both within MAX_AGE_MS. */
#define PING_MS	       200
#define PONG_MS	       400
#define CONNECT_MS     400
#define MAX_AGE_MS     1000
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000
#define CHANNEL	       "__redis__:invalidate"

struct tracker {
	struct otp_store_tracker base;
	struct otp_redis where; /* the URL: where, credentials */
	struct otp_session_cache *cache;
	redisContext *c; /* NULL while down */
	int wake[2];	 /* a byte on wake[1] stops the thread */
	pthread_t th;
	int64_t ping_at; /* when the next PING goes */
	int64_t pong_by; /* 0, or when the PING sent must have its answer */
	int64_t backoff_ms;
};

enum {
#define STAT_ID(name) STAT_##name,
	OTP_REDIS_TRACKING_STATS(STAT_ID)
#undef STAT_ID
	    STAT_COUNT
};

static _Atomic uint64_t stats[STAT_COUNT];
static atomic_bool up;

static void bump(int which, uint64_t n)
{
	atomic_fetch_add_explicit(&stats[which], n, memory_order_relaxed);
}

struct otp_redis_tracking_stats otp_redis_tracking_stats(void)
{
	struct otp_redis_tracking_stats out;
#define STAT_READ(name)                                                        \
	out.name =                                                             \
	    atomic_load_explicit(&stats[STAT_##name], memory_order_relaxed);
	OTP_REDIS_TRACKING_STATS(STAT_READ)
#undef STAT_READ
	out.up = atomic_load(&up);
	return out;
}

/* One command of the set-up: its reply, or NULL with why (the connection's
 * error, or Redis's: a refused AUTH, a Redis older than 6 without CLIENT
 * TRACKING, an ACL that forbids it). */
static redisReply *call(struct tracker *t, int argc, const char **v, char *why,
			size_t cap)
{
	size_t len[8];
	for (int i = 0; i < argc; i++)
		len[i] = strlen(v[i]);
	redisReply *rep = redisCommandArgv(t->c, argc, v, len);
	if (!rep) {
		snprintf(why, cap, "%s", t->c->errstr);
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(why, cap, "%s", rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

/* Connects, tracks the session prefix to itself, subscribes: 0, or -1
 * with why (t->c left for the caller to free). */
static int subscribe(struct tracker *t, char *why, size_t cap)
{
	struct timeval tv = {0, CONNECT_MS * 1000};
	t->c = otp_redis_dial(&t->where, tv);
	if (!t->c || t->c->err || redisSetTimeout(t->c, tv) != REDIS_OK) {
		snprintf(why, cap, "%s", t->c ? t->c->errstr : "out of memory");
		return -1;
	}
	redisReply *rep;
	if (t->where.pass) {
		const char *v[] = {
		    "AUTH", t->where.user ? t->where.user : t->where.pass,
		    t->where.pass};
		if (!(rep = call(t, t->where.user ? 3 : 2, v, why, cap)))
			return -1;
		freeReplyObject(rep);
	}
	const char *id[] = {"CLIENT", "ID"};
	if (!(rep = call(t, 2, id, why, cap)))
		return -1;
	char own[32];
	snprintf(own, sizeof own, "%lld", rep->integer);
	bool ok = rep->type == REDIS_REPLY_INTEGER;
	freeReplyObject(rep);
	const char *track[] = {
	    "CLIENT", "TRACKING", "on",	    "REDIRECT",
	    own,      "BCAST",	  "PREFIX", OTP_REDIS_SESSION_PREFIX};
	if (!ok || !(rep = call(t, 8, track, why, cap))) {
		if (!ok)
			snprintf(why, cap, "CLIENT ID: not a number");
		return -1;
	}
	freeReplyObject(rep);
	const char *sub[] = {"SUBSCRIBE", CHANNEL};
	if (!(rep = call(t, 2, sub, why, cap)))
		return -1;
	ok = rep->type == REDIS_REPLY_ARRAY && rep->elements == 3;
	freeReplyObject(rep);
	if (!ok)
		snprintf(why, cap, "SUBSCRIBE: an unexpected answer");
	return ok ? 0 : -1;
}

/* A warning logged at most every 10 s, with how many it held back. */
static void warn_every(struct otp_log_every *every, const char *msg,
		       const char *why)
{
	long held;
	char n[OTP_LOG_NUM_LEN];
	if (otp_log_every_due(every, otp_clock_mono_ms(), 10000, &held))
		otp_log(OTP_LOG_WARN, msg, "error", why, "#repeated",
			otp_log_num(n, held), NULL);
}

/* The connection is of no more use: every row goes, until the next one
 * is subscribed. */
static void lose(struct tracker *t, const char *why)
{
	static struct otp_log_every lost;
	otp_session_cache_suspend(t->cache);
	atomic_store(&up, false);
	bump(STAT_tracking_lost, 1);
	warn_every(&lost,
		   "redis session tracking lost: sessions read from redis "
		   "until it is back",
		   why);
	redisFree(t->c);
	t->c = NULL;
	t->pong_by = 0;
	t->backoff_ms =
	    0; /* a closed connection (CLIENT KILL): again at once */
}

/* Whether it is now subscribed (and the cache resumed). */
static bool dial(struct tracker *t)
{
	static struct otp_log_every failed;
	char why[256] = "";
	if (subscribe(t, why, sizeof why) == 0) {
		otp_session_cache_resume(t->cache);
		atomic_store(&up, true);
		bump(STAT_tracking_connects, 1);
		t->backoff_ms = 0;
		t->ping_at = otp_clock_mono_ms() + PING_MS;
		return true;
	}
	if (t->c)
		redisFree(t->c);
	t->c = NULL;
	warn_every(&failed,
		   "redis session tracking unavailable: sessions read from "
		   "redis",
		   why);
	t->backoff_ms = t->backoff_ms ? 2 * t->backoff_ms : BACKOFF_MIN_MS;
	if (t->backoff_ms > BACKOFF_MAX_MS)
		t->backoff_ms = BACKOFF_MAX_MS;
	return false;
}

/* A session key's token hash: true if `key` is one (store.c's layout). */
static bool hash_of(const redisReply *key, unsigned char hash[OTP_HASH_LEN])
{
	size_t pre = strlen(OTP_REDIS_SESSION_PREFIX), hex = 2 * OTP_HASH_LEN;
	if (key->type != REDIS_REPLY_STRING || key->len != pre + hex + 1 ||
	    memcmp(key->str, OTP_REDIS_SESSION_PREFIX, pre) != 0 ||
	    key->str[pre + hex] != '}')
		return false;
	size_t n = 0;
	return sodium_hex2bin(hash, OTP_HASH_LEN, key->str + pre, hex, NULL, &n,
			      NULL) == 0 &&
	       n == OTP_HASH_LEN;
}

static bool is(const redisReply *rep, size_t i, const char *word)
{
	const redisReply *e = el(rep, i);
	return e && e->type == REDIS_REPLY_STRING && strcmp(e->str, word) == 0;
}

/* A message on the channel (its keys, or nil: every key), or PING's
 * answer; anything else is not ours to read. */
static void heard(struct tracker *t, const redisReply *rep)
{
	if (is(rep, 0, "pong")) {
		t->pong_by = 0;
		t->ping_at = otp_clock_mono_ms() + PING_MS;
		return;
	}
	if (!is(rep, 0, "message") || !is(rep, 1, CHANNEL))
		return;
	const redisReply *keys = el(rep, 2);
	if (!keys || keys->type != REDIS_REPLY_ARRAY) {
		otp_session_cache_drop_all(t->cache);
		bump(STAT_tracking_flushes, 1);
		return;
	}
	unsigned char hash[OTP_HASH_LEN];
	for (size_t i = 0; i < keys->elements; i++)
		if (hash_of(keys->element[i], hash))
			otp_session_cache_invalidate(t->cache, hash);
	bump(STAT_invalidations, keys->elements);
}

/* Reads what came: false if the connection ended or broke. */
static bool drain(struct tracker *t)
{
	if (redisBufferRead(t->c) != REDIS_OK)
		return false;
	for (;;) {
		void *rep = NULL;
		if (redisGetReplyFromReader(t->c, &rep) != REDIS_OK)
			return false;
		if (!rep)
			return true;
		heard(t, rep);
		freeReplyObject(rep);
	}
}

static bool ping(struct tracker *t)
{
	int done = 0;
	if (redisAppendCommand(t->c, "PING") != REDIS_OK)
		return false;
	while (!done)
		if (redisBufferWrite(t->c, &done) != REDIS_OK)
			return false;
	t->pong_by = otp_clock_mono_ms() + PONG_MS;
	return true;
}

/* Waits ms, or until stopped: true if stopped. */
static bool stopped_within(struct tracker *t, int64_t ms)
{
	struct pollfd p = {.fd = t->wake[0], .events = POLLIN};
	return poll(&p, 1, (int)ms) > 0;
}

static void *track_loop(void *arg)
{
	struct tracker *t = arg;
	for (;;) {
		if (!t->c && !dial(t)) {
			if (stopped_within(t, t->backoff_ms))
				break;
			continue;
		}
		int64_t now = otp_clock_mono_ms();
		int64_t due = t->pong_by ? t->pong_by : t->ping_at;
		struct pollfd p[2] = {{.fd = t->c->fd, .events = POLLIN},
				      {.fd = t->wake[0], .events = POLLIN}};
		int n = poll(p, 2, due > now ? (int)(due - now) : 0);
		if (n < 0 && errno != EINTR) {
			lose(t, strerror(errno));
			continue;
		}
		if (n > 0 && p[1].revents)
			break;
		if (n > 0 && p[0].revents && !drain(t)) {
			lose(t, t->c->errstr[0] ? t->c->errstr
						: "connection closed");
			continue;
		}
		now = otp_clock_mono_ms();
		if (t->pong_by && now >= t->pong_by)
			lose(t, "no answer to PING");
		else if (!t->pong_by && now >= t->ping_at && !ping(t))
			lose(t, t->c->errstr);
	}
	return NULL;
}

static void stop(struct otp_store_tracker *base)
{
	struct tracker *t = (struct tracker *)base;
	char b = 1;
	if (write(t->wake[1], &b, 1) != 1)
		abort(); /* a pipe of our own, never full */
	pthread_join(t->th, NULL);
	otp_session_cache_suspend(t->cache);
	atomic_store(&up, false);
	if (t->c)
		redisFree(t->c);
	close(t->wake[0]);
	close(t->wake[1]);
	otp_redis_deinit(&t->where);
	free(t);
}

int otp_redis_track(const char *arg, struct otp_session_cache *c,
		    struct otp_store_tracker **out)
{
	*out = NULL;
	struct tracker *t = calloc(1, sizeof *t);
	if (!t)
		abort();
	int rc = otp_redis_init(&t->where, arg);
	if (rc)
		goto fail_url;
	rc = OTP_EINTERNAL;
	if (pipe2(t->wake, O_CLOEXEC) != 0)
		goto fail_url;
	t->base.stop = stop;
	t->cache = c;
	otp_session_cache_set_max_age(c, MAX_AGE_MS);
	otp_session_cache_suspend(c);
	if (pthread_create(&t->th, NULL, track_loop, t) != 0)
		goto fail_thread;
	*out = &t->base;
	return 0;
fail_thread:
	close(t->wake[0]);
	close(t->wake[1]);
fail_url:
	otp_redis_deinit(&t->where);
	free(t);
	return rc;
}
