/* signals.c - the Redis store's abuse signals (store.h): per signal key, a
 * hash of its hour and day buckets (both counters in fields of their own)
 * and a zset of its set's members by when each was last seen (store.c has
 * the keys; scripts.c's sig_add, which code_issue and code_verify run
 * too, the writes).
 *
 * An add of n keys is one script, and so is each batch of purge's pass
 * over the signal keys on the caller's clock. A read of n keys is plain
 * commands in one round trip, four a key (its buckets as they are,
 * folded here by signal_window.h so that the windows are computed as
 * SQLite's are; its members' counts; its member's last sighting): a
 * read needs no snapshot, and a script's Lua call a command cost Redis,
 * which every otpd process shares, more than the commands (a send's
 * redis-server CPU 158 -> 141 us). abuse_read is the read and
 * block_find's HMGETs in the same round trip. Not here: the blocks
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

/* A signal key's reads, as plain commands (no script: each runs as a
 * client's command, without a Lua call a command): its buckets as they
 * are (HGETALL), its set's live members and those of the last day
 * (ZCOUNT), and when its member was last seen (ZSCORE; of "" when it has
 * none, which no set holds). cut[] gets the two bounds' text. */
#define KEY_READS 4
static int key_reads(struct otp_redis_reads *q, struct otp_redis_args *k,
		     char cut[2][24], const char *const *keys,
		     const char *const *members, size_t n, int64_t now)
{
	if (keys_of(k, keys, n, key_signal) < 0)
		return OTP_EINTERNAL;
	snprintf(cut[0], 24, "(%lld", (long long)(now - OTP_SIG_SEEN_MS));
	snprintf(cut[1], 24, "(%lld", (long long)(now - OTP_SIG_DAY_MS));
	for (size_t i = 0; i < n; i++) {
		const char *h = k->v[OTP_REDIS_ARGS_FIRST + 2 * i],
			   *z = k->v[OTP_REDIS_ARGS_FIRST + 2 * i + 1];
		const char *m = members && members[i] ? members[i] : "";
		if (strnlen(m, OTP_SIGNAL_MEMBER_MAX) >= OTP_SIGNAL_MEMBER_MAX)
			return OTP_EINTERNAL;
		read_cmd(q, 2, (const char *const[]){"HGETALL", h});
		read_cmd(q, 4,
			 (const char *const[]){"ZCOUNT", z, cut[0], "+inf"});
		read_cmd(q, 4,
			 (const char *const[]){"ZCOUNT", z, cut[1], "+inf"});
		read_cmd(q, 3, (const char *const[]){"ZSCORE", z, m});
	}
	return 0;
}

static int count_of(const redisReply *rep, int64_t *out)
{
	if (rep->type != REDIS_REPLY_INTEGER)
		return OTP_EINTERNAL;
	*out = (int64_t)rep->integer;
	return 0;
}

/* Their replies (KEY_READS a key), folded into out[0..n-1] (zeroed on an
 * error). A member counts as seen when its last sighting is within
 * OTP_SIG_SEEN_MS of now. */
static int key_replies(redisReply *const *rep, size_t n, int64_t now,
		       struct otp_signal *out)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		redisReply *const *r = rep + KEY_READS * i;
		int64_t d = 0, dd = 0;
		rc = fold(r[0], now, &out[i]);
		if (rc == 0)
			rc = count_of(r[1], &d);
		if (rc == 0)
			rc = count_of(r[2], &dd);
		out[i].distinct = d;
		out[i].distinct_day = dd;
		if (r[3]->type == REDIS_REPLY_STRING)
			out[i].seen = strtod(r[3]->str, NULL) >
				      (double)(now - OTP_SIG_SEEN_MS);
		else if (r[3]->type != REDIS_REPLY_NIL)
			rc = OTP_EINTERNAL;
	}
	if (rc)
		memset(out, 0, n * sizeof *out);
	return rc;
}

/* abuse_read with no block rows: the same commands, one round trip. */
int otp_redis_signal_read(struct otp_store *s, const char *const *keys,
			  const char *const *members, size_t n, int64_t now,
			  struct otp_signal *out)
{
	size_t none;
	return otp_redis_abuse_read(
	    s,
	    &(struct otp_abuse_read){
		.keys = keys, .members = members, .n = n, .now = now},
	    out, NULL, &none);
}

/* The signals' reads and block_find's in one round trip. */
int otp_redis_abuse_read(struct otp_store *s, const struct otp_abuse_read *q,
			 struct otp_signal *sig, struct otp_block *blocks,
			 size_t *nblocks)
{
	*nblocks = 0;
	memset(sig, 0, q->n * sizeof *sig);
	if (q->n == 0 && q->nblock == 0)
		return 0;
	struct otp_redis_args k, kb;
	struct otp_redis_reads rq = {0};
	char cut[2][24];
	if (key_reads(&rq, &k, cut, q->keys, q->members, q->n, q->now) < 0 ||
	    otp_redis_block_reads(&rq, &kb, q->block_keys, q->nblock) < 0)
		return OTP_EINTERNAL;
	redisReply *rep[OTP_REDIS_READS];
	int rc = reads(cast(s), &rq, rep);
	if (rc)
		return rc;
	rc = key_replies(rep, q->n, q->now, sig);
	if (rc == 0)
		rc = otp_redis_block_rows(rep + KEY_READS * q->n, q->block_keys,
					  q->nblock, blocks, nblocks);
	free_replies(rep, rq.n);
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
