/* test_store_redis.c - the store contract on Redis, plus Redis's own tests.
 *
 * Starts its own redis-server (no persistence) on a free loopback port in a
 * temporary directory, empties it before every contract test, and stops it
 * at the end. The tests below the contract are what only this backend can
 * promise: handles racing on one server (verify, idempotency, limits, a
 * lease), scripts loaded again after SCRIPT FLUSH, a connection closed by
 * the server picked up without an error, TTLs on every record, URLs,
 * passwords and databases (over TCP and the server's unix socket), exact
 * purges, and the outage cases: a stopped or hung server answers OTP_EUNAVAIL
 * within the timeouts, and a restarted one is used again without reopening.
 * Time is injected except there.
 */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "../../contract/contract.h"
#include "core/clock.h"
#include "fiber_hold.h"
#include "store/redis/stats.h"

#include "redis_server.h"

static int open_fresh(struct otp_store **out)
{
	if (raw_cmd("FLUSHALL") != 0)
		return OTP_EUNAVAIL;
	return otp_store_open(url, out);
}

/* The contract's race cases: a flushed database, more handles on it, and
 * its keys counted. */
static int flush(void)
{
	return raw_cmd("FLUSHALL") == 0 ? 0 : OTP_EUNAVAIL;
}

static int reopen_url(struct otp_store **out)
{
	return otp_store_open(url, out);
}

static int64_t count_keys(const char *kind, const char *request_id)
{
	if (request_id && strcmp(kind, "codes") == 0)
		return raw_cmd("EXISTS otp:{c:%s}", request_id);
	if (request_id && strcmp(kind, "outbox") == 0)
		return raw_cmd("EXISTS otp:{outbox}:r:%s", request_id);
	if (request_id)
		return -1;
	if (strcmp(kind, "outbox") == 0)
		return raw_cmd("ZCARD otp:{outbox}:ids");
	return raw_cmd(strcmp(kind, "codes") == 0 ? "KEYS otp:{c:*"
						  : "KEYS otp:{i:*");
}

/* Two processes' workers: only the lease's holder settles; the other gets
 * the message once the lease has run out. */
