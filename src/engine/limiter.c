/* limiter.c - in-process GCRA cells for the per-request limits (limiter.h).
 *
 * Each shard owns a fixed array of cells, a free list and chained buckets
 * (int32 indices, no per-key allocation), under its own mutex. A shard that
 * runs out of free cells first frees every fully refilled cell (TAT <= now:
 * the same as no cell), and only if there is none reuses the cell with the
 * smallest TAT. That scan is linear in the shard's size (a few hundred cells)
 * and happens only when the shard is full of live keys. What it deliberately
 * does not do: share counts with other processes (that is --limit-scope
 * store), or persist anything across a restart (a restart refills every
 * bucket, as a fresh Redis or a deleted limits row would).
 */
#include "engine/limiter.h"

#include <pthread.h>
#include <sodium.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"

#define NSHARDS 64 /* a power of two */

struct cell {
	uint64_t h;
	int64_t tat;
	int32_t next; /* in its bucket's chain, or in the free list */
	char key[OTP_LIMITER_KEY_MAX];
};

struct shard {
	alignas(64) pthread_mutex_t mu;
	struct cell *cells;
	int32_t *heads; /* nbuckets chains; -1 ends one */
	int32_t free;	/* free list of cells; -1 if none */
	uint32_t top;	/* cells never used start here (untouched memory) */
	uint32_t cap, used;
};

struct otp_limiter {
	struct shard shards[NSHARDS];
	struct cell *cells; /* one block for all shards: mmap'd by calloc,
			       so pages are touched only as cells are used */
	uint32_t mask;	    /* nbuckets - 1, the same in every shard */
	unsigned char hkey[crypto_shorthash_KEYBYTES];
};

struct otp_limiter *otp_limiter_new(size_t cells)
{
	struct otp_limiter *l = otp_alloc(1, sizeof *l);
	uint32_t per = (uint32_t)((cells + NSHARDS - 1) / NSHARDS);
	uint32_t nb = 1;
	if (per < 4)
		per = 4;
	while (nb < per)
		nb <<= 1;
	l->mask = nb - 1;
	if (sodium_init() < 0)
		abort();
	randombytes_buf(l->hkey, sizeof l->hkey);
	l->cells = otp_alloc((size_t)per * NSHARDS, sizeof *l->cells);
	for (int i = 0; i < NSHARDS; i++) {
		struct shard *s = &l->shards[i];
		pthread_mutex_init(&s->mu, NULL);
		s->cap = per;
		s->cells = l->cells + (size_t)per * i;
		s->heads = otp_alloc(nb, sizeof *s->heads);
		memset(s->heads, 0xff, nb * sizeof *s->heads); /* all -1 */
		s->free = -1;
	}
	return l;
}

void otp_limiter_free(struct otp_limiter *l)
{
	if (!l)
		return;
	for (int i = 0; i < NSHARDS; i++) {
		pthread_mutex_destroy(&l->shards[i].mu);
		free(l->shards[i].heads);
	}
	free(l->cells);
	free(l);
}

/* Takes cell i out of its chain and onto the free list. */
static void unlink_cell(struct shard *s, uint32_t mask, int32_t i)
{
	int32_t *p = &s->heads[s->cells[i].h & mask];
	while (*p != i)
		p = &s->cells[*p].next;
	*p = s->cells[i].next;
	s->cells[i].next = s->free;
	s->free = i;
	s->used--;
}

/* Makes a cell free: all refilled ones, else the least indebted one. */
static void reclaim(struct shard *s, uint32_t mask, int64_t now)
{
	int32_t victim = -1;
	int64_t least = INT64_MAX;
	bool freed = false;
	for (uint32_t b = 0; b <= mask; b++) {
		for (int32_t i = s->heads[b], next; i >= 0; i = next) {
			next = s->cells[i].next;
			if (s->cells[i].tat <= now) {
				unlink_cell(s, mask, i);
				freed = true;
			} else if (s->cells[i].tat < least) {
				least = s->cells[i].tat;
				victim = i;
			}
		}
	}
	if (!freed && victim >= 0)
		unlink_cell(s, mask, victim);
}

int otp_limiter_take(struct otp_limiter *l, const char *key,
		     const struct otp_gcra *rate, int64_t now,
		     int64_t *retry_ms)
{
	uint64_t h;
	int64_t new_tat = now;
	size_t len = strnlen(key, OTP_LIMITER_KEY_MAX - 1);
	int rc = 0;

	if (rate->interval_ms <= 0)
		return 0;
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)key,
			 strlen(key), l->hkey);
	struct shard *s = &l->shards[(h >> 32) & (NSHARDS - 1)];
	int32_t *head = &s->heads[h & l->mask];

	pthread_mutex_lock(&s->mu);
	int32_t i = *head;
	while (i >= 0 && !(s->cells[i].h == h &&
			   strncmp(s->cells[i].key, key, len) == 0 &&
			   s->cells[i].key[len] == '\0'))
		i = s->cells[i].next;
	if (!otp_gcra_take(rate, i >= 0 ? s->cells[i].tat : 0, now, &new_tat,
			   retry_ms)) {
		rc = OTP_ELIMITED;
	} else if (i >= 0) {
		s->cells[i].tat = new_tat;
	} else {
		if (s->free < 0 && s->top < s->cap)
			s->cells[s->top].next = -1, s->free = (int32_t)s->top++;
		if (s->free < 0)
			reclaim(s, l->mask, now);
		i = s->free;
		s->free = s->cells[i].next;
		s->used++;
		s->cells[i].h = h;
		s->cells[i].tat = new_tat;
		memcpy(s->cells[i].key, key, len);
		s->cells[i].key[len] = '\0';
		s->cells[i].next = *head;
		*head = i;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

size_t otp_limiter_used(struct otp_limiter *l)
{
	size_t n = 0;
	for (int i = 0; i < NSHARDS; i++) {
		pthread_mutex_lock(&l->shards[i].mu);
		n += l->shards[i].used;
		pthread_mutex_unlock(&l->shards[i].mu);
	}
	return n;
}
