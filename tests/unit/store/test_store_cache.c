/* test_store_cache.c - the session cache decorator over real SQLite files.
 *
 * First the whole store contract through a cached handle (a fresh cache per
 * store), then what is the cache's own: hits, expiry by the injected now,
 * invalidation by every operation that writes a session, a logout on one
 * thread seen at once by another, the race of a fill with a logout, the
 * bound on its size, the maximum age, and the notices a tracker of other
 * processes' writes gives (one row, every row, suspended and resumed), each
 * also racing a fill.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

#include "../../contract/contract.h"
#include "engine/crypto.h"
#include "store/store_cache.h"

static char dir[] = "/tmp/otpd-cache-XXXXXX";
static int files;
static struct otp_session_cache *contract_cache;

static int open_path(const char *path, struct otp_store **out)
{
	char url[256];
	snprintf(url, sizeof url, "sqlite:%s", path);
	return otp_store_open(url, out);
}

static void new_path(char *path, size_t cap)
{
	snprintf(path, cap, "%s/c-%d.db", dir, files++);
}

/* The contract's stores: a fresh file and a fresh cache each (contract
 * tests reuse token hashes from one file to the next). */
static int open_contract(struct otp_store **out)
{
	char path[128];
	struct otp_store *s;
	new_path(path, sizeof path);
	int rc = open_path(path, &s);
	if (rc < 0)
		return rc;
	otp_session_cache_free(contract_cache);
	contract_cache = otp_session_cache_new(64);
	*out = otp_store_cached_new(s, contract_cache);
	return 0;
}

/* Two cached handles on one file and one cache, as two server threads
 * have, and a raw handle that goes around the cache. */
struct fixture {
	char path[128];
	struct otp_session_cache *c;
	struct otp_store *a, *b, *raw;
};

static void fx_open(struct fixture *f, size_t entries)
{
	struct otp_store *s;
	new_path(f->path, sizeof f->path);
	f->c = otp_session_cache_new(entries);
	if (open_path(f->path, &s) < 0)
		abort();
	f->a = otp_store_cached_new(s, f->c);
	if (open_path(f->path, &s) < 0)
		abort();
	f->b = otp_store_cached_new(s, f->c);
	if (open_path(f->path, &f->raw) < 0)
		abort();
}

static void fx_close(struct fixture *f)
{
	otp_store_close(f->a);
	otp_store_close(f->b);
	otp_store_close(f->raw);
	otp_session_cache_free(f->c);
}

static uint64_t hits(struct fixture *f)
{
	uint64_t h, m;
	otp_session_cache_stats(f->c, &h, &m);
	return h;
}

/* A session `b` with a pending code n (bound by code_issue). */
static int bind_code(struct otp_store *s, unsigned n, unsigned char b,
		     int64_t now)
{
	struct otp_code_new c = ct_make_code(n, CT_P1, now + CT_TTL);
	struct otp_session_bind bind = ct_make_bind(b, now + CT_TTL);
	return ct_issue(s, &c, &bind, now);
}

/* fx_open() with a cache of 64, code 1 bound through the cached handle to
 * the session hash h (all 7s), and that session read once through it into
 * *s (which fills the cache). Returns the first error, or 0. */
static int fx_open_bound(struct fixture *f, unsigned char h[OTP_HASH_LEN],
			 struct otp_session *s)
{
	fx_open(f, 64);
	memset(h, 7, OTP_HASH_LEN);
	int rc = bind_code(f->a, 1, 7, CT_T0);
	return rc ? rc : otp_store_session_get(f->a, h, CT_T0, s);
}

