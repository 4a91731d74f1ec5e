/* test_store_redis_cache.c - the session cache on Redis, kept coherent by
 * the Redis store's tracker (src/store/redis/tracking.c).
 *
 * Its own redis-server (redis_server.h). First the whole store contract
 * through a cached handle whose cache a running tracker keeps (a fresh
 * cache and tracker per store, waited for until subscribed). Then the
 * tracker's own behaviour against another client of the same server, as
 * another otpd process would be: a session it changes or deletes is
 * dropped here within 100 ms, a FLUSHALL drops every row, other keys drop
 * nothing; its connection killed, the server hung or stopped: the cache is
 * suspended (every read from Redis) until it is subscribed again; a
 * malformed URL starts nothing. The reads' `now` is injected; the waits
 * are on the real clock, polled against deadlines.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "../../contract/contract.h"
#include "core/clock.h"
#include "store/redis/stats.h"
#include "store/store_cache.h"

#include "redis_server.h"

/* The cache and tracker of the store last opened for the contract. */
static struct otp_session_cache *contract_cache;
static struct otp_store_tracker *contract_tracker;

/* Polls until the cache is in use (up: its tracker subscribed) or
 * suspended (!up), at most ms: whether it got there. */
static bool wait_up(struct otp_session_cache *c, bool up, int64_t ms)
{
	int64_t deadline = otp_clock_mono_ms() + ms;
	while (otp_session_cache_is_suspended(c) == up &&
	       otp_clock_mono_ms() < deadline)
		usleep(1000);
	return otp_session_cache_is_suspended(c) != up;
}

/* A tracked cache: 0, with it and its tracker subscribed. */
static int track(struct otp_session_cache **c, struct otp_store_tracker **t)
{
	*c = otp_session_cache_new(64);
	int rc = otp_store_track(url, *c, t);
	if (rc == 0 && !wait_up(*c, true, 2000))
		rc = OTP_EUNAVAIL;
	return rc;
}

static void untrack(struct otp_session_cache *c, struct otp_store_tracker *t)
{
	otp_store_track_stop(t);
	otp_session_cache_free(c);
}

static void drop_contract_cache(void)
{
	if (contract_cache)
		untrack(contract_cache, contract_tracker);
	contract_cache = NULL;
	contract_tracker = NULL;
}

/* The contract's stores: a flushed database, a fresh cache and tracker. */
static int open_contract(struct otp_store **out)
{
	struct otp_store *s;
	drop_contract_cache();
	if (raw_cmd("FLUSHALL") != 0)
		return OTP_EUNAVAIL;
	int rc = otp_store_open(url, &s);
	if (rc < 0)
		return rc;
	rc = track(&contract_cache, &contract_tracker);
	if (rc < 0) {
		otp_store_close(s);
		return rc;
	}
	*out = otp_store_cached_new(s, contract_cache);
	return 0;
}

/* Polls until the tracker has heard of more session keys than `heard`,
 * at most ms: whether it has. */
static bool heard_more(uint64_t heard, int64_t ms)
{
	int64_t deadline = otp_clock_mono_ms() + ms;
	while (otp_redis_tracking_stats().invalidations == heard &&
	       otp_clock_mono_ms() < deadline)
		usleep(200);
	return otp_redis_tracking_stats().invalidations != heard;
}

/* A cached handle on a tracked cache, over a flushed database, with a
 * session bound to hash (all 7s) and read once through it (a fill). */
struct fixture {
	struct otp_session_cache *c;
	struct otp_store_tracker *t;
	struct otp_store *s; /* cached */
	unsigned char h[OTP_HASH_LEN];
};

static uint64_t hits(struct fixture *f)
{
	uint64_t h, m;
	otp_session_cache_stats(f->c, &h, &m);
	return h;
}

static int bind_code(struct otp_store *s, unsigned n, unsigned char b)
{
	struct otp_code_new c = ct_make_code(n, CT_P1, CT_T0 + CT_TTL);
	struct otp_session_bind bind = ct_make_bind(b, CT_T0 + CT_TTL);
	return ct_issue(s, &c, &bind, CT_T0);
}