static void rd_lease_two_handles(void)
{
	struct otp_store *a, *b;
	CHECK_INT(open_fresh(&a), 0);
	CHECK_INT(otp_store_open(url, &b), 0);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(a, &c, NULL, CT_T0), 0);
	struct otp_msg m[2];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_claim(a, CT_T0, CT_LEASE, m, 2, &n), 0);
	CHECK_INT(n, 1);
	otp_msg_deinit(&m[0]);
	CHECK_INT(otp_store_outbox_claim(b, CT_T0 + 1, CT_LEASE, m, 2, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(
	    otp_store_outbox_claim(b, CT_T0 + CT_LEASE, CT_LEASE, m, 2, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(m[0].attempts, 2);
	CHECK_INT(otp_store_outbox_ack(a, m[0].id, 1, CT_T0 + CT_LEASE + 1),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_outbox_ack(b, m[0].id, 2, CT_T0 + CT_LEASE + 1), 0);
	otp_msg_deinit(&m[0]);
	CHECK_INT(ct_get_state(a, c.id), OTP_MSG_SENT);
	otp_store_close(a);
	otp_store_close(b);
}

/* ---- scripts and connections ---- */

static void rd_noscript(void)
{
	struct otp_store *s;
	CHECK_INT(open_fresh(&s), 0);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	uint64_t reloads = otp_redis_stats().script_reloads;
	CHECK_INT(raw_cmd("SCRIPT FLUSH"), 0);
	struct otp_verify_in in = ct_make_try(c.id, CT_WRONG);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 1, &out), OTP_VERIFY_WRONG);
	CHECK_INT(out.attempts_left, 4); /* counted once, not twice */
	CHECK_INT(raw_cmd("SCRIPT FLUSH"), 0);
	struct otp_code_info info; /* the pipelined read */
	CHECK_INT(otp_store_code_get(s, c.id, &info), 0);
	CHECK_INT(info.msg_state, OTP_MSG_QUEUED);
	CHECK_INT(info.attempts_left, 4);
	CHECK_INT(raw_cmd("SCRIPT FLUSH"), 0);
	long removed = -1;
	CHECK_INT(otp_store_purge(s, CT_T0, &removed), 0);
	CHECK_INT(removed, 0);
	CHECK(otp_redis_stats().script_reloads - reloads >=
	      3); /* a flush each */
	otp_store_close(s);
}

/* The server closes idle connections (a restart, a timeout, CLIENT KILL):
 * the next call sees it before sending and connects again, no error. */
static void rd_closed_by_server(void)
{
	struct otp_store *s;
	CHECK_INT(open_fresh(&s), 0);
	CHECK_INT(otp_store_ping(s), 0);
	uint64_t stale = otp_redis_stats().stale_drops;
	CHECK(raw_cmd("CLIENT KILL TYPE normal") >= 1);
	usleep(20000);
	CHECK_INT(otp_store_ping(s), 0);
	CHECK(otp_redis_stats().stale_drops - stale == 1);
	CHECK(raw_cmd("CLIENT KILL TYPE normal") >= 1);
	usleep(20000);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	otp_store_close(s);
}

/* Every record key has a TTL from its own expiry (+ a minute of slack),
 * counted from the caller's `now`; only the outbox's structures and API
 * keys have none. */
static void rd_ttls(void)
{
	struct otp_store *s;
	CHECK_INT(open_fresh(&s), 0);
	struct otp_session_bind b = ct_make_bind(0x11, CT_T0 + 3600000);
	struct otp_idem k = ct_make_idem(CT_IDEM_A, CT_T0 + CT_DAY);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue_full(s, &c, &b, &k, CT_T0, NULL), 0);
	struct otp_limit l = ct_make_limit("ip:127.0.0.1", 60000, 5);
	int64_t retry;
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), 0);
	struct otp_apikey key = ct_make_key("00000000000000a1", "ci", 1, CT_T0);
	CHECK_INT(otp_store_apikey_put(s, &key), 0);

	long long slack = 60000, code = CT_TTL + CT_DAY + slack;
	long long pttl = raw_cmd("PTTL otp:{c:%s}", c.id);
	CHECK(pttl > code - 5000 && pttl <= code);
	pttl = raw_cmd("PTTL otp:{p:%s:}", CT_P1);
	CHECK(pttl > code - 5000 && pttl <= code);
	pttl = raw_cmd("PTTL otp:{outbox}:m:1");
	CHECK(pttl > code - 5000 && pttl <= code);
	pttl = raw_cmd("PTTL otp:{outbox}:r:%s", c.id);
	CHECK(pttl > code - 5000 && pttl <= code);
	pttl = raw_cmd("PTTL otp:{s:%s}", "11111111111111111111111111111111"
					  "11111111111111111111111111111111");
	CHECK(pttl > 3600000 + slack - 5000 && pttl <= 3600000 + slack);
	pttl = raw_cmd("PTTL otp:{i:%s}", CT_IDEM_A);
	CHECK(pttl > CT_DAY + slack - 5000 && pttl <= CT_DAY + slack);
	pttl = raw_cmd("PTTL otp:{l:ip:127.0.0.1}");
	CHECK(pttl > 60000 + slack - 5000 && pttl <= 60000 + slack);

	/* Everything else: the outbox's structures and the API keys. */
	redisContext *rc = raw();
	CHECK(rc && !rc->err);
	redisReply *keys = redisCommand(rc, "KEYS *");
	CHECK(keys && keys->type == REDIS_REPLY_ARRAY);
	static const char *const forever[] = {
	    "otp:{outbox}:seq",
	    "otp:{outbox}:due",
	    "otp:{outbox}:ids",
	    "otp:{outbox}:exp",
	    "otp:{outbox}:st:queued",
	    "otp:{keys}:all",
	    "otp:{keys}:k:00000000000000a1",
	};
	int without = 0;
	for (size_t i = 0; i < keys->elements; i++) {
		redisReply *t =
		    redisCommand(rc, "PTTL %s", keys->element[i]->str);
		bool listed = false;
		for (size_t j = 0; j < sizeof forever / sizeof *forever; j++)
			listed |=
			    strcmp(keys->element[i]->str, forever[j]) == 0;
		if (t->integer < 0) {
			without++;
			if (!listed)
				fprintf(stderr, "no TTL: %s\n",
					keys->element[i]->str);
		}
		freeReplyObject(t);
	}
	CHECK_INT(keys->elements, 14);
	freeReplyObject(keys);
	redisFree(rc);
	CHECK_INT(without, 7);
	otp_store_close(s);
}

/* Purge on the caller's clock: exact counts, and nothing left behind in
 * the outbox's indexes. */