static void hit_answers_without_the_backend(void)
{
	struct fixture f;
	struct otp_session s;
	unsigned char h[OTP_HASH_LEN];
	CHECK_INT(fx_open_bound(&f, h, &s), 0);
	CHECK_INT(hits(&f), 0);
	CHECK_INT(otp_store_session_get(f.b, h, CT_T0 + 1, &s), 0);
	CHECK_INT(hits(&f), 1);
	CHECK_STR(s.pending_id, "00000000000000000000000000000001");
	CHECK_STR(s.pending_phone, CT_P1);
	CHECK_INT(s.expires_ms, CT_T0 + CT_TTL);
	/* a write around the cache is not seen: why the cache is only for a
	 * store that this process alone writes */
	CHECK_INT(otp_store_session_delete(f.raw, h), 0);
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0 + 2, &s), 0);
	CHECK_INT(otp_store_session_get(f.raw, h, CT_T0 + 2, &s),
		  OTP_ENOTFOUND);
	/* misses are not cached */
	unsigned char other[OTP_HASH_LEN];
	memset(other, 8, sizeof other);
	CHECK_INT(otp_store_session_get(f.a, other, CT_T0, &s), OTP_ENOTFOUND);
	CHECK_INT(bind_code(f.raw, 2, 8, CT_T0), 0);
	CHECK_INT(otp_store_session_get(f.a, other, CT_T0, &s), 0);
	fx_close(&f);
}

static void expiry_by_now(void)
{
	struct fixture f;
	struct otp_session s;
	unsigned char h[OTP_HASH_LEN];
	CHECK_INT(fx_open_bound(&f, h, &s), 0);
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0 + CT_TTL - 1, &s), 0);
	CHECK_INT(hits(&f), 1);
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0 + CT_TTL, &s),
		  OTP_ENOTFOUND);
	CHECK_INT(hits(&f), 1);
	/* back in time: asked again, the backend still has it */
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0 + 5, &s), 0);
	fx_close(&f);
}

