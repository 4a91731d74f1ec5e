/* test_limiter.c - the in-process limiter with an injected clock: the same
 * answers as GCRA over a stored TAT, bounded memory, what a full table
 * gives up, and exact counts under threads. Includes the .c to reach the
 * shard of a key. */
#include <pthread.h>
#include <stdio.h>

#include "core/err.h"
#include "engine/limiter.c"
#include "harness.h"

static const struct otp_gcra per_minute = {1000, 60}; /* 60/min */

static void burst_then_refuse(void)
{
	struct otp_limiter *l = otp_limiter_new(1024);
	int64_t now = 1700000000000, retry = 0;
	for (int i = 0; i < 60; i++)
		CHECK_INT(otp_limiter_take(l, "ip:10.0.0.1", &per_minute, now,
					   &retry),
			  0);
	CHECK_INT(otp_limiter_take(l, "ip:10.0.0.1", &per_minute, now, &retry),
		  OTP_ELIMITED);
	CHECK_INT(retry, 1000);
	CHECK_INT(otp_gcra_retry_s(retry), 1);
	/* a refusal changes nothing: the same wait again */
	CHECK_INT(
	    otp_limiter_take(l, "ip:10.0.0.1", &per_minute, now + 400, &retry),
	    OTP_ELIMITED);
	CHECK_INT(retry, 600);
	/* another key has its own bucket */
	CHECK_INT(otp_limiter_take(l, "ip:10.0.0.2", &per_minute, now, &retry),
		  0);
	otp_limiter_free(l);
}

static void refills_one_per_interval(void)
{
	struct otp_limiter *l = otp_limiter_new(1024);
	int64_t now = 0, retry = 0;
	for (int i = 0; i < 60; i++)
		CHECK_INT(otp_limiter_take(l, "k", &per_minute, now, &retry),
			  0);
	CHECK_INT(otp_limiter_take(l, "k", &per_minute, now + 999, &retry),
		  OTP_ELIMITED);
	CHECK_INT(retry, 1);
	CHECK_INT(otp_limiter_take(l, "k", &per_minute, now + 1000, &retry), 0);
	CHECK_INT(otp_limiter_take(l, "k", &per_minute, now + 1000, &retry),
		  OTP_ELIMITED);
	/* a minute later the whole burst is back */
	for (int i = 0; i < 60; i++)
		CHECK_INT(
		    otp_limiter_take(l, "k", &per_minute, now + 61000, &retry),
		    0);
	CHECK_INT(otp_limiter_take(l, "k", &per_minute, now + 61000, &retry),
		  OTP_ELIMITED);
	otp_limiter_free(l);
}

static void off_keeps_no_cell(void)
{
	struct otp_limiter *l = otp_limiter_new(1024);
	struct otp_gcra off = {0, 1};
	int64_t retry = 0;
	for (int i = 0; i < 100; i++)
		CHECK_INT(otp_limiter_take(l, "k", &off, 0, &retry), 0);
	CHECK_INT(otp_limiter_used(l), 0);
	otp_limiter_free(l);
}

/* Random traffic over many keys, with a table big enough to hold them all,
 * answers exactly as otp_gcra_take over a stored TAT (what the stores do),
 * Retry-After included. */
static void same_answers_as_gcra(void)
{
	enum { KEYS = 500 };
	static int64_t tat[KEYS];
	struct otp_limiter *l = otp_limiter_new(4096);
	struct otp_gcra g = {250, 4};
	int64_t now = 1000000, retry = 0, want_retry = 0, new_tat;
	unsigned x = 12345;
	char key[32];
	memset(tat, 0, sizeof tat);
	for (int i = 0; i < 200000; i++) {
		x = x * 1103515245u + 12345u;
		int k = (int)((x >> 8) % KEYS);
		now += (x >> 20) % 3;
		snprintf(key, sizeof key, "ip:198.51.%d.%d", k / 256, k % 256);
		bool ok = otp_gcra_take(&g, tat[k], now, &new_tat, &want_retry);
		int rc = otp_limiter_take(l, key, &g, now, &retry);
		CHECK_INT(rc, ok ? 0 : OTP_ELIMITED);
		if (ok)
			tat[k] = new_tat;
		else
			CHECK_INT(retry, want_retry);
	}
	CHECK(otp_limiter_used(l) <= KEYS);
	otp_limiter_free(l);
}

/* Long keys: the first OTP_LIMITER_KEY_MAX - 1 bytes and the hash. */
static void long_keys(void)
{
	struct otp_limiter *l = otp_limiter_new(1024);
	struct otp_gcra one = {60000, 1};
	char a[200], b[200];
	int64_t retry;
	memset(a, 'a', sizeof a - 1);
	a[sizeof a - 1] = '\0';
	memcpy(b, a, sizeof b);
	b[150] = 'b';
	CHECK_INT(otp_limiter_take(l, a, &one, 0, &retry), 0);
	CHECK_INT(otp_limiter_take(l, a, &one, 0, &retry), OTP_ELIMITED);
	CHECK_INT(otp_limiter_take(l, b, &one, 0, &retry), 0);
	otp_limiter_free(l);
}

/* Bounded: a flood of distinct keys never grows the table past its size,
 * and a key being limited keeps its state through the flood. */