static int fx_open(struct fixture *f)
{
	struct otp_session sess;
	struct otp_store *s;
	drop_contract_cache(); /* one tracker at a time: stats are global */
	memset(f, 0, sizeof *f);
	memset(f->h, 7, sizeof f->h);
	if (raw_cmd("FLUSHALL") != 0 || otp_store_open(url, &s) < 0)
		return OTP_EUNAVAIL;
	int rc = track(&f->c, &f->t);
	f->s = otp_store_cached_new(s, f->c);
	uint64_t heard = otp_redis_tracking_stats().invalidations;
	if (rc == 0)
		rc = bind_code(f->s, 1, 7);
	/* The notice of that write comes back from Redis too, and would drop
	 * a fill made before it came: wait for it. */
	if (rc == 0 && !heard_more(heard, 1000))
		rc = OTP_EUNAVAIL;
	return rc ? rc : otp_store_session_get(f->s, f->h, CT_T0, &sess);
}

static void fx_close(struct fixture *f)
{
	otp_store_close(f->s);
	untrack(f->c, f->t);
}

/* A session's key, as store.c names it. */
static void session_key(const unsigned char h[OTP_HASH_LEN], char *key,
			size_t cap)
{
	char hex[2 * OTP_HASH_LEN + 1];
	sodium_bin2hex(hex, sizeof hex, h, OTP_HASH_LEN);
	snprintf(key, cap, "otp:{s:%s}", hex);
}

/* Polls a read of h until it answers want, at most ms: how long it took,
 * or -1. */
static int64_t read_until(struct otp_store *s, const unsigned char *h, int want,
			  int64_t ms)
{
	struct otp_session sess;
	int64_t t0 = otp_clock_mono_ms();
	do {
		if (otp_store_session_get(s, h, CT_T0, &sess) == want)
			return otp_clock_mono_ms() - t0;
		usleep(200);
	} while (otp_clock_mono_ms() - t0 < ms);
	return -1;
}

/* Another client deletes the session: gone here within 100 ms; a session
 * it does not touch stays cached. */
static void tr_other_client_deletes(void)
{
	struct fixture f;
	struct otp_session s;
	unsigned char h2[OTP_HASH_LEN];
	CHECK_INT(fx_open(&f), 0);
	memset(h2, 8, sizeof h2);
	uint64_t heard = otp_redis_tracking_stats().invalidations;
	CHECK_INT(bind_code(f.s, 2, 8), 0);
	CHECK(heard_more(heard, 1000)); /* its own notice (see fx_open) */
	CHECK_INT(otp_store_session_get(f.s, h2, CT_T0, &s), 0);
	CHECK_INT(otp_store_session_get(f.s, f.h, CT_T0, &s), 0);
	CHECK_INT(hits(&f), 1);
	heard = otp_redis_tracking_stats().invalidations;
	char key[128];
	session_key(f.h, key, sizeof key);
	CHECK_INT(raw_cmd("DEL %s", key), 1);
	int64_t took = read_until(f.s, f.h, OTP_ENOTFOUND, 100);
	CHECK(took >= 0);
	CHECK(otp_redis_tracking_stats().invalidations > heard);
	uint64_t before = hits(&f);
	CHECK_INT(otp_store_session_get(f.s, h2, CT_T0, &s), 0);
	CHECK_INT(hits(&f), before + 1);
	fx_close(&f);
}

/* Another client changes the session (HSET, as a script would): the next
 * reads here see the change within 100 ms. */
static void tr_other_client_changes(void)
{
	struct fixture f;
	char key[128];
	CHECK_INT(fx_open(&f), 0);
	session_key(f.h, key, sizeof key);
	CHECK(raw_cmd("HSET %s pi other-code", key) >= 0);
	int64_t deadline = otp_clock_mono_ms() + 100;
	struct otp_session s;
	do {
		CHECK_INT(otp_store_session_get(f.s, f.h, CT_T0, &s), 0);
	} while (strcmp(s.pending_id, "other-code") != 0 &&
		 otp_clock_mono_ms() < deadline);
	CHECK_STR(s.pending_id, "other-code");
	fx_close(&f);
}

/* Keys that are not sessions drop nothing (Redis sends no notice of
 * them: a session key's notice, sent after theirs would be, is the only
 * one heard); FLUSHALL (a nil notice) drops every row. */