/* Each write through one handle is seen at once through the other. */
static void every_write_invalidates(void)
{
	struct fixture f;
	struct otp_session s;
	struct otp_verify_out vo;
	unsigned char h[OTP_HASH_LEN], h2[OTP_HASH_LEN], h3[OTP_HASH_LEN];
	fx_open(&f, 64);
	memset(h, 7, sizeof h);
	memset(h2, 9, sizeof h2);
	memset(h3, 10, sizeof h3);

	/* code_issue with a bind: the pending code changes */
	CHECK_INT(bind_code(f.a, 1, 7, CT_T0), 0);
	CHECK_INT(otp_store_session_get(f.b, h, CT_T0, &s), 0);
	CHECK_INT(bind_code(f.a, 2, 7, CT_T0 + 1), 0);
	CHECK_INT(otp_store_session_get(f.b, h, CT_T0 + 1, &s), 0);
	CHECK_STR(s.pending_id, "00000000000000000000000000000002");

	/* session_bind: a longer life, a count */
	struct otp_session_bind bind = ct_make_bind(7, CT_T0 + 10 * CT_TTL);
	CHECK_INT(otp_store_session_bind(f.a, &bind, "upstream-1", CT_P2, true,
					 CT_T0 + 2),
		  0);
	CHECK_INT(otp_store_session_get(f.b, h, CT_T0 + 2, &s), 0);
	CHECK_STR(s.pending_id, "upstream-1");
	CHECK_INT(s.sends, 1);
	CHECK_INT(s.expires_ms, CT_T0 + 10 * CT_TTL);

	/* code_verify with rotate: the old hash is gone, the new one is in */
	CHECK_INT(bind_code(f.a, 3, 7, CT_T0 + 3), 0);
	CHECK_INT(otp_store_session_get(f.b, h, CT_T0 + 3, &s), 0);
	CHECK_INT(otp_store_session_get(f.b, h2, CT_T0 + 3, &s), OTP_ENOTFOUND);
	struct otp_verify_in in =
	    ct_make_try("00000000000000000000000000000003", CT_RIGHT);
	in.rotate = true;
	memcpy(in.old_hash, h, sizeof h);
	memcpy(in.new_hash, h2, sizeof h2);
	in.session_expires_ms = CT_T0 + CT_DAY;
	CHECK_INT(ct_verify(f.a, &in, CT_T0 + 4, &vo), OTP_VERIFY_OK);
	CHECK_INT(otp_store_session_get(f.b, h, CT_T0 + 4, &s), OTP_ENOTFOUND);
	CHECK_INT(otp_store_session_get(f.b, h2, CT_T0 + 4, &s), 0);
	CHECK_STR(s.phone, CT_P1);
	CHECK_INT(s.authenticated_ms, CT_T0 + 4);

	/* session_rotate */
	CHECK_INT(otp_store_session_get(f.b, h2, CT_T0 + 5, &s), 0);
	CHECK_INT(otp_store_session_rotate(f.a, h2, h3, CT_P1, CT_T0 + CT_DAY,
					   CT_T0 + 5),
		  0);
	CHECK_INT(otp_store_session_get(f.b, h2, CT_T0 + 5, &s), OTP_ENOTFOUND);
	CHECK_INT(otp_store_session_get(f.b, h3, CT_T0 + 5, &s), 0);

	/* session_delete (logout) */
	CHECK_INT(otp_store_session_get(f.b, h3, CT_T0 + 6, &s), 0);
	CHECK_INT(otp_store_session_delete(f.a, h3), 0);
	CHECK_INT(otp_store_session_get(f.b, h3, CT_T0 + 6, &s), OTP_ENOTFOUND);
	CHECK_INT(hits(&f), 2); /* the re-reads of h2 and h3 */

	/* session_revoke_phone (otpctl session revoke): it names no hash,
	 * yet the cached row of that phone goes */
	CHECK_INT(otp_store_session_rotate(f.a, h, h3, CT_P1, CT_T0 + CT_DAY,
					   CT_T0 + 7),
		  OTP_ENOTFOUND); /* h is gone: log in again by bind + rotate */
	CHECK_INT(bind_code(f.a, 4, 7, CT_T0 + 7), 0);
	CHECK_INT(otp_store_session_rotate(f.a, h, h3, CT_P1, CT_T0 + CT_DAY,
					   CT_T0 + 7),
		  0);
	CHECK_INT(otp_store_session_get(f.b, h3, CT_T0 + 8, &s), 0);
	CHECK_INT(otp_store_session_get(f.b, h3, CT_T0 + 8, &s), 0);
	CHECK_INT(hits(&f), 3);
	long n = 0;
	CHECK_INT(otp_store_session_revoke_phone(f.a, CT_P1, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(otp_store_session_get(f.b, h3, CT_T0 + 9, &s), OTP_ENOTFOUND);
	fx_close(&f);
}

struct reader {
	struct fixture *f;
	const unsigned char *hash;
	int *stop;
	int found_after; /* reads that found it after the logout returned */
	int *logged_out;
};

static void *read_loop(void *arg)
{
	struct reader *r = arg;
	struct otp_session s;
	while (!__atomic_load_n(r->stop, __ATOMIC_ACQUIRE)) {
		int out = __atomic_load_n(r->logged_out, __ATOMIC_ACQUIRE);
		int rc = otp_store_session_get(r->f->a, r->hash, CT_T0, &s);
		if (out && rc == 0)
			r->found_after++;
	}
	return NULL;
}

/* A logout on one thread: every read that starts after it returned, on
 * another thread, misses. */
static void logout_seen_by_another_thread(void)
{
	struct fixture f;
	struct otp_session s;
	unsigned char h[OTP_HASH_LEN];
	int stop = 0, logged_out = 0;
	pthread_t t;
	fx_open(&f, 64);
	memset(h, 7, sizeof h);
	CHECK_INT(bind_code(f.b, 1, 7, CT_T0), 0);
	struct reader r = {&f, h, &stop, 0, &logged_out};
	pthread_create(&t, NULL, read_loop, &r);
	while (hits(&f) < 1000)
		usleep(100);
	CHECK_INT(otp_store_session_delete(f.b, h), 0);
	__atomic_store_n(&logged_out, 1, __ATOMIC_RELEASE);
	usleep(20000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CHECK_INT(r.found_after, 0);
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0, &s), OTP_ENOTFOUND);
	fx_close(&f);
}

/* A backend whose session_get lets a logout through another handle land
 * between its read and the cache's fill. */
struct racy {
	struct otp_store base;
	struct otp_store *real;	 /* reads */
	struct otp_store *other; /* the cached handle that logs out */
};

static int racy_get(struct otp_store *s, const unsigned char h[OTP_HASH_LEN],
		    int64_t now, struct otp_session *out)
{
	struct racy *r = (struct racy *)s;
	int rc = otp_store_session_get(r->real, h, now, out);
	otp_store_session_delete(r->other, h);
	return rc;
}

static void racy_close(struct otp_store *s)
{
	otp_store_close(((struct racy *)s)->real);
}

static void fill_racing_a_logout_is_dropped(void)
{
	static struct otp_store_ops ops;
	struct fixture f;
	struct otp_session s;
	unsigned char h[OTP_HASH_LEN];
	fx_open(&f, 64);
	memset(h, 7, sizeof h);
	ops.name = "racy";
	ops.session_get = racy_get;
	ops.close = racy_close;
	struct racy r = {{&ops}, NULL, f.b};
	CHECK_INT(open_path(f.path, &r.real), 0);
	struct otp_store *c = otp_store_cached_new(&r.base, f.c);
	CHECK_INT(bind_code(f.b, 1, 7, CT_T0), 0);
	/* read the row, logout lands, then the fill must not happen */
	CHECK_INT(otp_store_session_get(c, h, CT_T0, &s), 0);
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0, &s), OTP_ENOTFOUND);
	CHECK_INT(hits(&f), 0);
	otp_store_close(c); /* closes r.real; r itself is on the stack */
	fx_close(&f);
}