static void flood_cannot_wipe_a_limited_key(void)
{
	struct otp_limiter *l = otp_limiter_new(1); /* 4 cells per shard */
	int64_t now = 5000000, retry = 0;
	char key[32];
	for (int i = 0; i < 60; i++)
		CHECK_INT(
		    otp_limiter_take(l, "ip:abuser", &per_minute, now, &retry),
		    0);
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof key, "ip:flood-%d", i);
		CHECK_INT(otp_limiter_take(l, key, &per_minute, now + i / 1000,
					   &retry),
			  0);
		CHECK(otp_limiter_used(l) <= NSHARDS * 4);
	}
	CHECK_INT(
	    otp_limiter_take(l, "ip:abuser", &per_minute, now + 100, &retry),
	    OTP_ELIMITED);
	CHECK_INT(retry, 900);
	otp_limiter_free(l);
}

/* n distinct keys that fall in the same shard as `key`. */
static void same_shard(struct otp_limiter *l, const char *key, int n,
		       char out[][32])
{
	uint64_t h, want;
	crypto_shorthash((unsigned char *)&want, (const unsigned char *)key,
			 strlen(key), l->hkey);
	for (int i = 0, found = 0; found < n; i++) {
		snprintf(out[found], 32, "ip:other-%d", i);
		crypto_shorthash((unsigned char *)&h,
				 (const unsigned char *)out[found],
				 strlen(out[found]), l->hkey);
		if (((h ^ want) >> 32 & (NSHARDS - 1)) == 0)
			found++;
	}
}

/* A full shard reuses refilled cells first, then the least indebted one:
 * the limited key survives while the others owe less than it does, and goes
 * only when every other cell owes more. */
static void full_shard_policy(void)
{
	struct otp_limiter *l = otp_limiter_new(1); /* 4 cells per shard */
	struct otp_gcra per_hour = {60000, 60};
	char other[8][32];
	int64_t now = 0, retry = 0;
	same_shard(l, "ip:limited", 8, other);
	for (int i = 0; i < 60; i++)
		CHECK_INT(
		    otp_limiter_take(l, "ip:limited", &per_hour, now, &retry),
		    0);
	/* three light keys fill the shard; the next ones push out light ones
	 * (refilled or nearest to it), never the limited key */
	for (int i = 0; i < 3; i++)
		CHECK_INT(
		    otp_limiter_take(l, other[i], &per_minute, now + i, &retry),
		    0);
	for (int i = 3; i < 8; i++)
		CHECK_INT(otp_limiter_take(l, other[i], &per_minute, now + 10,
					   &retry),
			  0);
	CHECK_INT(
	    otp_limiter_take(l, "ip:limited", &per_hour, now + 10, &retry),
	    OTP_ELIMITED);
	/* all refilled by now + 2000: they are freed, the limited key stays */
	CHECK_INT(
	    otp_limiter_take(l, other[0], &per_minute, now + 2000, &retry), 0);
	CHECK_INT(
	    otp_limiter_take(l, "ip:limited", &per_hour, now + 2000, &retry),
	    OTP_ELIMITED);
	/* three keys deeper in debt than it: now it is the least indebted */
	for (int i = 1; i < 4; i++)
		for (int j = 0; j < 60; j++)
			CHECK_INT(otp_limiter_take(l, other[i], &per_hour,
						   now + 2000, &retry),
				  0);
	CHECK_INT(
	    otp_limiter_take(l, other[4], &per_minute, now + 2000, &retry), 0);
	/* ... so it was reused: the limited key starts over */
	CHECK_INT(
	    otp_limiter_take(l, "ip:limited", &per_hour, now + 2000, &retry),
	    0);
	otp_limiter_free(l);
}

struct worker {
	struct otp_limiter *l;
	const char *key; /* NULL: a key of its own per iteration */
	int id, allowed;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;
	struct otp_gcra g = {3600000, 1000};
	char key[32];
	int64_t retry;
	for (int i = 0; i < 20000; i++) {
		const char *k = w->key;
		if (!k) {
			snprintf(key, sizeof key, "t%d:%d", w->id, i % 3000);
			k = key;
		}
		if (otp_limiter_take(w->l, k, &g, 1000, &retry) == 0)
			w->allowed++;
	}
	return NULL;
}

/* Four threads on one key take exactly the burst between them; on keys of
 * their own, each takes all of its own. */
static void threads_count_exactly(void)
{
	struct otp_limiter *l = otp_limiter_new(65536);
	pthread_t t[4];
	struct worker w[4];
	int total = 0;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){l, "shared", i, 0};
		pthread_create(&t[i], NULL, hammer, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += w[i].allowed;
	}
	CHECK_INT(total, 1000);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){l, NULL, i, 0};
		pthread_create(&t[i], NULL, hammer, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(w[i].allowed, 20000); /* 3000 keys, < 1000 each */
	}
	CHECK_INT(otp_limiter_used(l), 1 + 4 * 3000);
	otp_limiter_free(l);
}

static const struct harness_test tests[] = {
    TEST(burst_then_refuse), TEST(refills_one_per_interval),
    TEST(off_keeps_no_cell), TEST(same_answers_as_gcra),
    TEST(long_keys),	     TEST(flood_cannot_wipe_a_limited_key),
    TEST(full_shard_policy), TEST(threads_count_exactly),
};

HARNESS_MAIN("limiter", tests)