static void tr_other_keys_and_flush(void)
{
	struct fixture f;
	struct otp_session s;
	unsigned char h2[OTP_HASH_LEN];
	char key[128];
	CHECK_INT(fx_open(&f), 0);
	memset(h2, 9, sizeof h2);
	session_key(h2, key, sizeof key);
	uint64_t heard = otp_redis_tracking_stats().invalidations;
	CHECK_INT(raw_cmd("SET otp:{c:unrelated} 1"), 0);
	CHECK_INT(raw_cmd("SET otp:{session-like} 1"), 0);
	CHECK_INT(raw_cmd("SET %s 1", key), 0);
	CHECK(heard_more(heard, 100));
	CHECK_INT(otp_redis_tracking_stats().invalidations, heard + 1);
	CHECK_INT(otp_store_session_get(f.s, f.h, CT_T0, &s), 0);
	CHECK_INT(hits(&f), 1);
	uint64_t flushes = otp_redis_tracking_stats().tracking_flushes;
	CHECK_INT(raw_cmd("FLUSHALL"), 0);
	CHECK(read_until(f.s, f.h, OTP_ENOTFOUND, 100) >= 0);
	CHECK(otp_redis_tracking_stats().tracking_flushes > flushes);
	fx_close(&f);
}

/* The tracking connection closed by the server: suspended at once (a
 * write meanwhile is read from Redis), then subscribed again, caching. */
static void tr_connection_killed(void)
{
	struct fixture f;
	struct otp_session s;
	CHECK_INT(fx_open(&f), 0);
	struct otp_redis_tracking_stats before = otp_redis_tracking_stats();
	CHECK(raw_cmd("CLIENT KILL TYPE pubsub") >= 1);
	int64_t deadline = otp_clock_mono_ms() + 1000;
	while (otp_redis_tracking_stats().tracking_connects ==
		   before.tracking_connects &&
	       otp_clock_mono_ms() < deadline)
		usleep(1000); /* lost, then subscribed again */
	struct otp_redis_tracking_stats after = otp_redis_tracking_stats();
	CHECK(after.tracking_lost > before.tracking_lost);
	CHECK(after.tracking_connects > before.tracking_connects);
	CHECK(after.up);
	/* the row from before the loss is not answered */
	uint64_t h0 = hits(&f);
	CHECK_INT(otp_store_session_get(f.s, f.h, CT_T0, &s), 0);
	CHECK_INT(hits(&f), h0);
	CHECK_INT(otp_store_session_get(f.s, f.h, CT_T0, &s), 0);
	CHECK_INT(hits(&f), h0 + 1);
	fx_close(&f);
}

/* A hung server (SIGSTOP): its PING unanswered, the cache is suspended
 * within PING_MS + PONG_MS (200 + 400 ms; 1.5 s allowed here), then back
 * after SIGCONT. */
static void tr_server_hung(void)
{
	struct fixture f;
	CHECK_INT(fx_open(&f), 0);
	kill(server, SIGSTOP);
	int64_t t0 = otp_clock_mono_ms();
	bool lost = wait_up(f.c, false, 1500);
	int64_t took = otp_clock_mono_ms() - t0;
	kill(server, SIGCONT);
	CHECK(lost);
	CHECK(took < 1500);
	CHECK(!otp_redis_tracking_stats().up);
	CHECK(wait_up(f.c, true, 3000));
	fx_close(&f);
}

/* A stopped server: suspended; started again (empty): subscribed again
 * within the backoff, and the session it lost is not answered. */
static void tr_server_restarted(void)
{
	struct fixture f;
	CHECK_INT(fx_open(&f), 0);
	stop_server();
	CHECK(wait_up(f.c, false, 1000));
	CHECK_INT(start_server(), 0);
	CHECK(wait_up(f.c, true, 3000));
	CHECK(read_until(f.s, f.h, OTP_ENOTFOUND, 2000) >= 0);
	fx_close(&f);
}

/* A malformed URL: an error, no thread, the cache untouched. */
static void tr_bad_url(void)
{
	struct otp_session_cache *c = otp_session_cache_new(8);
	struct otp_store_tracker *t = (struct otp_store_tracker *)1;
	CHECK_INT(otp_store_track("redis://nohost", c, &t), OTP_ETYPE);
	CHECK(t == NULL);
	CHECK(!otp_session_cache_is_suspended(c));
	CHECK_INT(otp_store_track("sqlite:/tmp/x.db", c, &t), OTP_ETYPE);
	otp_session_cache_free(c);
}

static const struct harness_test tests[] = {
    TEST(tr_other_client_deletes),
    TEST(tr_other_client_changes),
    TEST(tr_other_keys_and_flush),
    TEST(tr_connection_killed),
    TEST(tr_server_hung),
    TEST(tr_server_restarted),
    TEST(tr_bad_url),
};

static void tear_down(void)
{
	drop_contract_cache();
	stop_server();
}

static const struct contract_backend backend = {open_contract, NULL, NULL,
						NULL};
CONTRACT_MAIN("store_redis_cache", dir, &backend, set_up, tear_down, tests)
