/* store.c - the Redis backend of the store interface (store/store.h):
 * the handle (open, close, ping), the ops table, and the key layout.
 *
 * One handle is one connection (conn.c: timeouts, reconnection,
 * errors). Every domain operation is one round trip: a Lua script
 * (scripts.c) or a single read command. Redis runs a script alone, so
 * each operation is atomic across every otpd process sharing the server.
 * Scripts never read Redis's clock: `now` comes in as an argument.
 *
 * Keys, all under "otp:", with a hash tag per entity:
 *   otp:{c:<request id>}        code: phone, MAC, attempts left, state, times
 *   otp:{p:<phone>:<owner>}     id of the latest code of a phone and owner
 *                               (to retire it)
 *   otp:{s:<hex token hash>}    session
 *   otp:{i:<idempotency key>}   first answer under an idempotency key
 *   otp:{l:<limit key>}         GCRA theoretical arrival time
 *   otp:{keys}:k:<id>, :all     API keys, and their ids by creation time
 *   otp:{outbox}:...            the shared queue: seq (ids), m:<id> (hash per
 *                               message), r:<request id> (its message id),
 *                               due (zset: queued by next try, sending by
 *                               lease end), ids, st:<state> (zsets by id, for
 *                               listing), exp (zset by code expiry, for purge)
 *   otp:{g:<signal key>}        a signal's buckets: fields h<hour>:<c> and
 *                               d<day>:<c> (c 0 sent, 1 verified)
 *   otp:{g:<signal key>}:m      its set: zset of member -> ms last seen
 *   otp:{blocks}:...            b:<key> (hash per block or allow row), new
 *                               (zset of keys by created), end (zset of keys
 *                               with an end, by until_ms, for purge)
 * Signal and block keys are stored as the engine gives them (no phone is
 * sealed in them: an "e:" allow key holds a whole number in clear).
 * Each record key gets a TTL from its own expiry, computed as expiry - now
 * (the caller's clock, so that Redis's clock does not matter) plus a minute
 * of slack for clocks that differ between otpd hosts: Redis cleans itself.
 * Codes and messages are kept a day past their expiry, like SQLite's purge.
 * A signal's hash lives 15 days after its last add (an add that opens an
 * hour drops its buckets out of the window), its set a day; blocks have no
 * TTL (purge drops those ended 30 days ago). API keys never expire; the
 * outbox's index zsets are structures, cleaned of their members by purge (and
 * by claim, of members whose hash is gone).
 *
 * Slots. Sessions, limits taken one at a time, API keys, and every outbox
 * operation touch one slot each. Some operations cannot: code_issue touches
 * the code, its phone, the phone's previous code, the outbox, the
 * idempotency key, the session and the limits (the interface makes these
 * one atomic step), and its signals; code_verify with rotation touches the
 * code and two sessions, and an accepted code its credit's signal keys;
 * session_rotate two sessions; limit_take one slot per key; signal_add and
 * signal_read one slot per signal key; purge scans. Keys computed inside
 * scripts are in a declared key's slot, except the previous code in
 * code_issue and the credited signal keys in code_verify (the code holds
 * them). All of this is atomic on one Redis
 * server (with replicas), which is what we support; on Redis Cluster those
 * operations would fail with CROSSSLOT.
 *
 * Not here: TTL and attempt policy (the engine), choosing the backend by
 * URL (src/store/store.c), the connection (conn.c), the scripts
 * (scripts.c), the operations (codes.c, limits.c, sessions.c, keys.c,
 * outbox.c, signals.c, blocks.c, purge.c), the helpers they share
 * (redis.h), the session cache's tracker (tracking.c).
 */
#include "store/redis/redis.h"

int otp_redis_run_word(struct rd *r, enum otp_redis_script sc, int nkeys,
		       struct otp_redis_args *a)
{
	redisReply *rep;
	int rc = run(r, sc, nkeys, a, &rep);
	if (rc)
		return rc;
	if (said(rep, "ok"))
		rc = 0;
	else if (said(rep, "notfound"))
		rc = OTP_ENOTFOUND;
	else if (said(rep, "gone"))
		rc = OTP_EGONE;
	else if (said(rep, "conflict"))
		rc = OTP_ECONFLICT;
	else
		rc = OTP_EINTERNAL;
	freeReplyObject(rep);
	return rc;
}