static void rd_purge_exact(void)
{
	struct otp_store *s;
	CHECK_INT(open_fresh(&s), 0);
	struct otp_session_bind b = ct_make_bind(0x21, CT_T0 + 1000);
	struct otp_idem k = ct_make_idem(CT_IDEM_B, CT_T0 + 2000);
	for (unsigned i = 1; i <= 3; i++) {
		struct otp_code_new c = ct_make_code(i, CT_P1, CT_T0 + CT_TTL);
		CHECK_INT(ct_issue_full(s, &c, i == 1 ? &b : NULL,
					i == 1 ? &k : NULL, CT_T0, NULL),
			  0);
	}
	struct otp_limit l[2] = {ct_make_limit("a", 1000, 1),
				 ct_make_limit("b{x}", 1000, 1)};
	int64_t retry;
	CHECK_INT(otp_store_limit_take(s, l, 2, CT_T0, &retry), 0);
	long removed = -1;
	CHECK_INT(otp_store_purge(s, CT_T0 + 1000, &removed), 0);
	CHECK_INT(removed, 3); /* session, two limits */
	CHECK_INT(otp_store_purge(s, CT_T0 + 2000, &removed), 0);
	CHECK_INT(removed, 1); /* the idempotency key */
	CHECK_INT(otp_store_purge(s, CT_T0 + CT_TTL + CT_DAY, &removed), 0);
	CHECK_INT(removed, 0);
	CHECK_INT(otp_store_purge(s, CT_T0 + CT_TTL + CT_DAY + 1, &removed), 0);
	CHECK_INT(removed, 6); /* three codes, three messages */
	CHECK_INT(raw_cmd("ZCARD otp:{outbox}:ids"), 0);
	CHECK_INT(raw_cmd("ZCARD otp:{outbox}:due"), 0);
	CHECK_INT(raw_cmd("ZCARD otp:{outbox}:exp"), 0);
	CHECK_INT(raw_cmd("ZCARD otp:{outbox}:st:queued"), 0);
	CHECK_INT(raw_cmd("KEYS otp:{outbox}:r:*"), 0);
	otp_store_close(s);
}

/* ---- URLs, passwords, databases ---- */

static int open_url(const char *fmt, ...)
{
	char u[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(u, sizeof u, fmt, ap);
	va_end(ap);
	struct otp_store *s = NULL;
	int rc = otp_store_open(u, &s);
	if (rc == 0)
		rc = otp_store_ping(s);
	otp_store_close(s);
	return rc;
}

static void rd_urls(void)
{
	static const char *const bad[] = {
	    "redis://",
	    "redis://127.0.0.1",
	    "redis://127.0.0.1:",
	    "redis://127.0.0.1:0",
	    "redis://127.0.0.1:65536",
	    "redis://127.0.0.1:6379/x",
	    "redis://127.0.0.1:6379/",
	    "redis://[::1:6379",
	    "redis://pw@127.0.0.1:1",
	    "redis://:%zz@127.0.0.1:1",
	    "redis://:%4@127.0.0.1:1",
	    "redis://:6379",
	    "redis+unix://",
	    "redis+unix:///",
	    "redis+unix://r.sock",
	    "redis+unix:///r.sock?db=",
	    "redis+unix:///r.sock?x=1",
	    "redis+unix://pw@/r.sock",
	    "redis:///r.sock",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct otp_store *s = NULL;
		if (otp_store_open(bad[i], &s) != OTP_ETYPE)
			fprintf(stderr, "accepted %s\n", bad[i]);
		CHECK_INT(otp_store_open(bad[i], &s), OTP_ETYPE);
		CHECK(s == NULL);
	}
	CHECK_INT(open_url("redis://localhost:%d", port), 0);
	CHECK_INT(open_url("redis://127.0.0.1:%d/0", port), 0);
	/* A database number out of range is a configuration error. */
	CHECK_INT(open_url("redis://127.0.0.1:%d/99999", port), OTP_EINTERNAL);
}

static void rd_databases(void)
{
	struct otp_store *s3, *s4;
	CHECK_INT(open_fresh(&s3), 0);
	char u[128];
	snprintf(u, sizeof u, "redis://127.0.0.1:%d/4", port);
	CHECK_INT(otp_store_open(u, &s4), 0);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s3, &c, NULL, CT_T0), 0);
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s4, c.id, &info), OTP_ENOTFOUND);
	CHECK_INT(otp_store_code_get(s3, c.id, &info), 0);
	otp_store_close(s3);
	otp_store_close(s4);
}