/* A cache of 8 entries holds at most 8 rows: the rest are asked again. */
static void bounded(void)
{
	struct fixture f;
	struct otp_session s;
	unsigned char h[OTP_HASH_LEN];
	fx_open(&f, 8);
	for (unsigned i = 0; i < 64; i++)
		CHECK_INT(bind_code(f.a, i + 1, (unsigned char)(i + 1), CT_T0),
			  0);
	for (int round = 0; round < 2; round++)
		for (unsigned i = 0; i < 64; i++) {
			memset(h, (int)(i + 1), sizeof h);
			CHECK_INT(otp_store_session_get(f.a, h, CT_T0, &s), 0);
		}
	CHECK(hits(&f) <= 8);
	/* the most recent one of each bucket stayed */
	memset(h, 64, sizeof h);
	uint64_t before = hits(&f);
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0, &s), 0);
	CHECK_INT(hits(&f), before + 1);
	fx_close(&f);
}

/* Real tokens made in one millisecond share their hashes' first 6 bytes
 * (engine/crypto.h): they must still spread over the buckets. 64 of them
 * in a cache of 1024 (256 buckets of 4) all stay, but for a rare bucket
 * that draws five; sharing a bucket they would keep 4. */
#define SAME_MS 64
static void one_millisecond_spreads(void)
{
	struct fixture f;
	struct otp_session s;
	static const unsigned char secret[32] = {42};
	struct otp_keys *k = otp_keys_new(secret);
	unsigned char h[SAME_MS][OTP_HASH_LEN];
	fx_open(&f, 1024);
	for (unsigned i = 0; i < SAME_MS; i++) {
		char tok[OTP_TOKEN_LEN + 1];
		otp_token_new(CT_T0, tok);
		otp_token_hash(k, tok, OTP_TOKEN_LEN, h[i]);
		struct otp_code_new c =
		    ct_make_code(i + 1, CT_P1, CT_T0 + CT_TTL);
		struct otp_session_bind b = {.expires_ms = CT_T0 + CT_TTL};
		memcpy(b.hash, h[i], sizeof b.hash);
		CHECK_INT(ct_issue(f.a, &c, &b, CT_T0), 0);
		CHECK(memcmp(h[i], h[0], OTP_TOKEN_TIME_BYTES) == 0);
	}
	for (int round = 0; round < 2; round++)
		for (unsigned i = 0; i < SAME_MS; i++)
			CHECK_INT(otp_store_session_get(f.a, h[i], CT_T0, &s),
				  0);
	CHECK(hits(&f) >= SAME_MS - 8);
	otp_keys_free(k);
	fx_close(&f);
}

static uint64_t misses(struct fixture *f)
{
	uint64_t h, m;
	otp_session_cache_stats(f->c, &h, &m);
	return m;
}

/* With a maximum age, a row is asked again once it is that old by the
 * reader's now (half of it at the soonest), or when now is that far
 * before its fill (a clock set back); a row asked again is cached again.
 * Rows filled together are asked again at different times. */
