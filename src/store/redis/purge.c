/* purge.c - the Redis store's purge: deletes, on the caller's clock,
 * codes, sessions, idempotency keys and limits found by SCAN, then
 * messages by the outbox's expiry index, then the signals' old buckets
 * and members (signals.c) and the blocks ended 30 days ago (blocks.c).
 * Not here: Redis's own expiry (each key's TTL, set by the scripts in
 * scripts.c), when purge runs (main.c).
 */
#include "store/redis/redis.h"

#define SCAN_COUNT    "1000"
#define PURGE_BATCH_N 500
#define PURGE_BATCH   "500" /* PURGE_BATCH_N as text, for SCAN COUNT */

struct purge {
	int64_t now;
	long count;
};

/* Runs the key purge on one SCAN batch; adds what it deleted to count. */
static int purge_batch(struct rd *r, const redisReply *keys, void *ctx)
{
	struct purge *p = ctx;
	char when[24];
	int64_t gone = 0;
	snprintf(when, sizeof when, "%lld", (long long)p->now);
	int rc = otp_redis_eval_batch(r, OTP_RS_PURGE_KEYS, keys, when, &gone);
	p->count += (long)gone;
	return rc;
}

/* Redis drops expired keys by itself, on its own clock; this does it on
 * the caller's, as the interface says: codes, sessions, idempotency keys
 * and limits found by SCAN (one pass, in batches), then messages by the
 * outbox's expiry index. A purge is many round trips, each atomic. */
int otp_redis_purge(struct otp_store *s, int64_t now, long *removed)
{
	struct rd *r = cast(s);
	struct purge p = {now, 0};
	*removed = 0;
	int rc =
	    otp_redis_scan(r, "otp:{[csil]:*", SCAN_COUNT, purge_batch, &p);
	if (rc)
		return rc;
	long count = p.count;

	for (;;) {
		struct otp_redis_args a;
		args_init(&a);
		add_str(&a, OB "exp", sizeof OB "exp");
		add_int(&a, now - 24LL * 60 * 60 * 1000);
		add_str(&a, PURGE_BATCH, sizeof PURGE_BATCH);
		redisReply *rep;
		rc = run(r, OTP_RS_PURGE_OUTBOX, 1, &a, &rep);
		if (rc)
			return rc;
		int64_t seen = el_int(rep, 1);
		count += (long)el_int(rep, 2);
		freeReplyObject(rep);
		if (seen < PURGE_BATCH_N)
			break;
	}
	rc = otp_redis_signals_purge(r, now, &count);
	if (rc == 0)
		rc = otp_redis_blocks_purge(r, now, &count);
	if (rc == 0)
		*removed = count;
	return rc;
}