int otp_redis_scan(struct rd *r, const char *pattern, const char *count,
		   int (*each)(struct rd *r, const redisReply *keys, void *ctx),
		   void *ctx)
{
	char cursor[32] = "0";
	do {
		struct otp_redis_args a;
		args_init(&a);
		add_str(&a, "SCAN", 5);
		add_str(&a, cursor, sizeof cursor);
		add_str(&a, "MATCH", 6);
		add_str(&a, pattern, OTP_REDIS_ARG_TEXT);
		add_str(&a, "COUNT", 6);
		add_str(&a, count, 16);
		redisReply *rep;
		int rc = cmd(r, &a, &rep);
		if (rc)
			return rc;
		const redisReply *next = el(rep, 0), *keys = el(rep, 1);
		if (!next || next->type != REDIS_REPLY_STRING || !keys ||
		    keys->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			return OTP_EINTERNAL;
		}
		snprintf(cursor, sizeof cursor, "%s", next->str);
		rc = keys->elements ? each(r, keys, ctx) : 0;
		freeReplyObject(rep);
		if (rc)
			return rc;
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

int otp_redis_eval_batch(struct rd *r, enum otp_redis_script sc,
			 const redisReply *keys, const char *arg,
			 int64_t *count)
{
	return otp_redis_eval_batch_args(r, sc, keys, &arg, 1, count);
}

int otp_redis_eval_batch_args(struct rd *r, enum otp_redis_script sc,
			      const redisReply *keys, const char *const *args,
			      size_t nargs, int64_t *count)
{
	size_t cap = OTP_REDIS_ARGS_FIRST + keys->elements + nargs;
	const char **v = malloc(cap * sizeof *v);
	size_t *len = malloc(cap * sizeof *len);
	if (!v || !len)
		abort();
	int argc = OTP_REDIS_ARGS_FIRST;
	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *e = keys->element[i];
		if (e->type == REDIS_REPLY_STRING) {
			v[argc] = e->str;
			len[argc++] = e->len;
		}
	}
	int nkeys = argc - OTP_REDIS_ARGS_FIRST;
	for (size_t i = 0; i < nargs; i++) {
		v[argc] = args[i];
		len[argc++] = strlen(args[i]);
	}
	redisReply *rep;
	int rc = otp_redis_eval(&r->conn, sc, nkeys, argc, v, len, &rep);
	if (rc == 0) {
		*count = el_int(rep, 1);
		freeReplyObject(rep);
	}
	free(v);
	free(len);
	return rc;
}

int otp_redis_list(struct otp_store *s, enum otp_redis_script sc,
		   struct otp_redis_args *a, size_t max, size_t width,
		   int (*each)(const redisReply *rep, size_t i, size_t k,
			       void *ctx),
		   void *ctx, size_t *n)
{
	*n = 0;
	if (max == 0)
		return 0;
	add_int(a, max > INT32_MAX ? INT32_MAX : (int64_t)max);
	redisReply *rep;
	int rc = run(cast(s), sc, 1, a, &rep);
	if (rc)
		return rc;
	size_t k = 0;
	for (size_t i = 1; i + width <= rep->elements && k < max; i += width)
		if (each(rep, i, k++, ctx))
			rc = OTP_EINTERNAL;
	freeReplyObject(rep);
	if (rc == 0)
		*n = k;
	return rc;
}

/* ---- open, close, ping ---- */

static void close_rd(struct otp_store *s)
{
	struct rd *r = cast(s);
	otp_redis_deinit(&r->conn);
	free(r);
}

/* A server that cannot be reached yet is no reason to fail: the handle
 * connects on its first call (otpd may start before Redis does, and
 * /readyz says so meanwhile). A malformed URL, a wrong password or database
 * number is, since no retry will mend it. */
static int open_rd(const char *arg, struct otp_store **out)
{
	*out = NULL;
	if (!arg || sodium_init() < 0)
		return OTP_EINTERNAL;
	struct rd *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	r->base.ops = &otp_store_redis_ops;
	int rc = otp_redis_init(&r->conn, arg);
	if (rc == 0)
		rc = otp_redis_attach(&r->conn, arg);
	if (rc == 0) {
		rc = otp_redis_connect(&r->conn);
		if (rc == OTP_EUNAVAIL)
			rc = 0;
	}
	if (rc) {
		close_rd(&r->base);
		return rc;
	}
	*out = &r->base;
	return 0;
}

int otp_redis_ping(struct otp_store *s)
{
	struct rd *r = cast(s);
	struct otp_redis_args a;
	args_init(&a);
	add_str(&a, "PING", 5);
	redisReply *rep;
	int rc = cmd(r, &a, &rep);
	if (rc)
		return rc;
	rc = rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0
		 ? 0
		 : OTP_EINTERNAL;
	freeReplyObject(rep);
	return rc;
}

const struct otp_store_ops otp_store_redis_ops = {
    .name = "redis",
    .scheme = "redis", /* "redis://" and "redis+unix://": otp_redis_init */
    .form = "redis://[[USER]:PASSWORD@]HOST:PORT[/DB] or "
	    "redis+unix://[[USER]:PASSWORD@]/PATH[?db=DB]",
    .check = otp_store_redis_check,
    .track = otp_redis_track,
    .version = 2,
    .caps = OTP_STORE_CAP_FIBERS, /* pipe.c parks a fiber */
    .open = open_rd,
    .close = close_rd,
#define OTP_REDIS_FIELD_(op, params, args) .op = otp_redis_##op,
    OTP_STORE_OPS(OTP_REDIS_FIELD_)
#undef OTP_REDIS_FIELD_
};