/* Undoes CONFIG SET requirepass pass, with a connection that
 * authenticates. */
static void clear_password(const char *pass)
{
	redisContext *c = redisConnect("127.0.0.1", port);
	CHECK(c && !c->err);
	redisReply *r = redisCommand(c, "AUTH %s", pass);
	CHECK(r && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	r = redisCommand(c, "CONFIG SET requirepass %s", "");
	CHECK(r && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	redisFree(c);
}

static void rd_password(void)
{
	CHECK_INT(raw_cmd("CONFIG SET requirepass %s", "p@ss:w/rd"), 0);
	/* Percent-encoded, and with a user (Redis 6 ACL: "default"). */
	int with = open_url("redis://:p%%40ss%%3Aw%%2Frd@127.0.0.1:%d/3", port);
	int user =
	    open_url("redis://default:p%%40ss%%3Aw%%2Frd@127.0.0.1:%d", port);
	int wrong = open_url("redis://:nope@127.0.0.1:%d/3", port);
	int none = open_url("redis://127.0.0.1:%d", port);
	clear_password("p@ss:w/rd");
	CHECK_INT(with, 0);
	CHECK_INT(user, 0);
	CHECK_INT(wrong, OTP_EINTERNAL);
	CHECK_INT(none, OTP_EINTERNAL);
}

/* The server's unix socket (its malformed URLs are rd_urls'): the same
 * data as its TCP port, a database chosen by ?db=, a password, and a
 * socket nobody listens on. */
static void rd_unix_socket(void)
{
	struct otp_store *tcp, *over;
	char u[160];
	CHECK_INT(open_fresh(&tcp), 0);
	snprintf(u, sizeof u, "redis+unix://%s?db=3", sock);
	CHECK_INT(otp_store_open(u, &over), 0);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(over, &c, NULL, CT_T0), 0);
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(tcp, c.id, &info), 0);
	otp_store_close(over);
	/* No ?db: database 0, not the one the code went to. */
	snprintf(u, sizeof u, "redis+unix://%s", sock);
	CHECK_INT(otp_store_open(u, &over), 0);
	CHECK_INT(otp_store_code_get(over, c.id, &info), OTP_ENOTFOUND);
	otp_store_close(over);
	otp_store_close(tcp);

	CHECK_INT(raw_cmd("CONFIG SET requirepass %s", "s@ck"), 0);
	int with = open_url("redis+unix://:s%%40ck@%s?db=3", sock);
	int none = open_url("redis+unix://%s", sock);
	clear_password("s@ck");
	CHECK_INT(with, 0);
	CHECK_INT(none, OTP_EINTERNAL);
	/* Opens (connects later), and answers unavailable. */
	snprintf(u, sizeof u, "redis+unix://%s/none.sock", dir);
	CHECK_INT(open_url("%s", u), OTP_EUNAVAIL);
}

/* Many threads, a handle each: their calls go out on one connection,
 * pipelined (batches of more than one call), and each gets its own
 * answers. */
#define PIPE_THREADS 8
#define PIPE_CODES   150

static void *pipe_worker(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	struct otp_store *s;
	long bad = 0;
	if (otp_store_open(url, &s) != 0)
		return (void *)1;
	for (unsigned i = 0; i < PIPE_CODES; i++) {
		char phone[24];
		snprintf(phone, sizeof phone, "+1415%03u%04u", t, i);
		struct otp_code_new c =
		    ct_make_code(t * 1000 + i + 1, phone, CT_T0 + CT_TTL);
		bad += ct_issue(s, &c, NULL, CT_T0) != 0;
		/* A wrong code, then the right one: each answer its own. */
		struct otp_verify_in w = ct_make_try(c.id, CT_WRONG);
		struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
		struct otp_verify_out out;
		bad += ct_verify(s, &w, CT_T0 + 1, &out) != OTP_VERIFY_WRONG;
		bad += out.attempts_left != 4;
		bad += ct_verify(s, &in, CT_T0 + 2, &out) != OTP_VERIFY_OK;
		bad += ct_verify(s, &in, CT_T0 + 3, &out) == OTP_VERIFY_OK;
	}
	otp_store_close(s);
	return (void *)(uintptr_t)bad;
}

/* n threads of pipe_worker at once; *bad gets the sum of what they found
 * wrong. */