static void max_age_by_now(void)
{
	struct fixture f;
	struct otp_session s;
	unsigned char h[OTP_HASH_LEN];
	fx_open(&f, 256);
	otp_session_cache_set_max_age(f.c, 1000);
	memset(h, 7, sizeof h);
	CHECK_INT(bind_code(f.a, 1, 7, CT_T0), 0);
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0, &s), 0); /* fill */
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0 + 499, &s), 0);
	CHECK_INT(hits(&f), 1);
	/* a write around the cache, seen once the row is too old */
	CHECK_INT(bind_code(f.raw, 2, 7, CT_T0 + 1), 0);
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0 + 499, &s), 0);
	CHECK_STR(s.pending_id, "00000000000000000000000000000001");
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0 + 1000, &s), 0);
	CHECK_STR(s.pending_id, "00000000000000000000000000000002");
	CHECK_INT(hits(&f), 2);
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0 + 1500, &s), 0);
	CHECK_INT(hits(&f), 3);
	/* now a little before the fill: still its row; far before: asked */
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0 + 900, &s), 0);
	CHECK_INT(hits(&f), 4);
	uint64_t m = misses(&f);
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0, &s), 0);
	CHECK_INT(misses(&f), m + 1);
	/* 64 rows filled at once: at 3/4 of the age, some are asked again
	 * and some are not */
	for (unsigned i = 0; i < 64; i++)
		CHECK_INT(
		    bind_code(f.a, 10 + i, (unsigned char)(100 + i), CT_T0), 0);
	int64_t at[] = {CT_T0, CT_T0 + 750};
	for (int round = 0; round < 2; round++) {
		m = misses(&f);
		for (unsigned i = 0; i < 64; i++) {
			memset(h, (int)(100 + i), sizeof h);
			CHECK_INT(otp_store_session_get(f.a, h, at[round], &s),
				  0);
		}
		CHECK(misses(&f) > m);
		CHECK(misses(&f) < m + 64 || round == 0);
	}
	fx_close(&f);
}

/* What a tracker of other processes' writes calls (store.h's track):
 * each is seen by the next read of every handle. A write through f.raw
 * plays another process's. */
static void outside_notices(void)
{
	struct fixture f;
	struct otp_session s;
	unsigned char h[OTP_HASH_LEN], h2[OTP_HASH_LEN];
	fx_open(&f, 64);
	memset(h, 7, sizeof h);
	memset(h2, 8, sizeof h2);
	CHECK_INT(bind_code(f.a, 1, 7, CT_T0), 0);
	CHECK_INT(bind_code(f.a, 2, 8, CT_T0), 0);
	CHECK_INT(otp_store_session_get(f.a, h, CT_T0, &s), 0);
	CHECK_INT(otp_store_session_get(f.a, h2, CT_T0, &s), 0);

	/* one row: that one goes, the other stays */
	CHECK_INT(otp_store_session_delete(f.raw, h), 0);
	otp_session_cache_invalidate(f.c, h);
	CHECK_INT(otp_store_session_get(f.b, h, CT_T0, &s), OTP_ENOTFOUND);
	CHECK_INT(otp_store_session_get(f.b, h2, CT_T0, &s), 0);
	CHECK_INT(hits(&f), 1);

	/* every row */
	CHECK_INT(bind_code(f.raw, 3, 8, CT_T0), 0);
	otp_session_cache_drop_all(f.c);
	CHECK_INT(otp_store_session_get(f.b, h2, CT_T0, &s), 0);
	CHECK_STR(s.pending_id, "00000000000000000000000000000003");
	CHECK_INT(otp_store_session_get(f.b, h2, CT_T0, &s), 0);
	CHECK_INT(hits(&f), 2);

	/* suspended: every read asks the backend, nothing is kept */
	CHECK(!otp_session_cache_is_suspended(f.c));
	otp_session_cache_suspend(f.c);
	otp_session_cache_suspend(f.c); /* twice is once */
	CHECK(otp_session_cache_is_suspended(f.c));
	CHECK_INT(bind_code(f.raw, 4, 8, CT_T0), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(otp_store_session_get(f.a, h2, CT_T0, &s), 0);
		CHECK_STR(s.pending_id, "00000000000000000000000000000004");
	}
	CHECK_INT(hits(&f), 2);
	/* a write around the cache while suspended, then resumed: the rows
	 * read before are not answered */
	CHECK_INT(bind_code(f.raw, 5, 8, CT_T0), 0);
	otp_session_cache_resume(f.c);
	CHECK(!otp_session_cache_is_suspended(f.c));
	CHECK_INT(otp_store_session_get(f.a, h2, CT_T0, &s), 0);
	CHECK_STR(s.pending_id, "00000000000000000000000000000005");
	CHECK_INT(otp_store_session_get(f.a, h2, CT_T0, &s), 0);
	CHECK_INT(hits(&f), 3);
	fx_close(&f);
}

