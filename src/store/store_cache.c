/* store_cache.c - session rows cached in process memory (store_cache.h).
 *
 * The cache is a set-associative table: a token hash's last 8 bytes (keyed
 * hash, so uniform; its first 6 are the time the token was made, the same
 * for every session of a millisecond: engine/crypto.h) pick a bucket of
 * four entries; a full bucket gives up its least recently used entry.
 * Buckets are guarded by a fixed array of striped mutexes, and each bucket
 * has a generation number that every invalidation bumps. A miss notes the
 * generation before it asks the backend and fills the cache only if it is
 * unchanged afterwards: a row read just before a concurrent logout committed
 * can never be put back after that logout's invalidation. A cache-wide epoch
 * does the same for every bucket at once (otp_session_cache_drop_all, _suspend,
 * _resume): a row filled under an older epoch is never answered, and an odd
 * epoch (suspended) fills nothing. Rows may also be given a maximum age, by the
 * callers' now (each row's spread between half of it and all of it). It
 * deliberately does not cache misses (a flood of made-up tokens would push real
 * sessions out), nor anything but sessions: codes, limits, keys and the outbox
 * go straight to the backend. It knows no SQL, nor how a shared store tells it
 * of other processes' writes (its backend's tracker, e.g.
 * src/store/redis/tracking.c, calls the entry points).
 */
#include "store/store_cache.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"
#include "store/decorator.h"

#define WAYS   4
#define NLOCKS 256 /* a power of two */

struct entry {
	unsigned char hash[OTP_HASH_LEN];
	bool live;
	uint32_t epoch;	   /* the cache's epoch at its fill */
	uint64_t used;	   /* its stripe's tick at the last hit or fill */
	int64_t filled_ms; /* the caller's now at its fill */
	struct otp_session s;
};

struct stripe {
	alignas(64) pthread_mutex_t mu;
	uint64_t tick, hits, misses;
};

struct otp_session_cache {
	struct stripe stripes[NLOCKS];
	size_t mask;	 /* buckets - 1 */
	uint32_t *gen;	 /* per bucket */
	struct entry *e; /* buckets * WAYS */
	/* Bumped by 2 to drop every row, by 1 to suspend (odd) or resume. */
	_Atomic uint32_t epoch;
	int64_t max_age_ms; /* 0: rows live until their expires_ms */
};

struct cached {
	struct otp_store_wrap w;
	struct otp_session_cache *c;
};

struct otp_session_cache *otp_session_cache_new(size_t entries)
{
	struct otp_session_cache *c = otp_alloc(1, sizeof *c);
	size_t buckets = 1;
	while (buckets * WAYS < entries)
		buckets <<= 1;
	c->mask = buckets - 1;
	c->gen = otp_alloc(buckets, sizeof *c->gen);
	c->e = otp_alloc(buckets * WAYS, sizeof *c->e);
	for (int i = 0; i < NLOCKS; i++)
		pthread_mutex_init(&c->stripes[i].mu, NULL);
	return c;
}

void otp_session_cache_free(struct otp_session_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < NLOCKS; i++)
		pthread_mutex_destroy(&c->stripes[i].mu);
	free(c->gen);
	free(c->e);
	free(c);
}

void otp_session_cache_stats(struct otp_session_cache *c, uint64_t *hits,
			     uint64_t *misses)
{
	*hits = *misses = 0;
	for (int i = 0; i < NLOCKS; i++) {
		pthread_mutex_lock(&c->stripes[i].mu);
		*hits += c->stripes[i].hits;
		*misses += c->stripes[i].misses;
		pthread_mutex_unlock(&c->stripes[i].mu);
	}
}

void otp_session_cache_set_max_age(struct otp_session_cache *c, int64_t ms)
{
	c->max_age_ms = ms > 0 ? ms : 0;
}

/* The bytes of a hash a bucket and a row's life are picked by: the
 * keyed hash's, never the token's time (see the top). */
#define BUCKET_AT (OTP_HASH_LEN - 8)
#define LIFE_AT	  (OTP_HASH_LEN - 16)

static size_t bucket_of(const struct otp_session_cache *c,
			const unsigned char hash[OTP_HASH_LEN])
{
	uint64_t v;
	memcpy(&v, hash + BUCKET_AT, sizeof v);
	return (size_t)v & c->mask;
}

static struct stripe *stripe_of(struct otp_session_cache *c, size_t b)
{
	return &c->stripes[b & (NLOCKS - 1)];
}