static void run_pipe_workers(int n, long *bad)
{
	pthread_t th[PIPE_THREADS];
	*bad = 1;
	CHECK(n <= PIPE_THREADS);
	for (uintptr_t t = 0; t < (uintptr_t)n; t++)
		CHECK_INT(pthread_create(&th[t], NULL, pipe_worker, (void *)t),
			  0);
	*bad = 0;
	for (int t = 0; t < n; t++) {
		void *r;
		pthread_join(th[t], &r);
		*bad += (long)(uintptr_t)r;
	}
}

static void rd_pipelined(void)
{
	struct otp_store *keep;
	CHECK_INT(open_fresh(&keep), 0);
	struct otp_redis_stats before = otp_redis_stats();
	long bad;
	run_pipe_workers(PIPE_THREADS, &bad);
	CHECK_INT(bad, 0);
	struct otp_redis_stats after = otp_redis_stats();
	uint64_t calls = after.pipe_calls - before.pipe_calls;
	uint64_t batches = after.pipe_batches - before.pipe_batches;
	CHECK(calls >= PIPE_THREADS * PIPE_CODES * 4);
	CHECK(batches < calls); /* some batch carried several calls */
	CHECK_INT(after.connects - before.connects, 0); /* keep's, shared */
	otp_store_close(keep);
}

/* Calls on fibers (core/fiber.h): one that has others ready on its runner
 * parks and leaves the batch open, so the six sends of six fibers go out
 * in one round trip; a first fiber holds the runner until all are queued. */
struct fiber_send {
	struct otp_store *s;
	struct otp_code_new code;
	int rc;
};

static void fiber_send(void *arg)
{
	struct fiber_send *f = arg;
	f->rc = ct_issue(f->s, &f->code, NULL, CT_T0);
}

static void rd_fibers_one_round_trip(void)
{
	enum { N = 6 };
	struct otp_store *keep;
	CHECK_INT(open_fresh(&keep), 0);
	struct fiber_send f[N];
	memset(f, 0, sizeof f);
	for (unsigned i = 0; i < N; i++) {
		CHECK_INT(otp_store_open(url, &f[i].s), 0);
		f[i].code = ct_make_code(i + 1, CT_P1, CT_T0 + CT_TTL);
	}
	struct otp_code_new warm = ct_make_code(99, CT_P2, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(keep, &warm, NULL, CT_T0), 0); /* scripts loaded */
	struct otp_fibers *fs = otp_fibers_start(1, N + 1, 256);
	struct otp_redis_stats before = otp_redis_stats();
	CHECK(fiber_hold(fs));
	for (int i = 0; i < N; i++)
		CHECK(otp_fibers_post(fs, fiber_send, &f[i]));
	fiber_hold_release();
	otp_fibers_stop(fs, NULL);
	otp_fibers_free(fs);
	fiber_hold_done();
	struct otp_redis_stats after = otp_redis_stats();
	CHECK_INT(after.pipe_calls - before.pipe_calls, N);
	CHECK_INT(after.pipe_batches - before.pipe_batches, 1);
	for (int i = 0; i < N; i++) {
		CHECK_INT(f[i].rc, 0);
		struct otp_code_info info;
		CHECK_INT(otp_store_code_get(keep, f[i].code.id, &info), 0);
		otp_store_close(f[i].s);
	}
	otp_store_close(keep);
}

/* Fibers and threads on one connection at once: each call gets its own
 * answers, whoever leads its batch. */
static void fiber_worker(void *arg)
{
	*(long *)arg = (long)(uintptr_t)pipe_worker(
	    (void *)(uintptr_t)(PIPE_THREADS + (unsigned)(*(long *)arg)));
}

static void rd_fibers_and_threads(void)
{
	struct otp_store *keep;
	CHECK_INT(open_fresh(&keep), 0);
	enum { NF = 4, NT = 4 };
	long res[NF];
	struct otp_fibers *fs = otp_fibers_start(1, NF, 256);
	for (long i = 0; i < NF; i++) {
		res[i] = i;
		CHECK(otp_fibers_post(fs, fiber_worker, &res[i]));
	}
	long bad;
	run_pipe_workers(NT, &bad);
	otp_fibers_stop(fs, NULL);
	otp_fibers_free(fs);
	for (int i = 0; i < NF; i++)
		bad += res[i];
	CHECK_INT(bad, 0);
	otp_store_close(keep);
}

/* ---- outages (real time) ---- */