/* A backend whose read lets a notice from outside land between its read
 * and the cache's fill, as Redis's invalidation may overtake the reply it
 * races (it comes on another connection). */
struct noticed {
	struct otp_store base;
	struct otp_store *real;
	struct otp_session_cache *c;
	void (*notice)(struct otp_session_cache *c,
		       const unsigned char h[OTP_HASH_LEN]);
};

static int noticed_get(struct otp_store *s, const unsigned char h[OTP_HASH_LEN],
		       int64_t now, struct otp_session *out)
{
	struct noticed *r = (struct noticed *)s;
	int rc = otp_store_session_get(r->real, h, now, out);
	r->notice(r->c, h);
	return rc;
}

static void noticed_close(struct otp_store *s)
{
	otp_store_close(((struct noticed *)s)->real);
}

static void notice_one(struct otp_session_cache *c,
		       const unsigned char h[OTP_HASH_LEN])
{
	otp_session_cache_invalidate(c, h);
}

static void notice_all(struct otp_session_cache *c,
		       const unsigned char h[OTP_HASH_LEN])
{
	(void)h;
	otp_session_cache_drop_all(c);
}

static void notice_lost(struct otp_session_cache *c,
			const unsigned char h[OTP_HASH_LEN])
{
	(void)h; /* the notices' connection lost and back at once */
	otp_session_cache_suspend(c);
	otp_session_cache_resume(c);
}

static void fill_racing_a_notice_is_dropped(void)
{
	static struct otp_store_ops ops;
	void (*const notices[])(struct otp_session_cache *,
				const unsigned char *) = {
	    notice_one, notice_all, notice_lost};
	ops.name = "noticed";
	ops.session_get = noticed_get;
	ops.close = noticed_close;
	for (size_t i = 0; i < sizeof notices / sizeof notices[0]; i++) {
		struct fixture f;
		struct otp_session s;
		unsigned char h[OTP_HASH_LEN];
		fx_open(&f, 64);
		memset(h, 7, sizeof h);
		struct noticed r = {{&ops}, NULL, f.c, notices[i]};
		CHECK_INT(open_path(f.path, &r.real), 0);
		struct otp_store *c = otp_store_cached_new(&r.base, f.c);
		CHECK_INT(bind_code(f.b, 1, 7, CT_T0), 0);
		CHECK_INT(otp_store_session_get(c, h, CT_T0, &s), 0);
		/* no fill: a write the notice was about would be hidden */
		CHECK_INT(bind_code(f.raw, 2, 7, CT_T0), 0);
		CHECK_INT(otp_store_session_get(f.a, h, CT_T0, &s), 0);
		CHECK_STR(s.pending_id, "00000000000000000000000000000002");
		CHECK_INT(hits(&f), 0);
		otp_store_close(c);
		fx_close(&f);
	}
}

/* clang-format off */
static const struct harness_test tests[] = {
	TEST(hit_answers_without_the_backend),
	TEST(expiry_by_now),
	TEST(every_write_invalidates),
	TEST(logout_seen_by_another_thread),
	TEST(fill_racing_a_logout_is_dropped),
	TEST(bounded),
	TEST(one_millisecond_spreads),
	TEST(max_age_by_now),
	TEST(outside_notices),
	TEST(fill_racing_a_notice_is_dropped),
};
/* clang-format on */

static void free_contract_cache(void)
{
	otp_session_cache_free(contract_cache);
}

static const struct contract_backend backend = {open_contract, NULL, NULL,
						NULL};
CONTRACT_MAIN("store_cache", dir, &backend, NULL, free_contract_cache, tests)