static struct entry *find(struct otp_session_cache *c, size_t b,
			  const unsigned char hash[OTP_HASH_LEN])
{
	struct entry *e = &c->e[b * WAYS];
	for (int i = 0; i < WAYS; i++)
		if (e[i].live && memcmp(e[i].hash, hash, OTP_HASH_LEN) == 0)
			return &e[i];
	return NULL;
}

/* A row's life under a maximum age: between half of it and all of it,
 * spread by its hash (uniform, and not the bits that pick its bucket), so
 * that rows filled together (at start, after a drop) are not all asked
 * again in the same moment, each second, by every thread at once. */
static int64_t life_of(const struct otp_session_cache *c, const struct entry *e)
{
	uint64_t v;
	memcpy(&v, e->hash + LIFE_AT, sizeof v);
	uint64_t half = (uint64_t)c->max_age_ms / 2;
	return c->max_age_ms - (half ? (int64_t)(v % half) : 0);
}

/* Whether a row found may answer a read at `now`: filled under the
 * current epoch, not expired, and (with a maximum age) filled less than
 * its life before now, or after it by less than that (requests' nows
 * differ by a little; a clock set back by more makes the row be asked
 * again). */
static bool fresh(const struct otp_session_cache *c, const struct entry *e,
		  uint32_t epoch, int64_t now)
{
	if (e->epoch != epoch || now >= e->s.expires_ms)
		return false;
	if (!c->max_age_ms)
		return true;
	int64_t age = now - e->filled_ms, life = life_of(c, e);
	return age < life && age > -life;
}

/* Drops a hash, and makes any fill begun before now give up. */
static void invalidate(struct otp_session_cache *c,
		       const unsigned char hash[OTP_HASH_LEN])
{
	size_t b = bucket_of(c, hash);
	struct stripe *st = stripe_of(c, b);
	pthread_mutex_lock(&st->mu);
	c->gen[b]++;
	struct entry *e = find(c, b, hash);
	if (e)
		e->live = false;
	pthread_mutex_unlock(&st->mu);
}

void otp_session_cache_invalidate(struct otp_session_cache *c,
				  const unsigned char hash[OTP_HASH_LEN])
{
	invalidate(c, hash);
}

void otp_session_cache_drop_all(struct otp_session_cache *c)
{
	atomic_fetch_add(&c->epoch, 2);
}

void otp_session_cache_suspend(struct otp_session_cache *c)
{
	uint32_t e = atomic_load(&c->epoch);
	while (!(e & 1) && !atomic_compare_exchange_weak(&c->epoch, &e, e + 1))
		;
}

void otp_session_cache_resume(struct otp_session_cache *c)
{
	uint32_t e = atomic_load(&c->epoch);
	while ((e & 1) && !atomic_compare_exchange_weak(&c->epoch, &e, e + 1))
		;
}

bool otp_session_cache_is_suspended(struct otp_session_cache *c)
{
	return atomic_load(&c->epoch) & 1;
}

static struct cached *cast(struct otp_store *s)
{
	return (struct cached *)s;
}

static int session_get(struct otp_store *s,
		       const unsigned char hash[OTP_HASH_LEN], int64_t now,
		       struct otp_session *out)
{
	struct otp_session_cache *c = cast(s)->c;
	size_t b = bucket_of(c, hash);
	struct stripe *st = stripe_of(c, b);

	pthread_mutex_lock(&st->mu);
	uint32_t epoch = atomic_load(&c->epoch);
	struct entry *e = find(c, b, hash);
	if (e && fresh(c, e, epoch, now)) {
		*out = e->s;
		e->used = ++st->tick;
		st->hits++;
		pthread_mutex_unlock(&st->mu);
		return 0;
	}
	if (e)
		e->live = false; /* expired, too old, or dropped with all */
	uint32_t gen = c->gen[b];
	st->misses++;
	pthread_mutex_unlock(&st->mu);

	int rc = otp_store_session_get(otp_store_inner(s), hash, now, out);
	if (rc < 0)
		return rc;

	/* Suspended: no fill. A drop since the read: the row would carry an
	 * old epoch and never answer; not filling keeps its slot for others. */
	pthread_mutex_lock(&st->mu);
	if (c->gen[b] == gen && !(epoch & 1) &&
	    atomic_load(&c->epoch) == epoch) {
		e = find(c, b, hash);
		for (int i = 0; !e && i < WAYS; i++) {
			struct entry *w = &c->e[b * WAYS + i];
			if (!w->live || w->epoch != epoch)
				e = w;
		}
		if (!e) { /* all four live: the least recently used goes */
			struct entry *w = &c->e[b * WAYS];
			e = &w[0];
			for (int i = 1; i < WAYS; i++)
				if (w[i].used < e->used)
					e = &w[i];
		}
		memcpy(e->hash, hash, OTP_HASH_LEN);
		e->s = *out;
		e->live = true;
		e->epoch = epoch;
		e->filled_ms = now;
		e->used = ++st->tick;
	}
	pthread_mutex_unlock(&st->mu);
	return 0;
}

