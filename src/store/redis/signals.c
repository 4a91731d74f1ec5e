/* signals.c - the Redis store's abuse signals (store.h): per signal key, a
 * hash of its hour and day buckets (both counters in fields of their own)
 * and a zset of its set's members by when each was last seen (store.c has
 * the keys; scripts.c's sig_add, which code_issue and code_verify run
 * too, the writes).
 *
 * Each operation is one script: an add of n keys, a read of n keys (their
 * buckets as they are, folded here by signal_window.h, so that the
 * windows are computed as SQLite's are), and purge's pass over the
 * signal keys on the caller's clock; abuse_read is the read and
 * block_find's script in one round trip. Not here: the blocks
 * (blocks.c), what the counts mean (src/abuse/).
 */
#include "store/redis/redis.h"

#define SCAN_COUNT "1000"

int otp_redis_signal_add(struct otp_store *s, const struct otp_signal_add *adds,
			 size_t n, int64_t now)
{
	if (n == 0)
		return 0;
	if (n > OTP_REDIS_SIGNALS_MAX)
		return OTP_EINTERNAL;
	struct otp_redis_args a;
	args_init(&a);
	for (size_t i = 0; i < n; i++)
		key_signal(&a, adds[i].key);
	add_int(&a, now);
	add_signal_time(&a, now);
	for (size_t i = 0; i < n; i++)
		add_signal(&a, &adds[i]);
	return otp_redis_run_word(cast(s), OTP_RS_SIGNAL_ADD, 2 * (int)n, &a);
}

/* Folds one key's HGETALL answer (field, value, ...) into out. A field
 * not of the shape h<hour>:<c> or d<day>:<c> is a fault. */
static int fold(const redisReply *h, int64_t now, struct otp_signal *out)
{
	if (h->type != REDIS_REPLY_ARRAY || h->elements % 2)
		return OTP_EINTERNAL;
	for (size_t i = 0; i < h->elements; i += 2) {
		const redisReply *f = h->element[i], *v = h->element[i + 1];
		if (f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING || f->len < 4)
			return OTP_EINTERNAL;
		char *end;
		long long idx = strtoll(f->str + 1, &end, 10);
		if (end[0] != ':' || (end[1] != '0' && end[1] != '1') ||
		    end[2] != '\0')
			return OTP_EINTERNAL;
		int64_t n[OTP_SIG_COUNTERS] = {0};
		n[end[1] - '0'] = strtoll(v->str, NULL, 10);
		/* One counter at a time: a fold adds, and day_max takes the
		 * larger, so each counter's field may come on its own. */
		if (f->str[0] == 'h')
			otp_sig_fold_hour(out, now, idx, n);
		else if (f->str[0] == 'd')
			otp_sig_fold_day(out, now, idx, n);
		else
			return OTP_EINTERNAL;
	}
	return 0;
}

/* signal_read's script: its arguments for n keys (never 0). */
static int read_args(struct otp_redis_args *a, const char *const *keys,
		     const char *const *members, size_t n, int64_t now)
{
	if (keys_of(a, keys, n, key_signal) < 0)
		return OTP_EINTERNAL;
	add_int(a, now - OTP_SIG_SEEN_MS);
	add_int(a, now - OTP_SIG_DAY_MS);
	for (size_t i = 0; i < n; i++)
		add_str(a, members ? members[i] : "", OTP_SIGNAL_MEMBER_MAX);
	return 0;
}

/* Its reply, folded into out[0..n-1] (zeroed on an error). */
static int read_reply(const redisReply *rep, size_t n, int64_t now,
		      struct otp_signal *out)
{
	int rc = 0;
	if (!said(rep, "ok") || rep->elements != 1 + 4 * n)
		rc = OTP_EINTERNAL;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = fold(el(rep, 1 + 4 * i), now, &out[i]);
		out[i].distinct = el_int(rep, 2 + 4 * i);
		out[i].distinct_day = el_int(rep, 3 + 4 * i);
		out[i].seen = el_int(rep, 4 + 4 * i);
	}
	if (rc)
		memset(out, 0, n * sizeof *out);
	return rc;
}

int otp_redis_signal_read(struct otp_store *s, const char *const *keys,
			  const char *const *members, size_t n, int64_t now,
			  struct otp_signal *out)
{
	memset(out, 0, n * sizeof *out);
	if (n == 0)
		return 0;
	struct otp_redis_args a;
	if (read_args(&a, keys, members, n, now) < 0)
		return OTP_EINTERNAL;
	redisReply *rep;
	int rc = run(cast(s), OTP_RS_SIGNAL_READ, 2 * (int)n, &a, &rep);
	if (rc)
		return rc;
	rc = read_reply(rep, n, now, out);
	freeReplyObject(rep);
	return rc;
}

/* Both scripts in one round trip (conn.h's eval_eval). */
int otp_redis_abuse_read(struct otp_store *s, const struct otp_abuse_read *q,
			 struct otp_signal *sig, struct otp_block *blocks,
			 size_t *nblocks)
{
	*nblocks = 0;
	if (q->n == 0 || q->nblock == 0) {
		int rc = otp_redis_signal_read(s, q->keys, q->members, q->n,
					       q->now, sig);
		return rc ? rc
			  : otp_redis_block_find(s, q->block_keys, q->nblock,
						 blocks, nblocks);
	}
	memset(sig, 0, q->n * sizeof *sig);
	struct otp_redis_args a, b;
	if (read_args(&a, q->keys, q->members, q->n, q->now) < 0 ||
	    otp_redis_block_find_args(&b, q->block_keys, q->nblock) < 0)
		return OTP_EINTERNAL;
	redisReply *ra, *rb;
	int rc = otp_redis_eval_eval(&cast(s)->conn, OTP_RS_SIGNAL_READ,
				     2 * (int)q->n, &a, OTP_RS_BLOCK_FIND,
				     (int)q->nblock, &b, &ra, &rb);
	if (rc)
		return rc;
	rc = read_reply(ra, q->n, q->now, sig);
	if (rc == 0)
		rc = otp_redis_block_find_reply(rb, q->block_keys, q->nblock,
						blocks, nblocks);
	freeReplyObject(ra);
	freeReplyObject(rb);
	if (rc)
		memset(sig, 0, q->n * sizeof *sig);
	return rc;
}

struct purge {
	char hour[24], day[24], seen[24];
	long count;
};

static int purge_batch(struct rd *r, const redisReply *keys, void *ctx)
{
	struct purge *p = ctx;
	const char *args[3] = {p->hour, p->day, p->seen};
	int64_t gone = 0;
	int rc = otp_redis_eval_batch_args(r, OTP_RS_PURGE_SIGNALS, keys, args,
					   3, &gone);
	p->count += (long)gone;
	return rc;
}

/* Redis expires a key 15 days after its last add (a set 48 hours after), and
 * an add that opens an hour trims its hash; this drops, on the caller's
 * clock as the interface says, what has left its window in keys that are
 * still live: one SCAN pass, a script per batch. */
int otp_redis_signals_purge(struct rd *r, int64_t now, long *count)
{
	struct purge p = {.count = 0};
	snprintf(p.hour, sizeof p.hour, "%lld",
		 (long long)otp_sig_hour_kept(now));
	snprintf(p.day, sizeof p.day, "%lld", (long long)otp_sig_day_kept(now));
	snprintf(p.seen, sizeof p.seen, "%lld",
		 (long long)(now - OTP_SIG_SEEN_MS));
	int rc = otp_redis_scan(r, "otp:{g:*", SCAN_COUNT, purge_batch, &p);
	*count += p.count;
	return rc;
}