/* A hung server (SIGSTOP): the command timeout, 500 ms, answers. */
static void rd_hung(void)
{
	struct otp_store *s;
	CHECK_INT(open_fresh(&s), 0);
	CHECK_INT(otp_store_ping(s), 0);
	kill(server, SIGSTOP);
	int64_t t0 = otp_clock_mono_ms();
	int rc = otp_store_ping(s);
	int64_t took = otp_clock_mono_ms() - t0;
	kill(server, SIGCONT);
	CHECK_INT(rc, OTP_EUNAVAIL);
	CHECK(took >= 400 && took < 1500);
	/* Back: a new connection, after a short wait at most. */
	int64_t deadline = otp_clock_mono_ms() + 3000;
	while (otp_store_ping(s) != 0 && otp_clock_mono_ms() < deadline)
		usleep(10000);
	CHECK_INT(otp_store_ping(s), 0);
	otp_store_close(s);
}

/* A stopped server: OTP_EUNAVAIL at once, for every kind of call, and no
 * hammering (a backoff between connection attempts); a handle opened
 * meanwhile works once it is back; so do the old ones, without reopening. */
static void rd_down_and_back(void)
{
	struct otp_store *s, *late = NULL;
	CHECK_INT(open_fresh(&s), 0);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	stop_server();
	struct otp_redis_stats before = otp_redis_stats();

	int64_t t0 = otp_clock_mono_ms();
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(otp_store_code_verify(s, &in, CT_T0 + 1, &out), OTP_EUNAVAIL);
	CHECK_INT(out.result, OTP_VERIFY_NOTFOUND); /* never "ok" */
	struct otp_limit l = ct_make_limit("ph:" CT_P1, 1000, 1);
	int64_t retry;
	for (int i = 0; i < 50; i++) {
		CHECK_INT(otp_store_ping(s), OTP_EUNAVAIL);
		CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry),
			  OTP_EUNAVAIL);
		struct otp_code_new d = ct_make_code(2, CT_P1, CT_T0 + CT_TTL);
		CHECK_INT(ct_issue(s, &d, NULL, CT_T0), OTP_EUNAVAIL);
		struct otp_msg m[1];
		size_t n = 9;
		CHECK_INT(otp_store_outbox_claim(s, CT_T0, CT_LEASE, m, 1, &n),
			  OTP_EUNAVAIL);
		CHECK_INT(n, 0);
	}
	CHECK(otp_clock_mono_ms() - t0 < 1500);
	/* The counters say so: few attempts, most calls refused at once. */
	struct otp_redis_stats down = otp_redis_stats();
	CHECK(down.connect_failures > before.connect_failures);
	CHECK(down.connect_failures - before.connect_failures < 50);
	CHECK(down.backoff_refusals - before.backoff_refusals > 100);
	CHECK_INT(otp_store_open(url, &late), 0); /* opens; connects later */
	CHECK_INT(otp_store_ping(late), OTP_EUNAVAIL);

	CHECK_INT(start_server(), 0);
	int64_t deadline = otp_clock_mono_ms() + 3000;
	while ((otp_store_ping(s) != 0 || otp_store_ping(late) != 0) &&
	       otp_clock_mono_ms() < deadline)
		usleep(20000);
	CHECK_INT(otp_store_ping(s), 0);
	CHECK_INT(otp_store_ping(late), 0);
	/* Both on the one shared connection, made again. */
	CHECK(otp_redis_stats().connects - down.connects >= 1);
	/* The server kept nothing (no persistence here): the code is gone,
	 * not accepted. */
	CHECK_INT(ct_verify(s, &in, CT_T0 + 2, &out), OTP_VERIFY_NOTFOUND);
	CHECK_INT(ct_issue(late, &c, NULL, CT_T0), 0);
	CHECK_INT(ct_verify(s, &in, CT_T0 + 3, &out), OTP_VERIFY_OK);
	otp_store_close(s);
	otp_store_close(late);
}

static const struct harness_test tests[] = {
    TEST(rd_lease_two_handles),
    TEST(rd_noscript),
    TEST(rd_closed_by_server),
    TEST(rd_ttls),
    TEST(rd_purge_exact),
    TEST(rd_urls),
    TEST(rd_databases),
    TEST(rd_password),
    TEST(rd_unix_socket),
    TEST(rd_pipelined),
    TEST(rd_fibers_one_round_trip),
    TEST(rd_fibers_and_threads),
    TEST(rd_hung),
    TEST(rd_down_and_back),
};

static const struct contract_backend backend = {open_fresh, flush, reopen_url,
						count_keys};
CONTRACT_MAIN("store_redis", dir, &backend, set_up, stop_server, tests)
