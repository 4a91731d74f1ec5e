/* blocks.c - the Redis store's blocks and allow entries of the abuse rules
 * (store.h): a hash per scope key under otp:{blocks}:, with a zset of the
 * keys by created (block_list, newest first) and one of those with an end
 * by until_ms (purge). All in one slot; each write one script, block_find
 * an HMGET a row (plain reads, in one round trip).
 *
 * A row has no TTL: block_put is given no `now`, and a row is the
 * caller's to read in any state; purge drops those ended 30 days before
 * its now. What a block means is src/abuse/'s.
 */
#include "store/redis/redis.h"

#define BL		OTP_REDIS_BLOCKS
#define PURGE_BATCH_N	500
#define PURGE_BATCH	"500" /* PURGE_BATCH_N as text */
#define BLOCK_FIELDS	5     /* kind, created, until, strikes, rule */
#define BLOCK_ROW_WIDTH (1 + BLOCK_FIELDS)

static void key_block(struct otp_redis_args *a, const char *key)
{
	add_fmt(a, BL "b:%.*s", OTP_SIGNAL_KEY_MAX - 1, key);
}

/* The row, then both indexes: the KEYS of put and delete. */
static void row_keys(struct otp_redis_args *a, const char *key)
{
	key_block(a, key);
	add_str(a, BL "new", sizeof BL "new");
	add_str(a, BL "end", sizeof BL "end");
}

int otp_redis_block_put(struct otp_store *s, const struct otp_block *b)
{
	if ((unsigned)b->kind >= OTP_BLOCK_KINDS)
		return OTP_EINTERNAL;
	struct otp_redis_args a;
	args_init(&a);
	row_keys(&a, b->key);
	add_str(&a, b->key, OTP_SIGNAL_KEY_MAX);
	add_str(&a, otp_block_kind_names[b->kind], 8);
	add_int(&a, b->created_ms);
	add_int(&a, b->until_ms);
	add_int(&a, b->strikes);
	add_str(&a, b->rule, OTP_BLOCK_RULE_MAX);
	return otp_redis_run_word(cast(s), OTP_RS_BLOCK_PUT, 3, &a);
}

/* Fields i..i+4 of rep (kind, created, until, strikes, rule) into b,
 * whose key is set already. */
static int copy_fields(const redisReply *rep, size_t i, struct otp_block *b)
{
	int kind =
	    el_state(rep, i, otp_block_kind_names, COUNT(otp_block_kind_names));
	if (kind < 0)
		return OTP_EINTERNAL;
	b->kind = (enum otp_block_kind)kind;
	b->created_ms = el_int(rep, i + 1);
	b->until_ms = el_int(rep, i + 2);
	b->strikes = (int)el_int(rep, i + 3);
	el_str(rep, i + 4, b->rule, sizeof b->rule);
	return 0;
}

int otp_redis_block_reads(struct otp_redis_reads *q, struct otp_redis_args *k,
			  const char *const *keys, size_t n)
{
	if (keys_of(k, keys, n, key_block) < 0)
		return OTP_EINTERNAL;
	for (size_t i = 0; i < n; i++)
		read_cmd(q, 2 + BLOCK_FIELDS,
			 (const char *const[]){"HMGET",
					       k->v[OTP_REDIS_ARGS_FIRST + i],
					       "k", "c", "u", "n", "r"});
	return 0;
}

int otp_redis_block_rows(redisReply *const *rep, const char *const *keys,
			 size_t n, struct otp_block *out, size_t *nout)
{
	size_t k = 0;
	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		const redisReply *f = rep[i];
		if (f->type != REDIS_REPLY_ARRAY || f->elements != BLOCK_FIELDS)
			return OTP_EINTERNAL;
		if (f->element[0]->type == REDIS_REPLY_NIL)
			continue; /* no row */
		struct otp_block *b = &out[k];
		memset(b, 0, sizeof *b);
		snprintf(b->key, sizeof b->key, "%s", keys[i]);
		int rc = copy_fields(f, 0, b);
		if (rc)
			return rc;
		k++;
	}
	*nout = k;
	return 0;
}

int otp_redis_block_find(struct otp_store *s, const char *const *keys, size_t n,
			 struct otp_block *out, size_t *nout)
{
	*nout = 0;
	if (n == 0)
		return 0;
	struct otp_redis_args k;
	struct otp_redis_reads q = {0};
	if (otp_redis_block_reads(&q, &k, keys, n) < 0)
		return OTP_EINTERNAL;
	redisReply *rep[OTP_REDIS_READS];
	int rc = reads(cast(s), &q, rep);
	if (rc)
		return rc;
	rc = otp_redis_block_rows(rep, keys, n, out, nout);
	free_replies(rep, q.n);
	return rc;
}

static int block_record(const redisReply *rep, size_t i, size_t k, void *ctx)
{
	struct otp_block *b = (struct otp_block *)ctx + k;
	memset(b, 0, sizeof *b);
	el_str(rep, i, b->key, sizeof b->key);
	return copy_fields(rep, i + 1, b);
}

int otp_redis_block_list(struct otp_store *s, struct otp_block *out, size_t max,
			 size_t *n)
{
	struct otp_redis_args a;
	args_init(&a);
	add_str(&a, BL "new", sizeof BL "new");
	return otp_redis_list(s, OTP_RS_BLOCK_LIST, &a, max, BLOCK_ROW_WIDTH,
			      block_record, out, n);
}

int otp_redis_block_delete(struct otp_store *s, const char *key)
{
	struct otp_redis_args a;
	args_init(&a);
	row_keys(&a, key);
	add_str(&a, key, OTP_SIGNAL_KEY_MAX);
	return otp_redis_run_word(cast(s), OTP_RS_BLOCK_DELETE, 3, &a);
}

/* By the index of ends, a batch per script. */
int otp_redis_blocks_purge(struct rd *r, int64_t now, long *count)
{
	for (;;) {
		struct otp_redis_args a;
		args_init(&a);
		add_str(&a, BL "end", sizeof BL "end");
		add_str(&a, BL "new", sizeof BL "new");
		add_int(&a, now - OTP_BLOCK_KEPT_MS);
		add_str(&a, PURGE_BATCH, sizeof PURGE_BATCH);
		redisReply *rep;
		int rc = run(r, OTP_RS_PURGE_BLOCKS, 2, &a, &rep);
		if (rc)
			return rc;
		int64_t seen = el_int(rep, 1);
		*count += (long)el_int(rep, 2);
		freeReplyObject(rep);
		if (seen < PURGE_BATCH_N)
			return 0;
	}
}