/* --- writes: the backend first, then the hashes it touched --- */

static int code_issue(struct otp_store *s, const struct otp_issue *in,
		      int64_t now, struct otp_issue_out *out)
{
	int rc = otp_store_code_issue(otp_store_inner(s), in, now, out);
	if (in->bind)
		invalidate(cast(s)->c, in->bind->hash);
	return rc;
}

static int code_verify(struct otp_store *s, const struct otp_verify_in *in,
		       int64_t now, struct otp_verify_out *out)
{
	int rc = otp_store_code_verify(otp_store_inner(s), in, now, out);
	if (in->rotate) {
		invalidate(cast(s)->c, in->old_hash);
		invalidate(cast(s)->c, in->new_hash);
	}
	return rc;
}

static int session_bind(struct otp_store *s, const struct otp_session_bind *b,
			const char *pending_id, const char *pending_phone,
			bool count_send, int64_t now)
{
	int rc = otp_store_session_bind(otp_store_inner(s), b, pending_id,
					pending_phone, count_send, now);
	invalidate(cast(s)->c, b->hash);
	return rc;
}

static int session_rotate(struct otp_store *s,
			  const unsigned char old_hash[OTP_HASH_LEN],
			  const unsigned char new_hash[OTP_HASH_LEN],
			  const char *phone, int64_t expires_ms, int64_t now)
{
	int rc = otp_store_session_rotate(otp_store_inner(s), old_hash,
					  new_hash, phone, expires_ms, now);
	invalidate(cast(s)->c, old_hash);
	invalidate(cast(s)->c, new_hash);
	return rc;
}

static int session_delete(struct otp_store *s,
			  const unsigned char hash[OTP_HASH_LEN])
{
	int rc = otp_store_session_delete(otp_store_inner(s), hash);
	invalidate(cast(s)->c, hash);
	return rc;
}

/* --- everything else (purge and revoke aside): straight through
 * (store/decorator.h) --- */

/* Drops every row that expires by `until`, and makes any fill begun
 * before now give up. */
static void drop_until(struct otp_session_cache *c, int64_t until)
{
	for (size_t b = 0; b <= c->mask; b++) {
		struct stripe *st = stripe_of(c, b);
		pthread_mutex_lock(&st->mu);
		c->gen[b]++;
		for (int i = 0; i < WAYS; i++)
			if (c->e[b * WAYS + i].s.expires_ms <= until)
				c->e[b * WAYS + i].live = false;
		pthread_mutex_unlock(&st->mu);
	}
}

/* Rows past their expiry are never answered at a later now anyway; dropping
 * them keeps a caller that goes back in time consistent with the backend. */
static int purge(struct otp_store *s, int64_t now, long *removed)
{
	int rc = otp_store_purge(otp_store_inner(s), now, removed);
	drop_until(cast(s)->c, now);
	return rc;
}

/* The cache has no index by phone: it drops every row (an operator's
 * command, rare; the next reads refill it). */
static int session_revoke_phone(struct otp_store *s, const char *phone, long *n)
{
	int rc = otp_store_session_revoke_phone(otp_store_inner(s), phone, n);
	drop_until(cast(s)->c, INT64_MAX);
	return rc;
}

/* Every op forwards, then the cache's own take over. */
/* clang-format off */
OTP_STORE_OVERRIDE_BEGIN
static const struct otp_store_ops cached_ops = {
    OTP_STORE_FORWARD_ALL
    .session_get = session_get,
    .code_issue = code_issue,
    .code_verify = code_verify,
    .session_bind = session_bind,
    .session_rotate = session_rotate,
    .session_delete = session_delete,
    .purge = purge,
    .session_revoke_phone = session_revoke_phone,
};
OTP_STORE_OVERRIDE_END
/* clang-format on */

struct otp_store *otp_store_cached_new(struct otp_store *inner,
				       struct otp_session_cache *c)
{
	struct cached *w = otp_store_wrap_new(sizeof *w, &cached_ops, inner);
	w->c = c;
	return &w->w.base;
}
