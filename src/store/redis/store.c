/* store_redis.c - the Redis backend of the store interface (store.h).
 *
 * One handle is one connection (redis_conn.c: timeouts, reconnection,
 * errors). Every domain operation is one round trip: a Lua script
 * (redis_lua.c) or a single read command. Redis runs a script alone, so
 * each operation is atomic across every otpd process sharing the server.
 * Scripts never read Redis's clock: `now` comes in as an argument.
 *
 * Keys, all under "otp:", with a hash tag per entity:
 *   otp:{c:<request id>}        code: phone, MAC, attempts left, state, times
 *   otp:{p:<phone>}             id of the phone's latest code (to retire it)
 *   otp:{s:<hex token hash>}    session
 *   otp:{i:<idempotency key>}   first answer under an idempotency key
 *   otp:{l:<limit key>}         GCRA theoretical arrival time
 *   otp:{keys}:k:<id>, :all     API keys, and their ids by creation time
 *   otp:{outbox}:...            the shared queue: seq (ids), m:<id> (hash per
 *                               message), r:<request id> (its message id),
 *                               due (zset: queued by next try, sending by
 *                               lease end), ids, st:<state> (zsets by id, for
 *                               listing), exp (zset by code expiry, for purge)
 * Each record key gets a TTL from its own expiry, computed as expiry - now
 * (the caller's clock, so that Redis's clock does not matter) plus a minute
 * of slack for clocks that differ between otpd hosts: Redis cleans itself.
 * Codes and messages are kept a day past their expiry, like SQLite's purge.
 * API keys never expire; the outbox's index zsets are structures, cleaned of
 * their members by purge (and by claim, of members whose hash is gone).
 *
 * Slots. Sessions, limits taken one at a time, API keys, and every outbox
 * operation touch one slot each. Some operations cannot: code_issue touches
 * the code, its phone, the phone's previous code, the outbox, the
 * idempotency key, the session and the limits (the interface makes these
 * one atomic step); code_verify with rotation touches the code and two
 * sessions; session_rotate two sessions; limit_take one slot per key; purge
 * scans. Keys computed inside scripts are in a declared key's slot, except
 * the previous code in code_issue. All of this is atomic on one Redis
 * server (with replicas), which is what we support; on Redis Cluster those
 * operations would fail with CROSSSLOT.
 *
 * Not here: TTL and attempt policy (the engine), choosing the backend by
 * URL (store.c), the connection (redis_conn.c), the scripts (redis_lua.c).
 */
#include "store/store.h"

#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/redis/conn.h"

#define SCAN_COUNT    "1000"
#define PURGE_BATCH_N 500
#define PURGE_BATCH   "500" /* PURGE_BATCH_N as text, for SCAN COUNT */
#define COUNT(a)      (sizeof(a) / sizeof((a)[0]))

#define OB OTP_REDIS_OUTBOX

extern const struct otp_store_ops otp_store_redis_ops;

/* ---- the handle, and the arguments of a command ---- */

/* base comes first: a struct otp_store * is a struct rd *. */
struct rd {
	struct otp_store base;
	struct otp_redis conn;
};

static struct rd *cast(struct otp_store *s)
{
	return (struct rd *)s;
}

static void args_init(struct otp_redis_args *a)
{
	a->n = OTP_REDIS_ARGS_FIRST;
}

static void add_bin(struct otp_redis_args *a, const void *p, size_t len)
{
	if (a->n >= OTP_REDIS_ARGS_MAX)
		abort(); /* sized for our own commands: a bug */
	a->v[a->n] = p;
	a->len[a->n++] = len;
}

/* A NUL-terminated field of at most max - 1 bytes. */
static void add_str(struct otp_redis_args *a, const char *t, size_t max)
{
	add_bin(a, t, strnlen(t, max - 1));
}

static void add_fmt(struct otp_redis_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_fmt(struct otp_redis_args *a, const char *fmt, ...)
{
	if (a->n >= OTP_REDIS_ARGS_MAX)
		abort();
	char *t = a->text[a->n];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(t, OTP_REDIS_ARG_TEXT, fmt, ap);
	va_end(ap);
	if (len < 0 || len >= OTP_REDIS_ARG_TEXT)
		abort(); /* every key and number we make fits */
	add_bin(a, t, (size_t)len);
}

static void add_int(struct otp_redis_args *a, int64_t v)
{
	add_fmt(a, "%lld", (long long)v);
}

static void add_member(struct otp_redis_args *a, int64_t id)
{
	add_fmt(a, "%016lld", (long long)id);
}

static void key_code(struct otp_redis_args *a, const char *id)
{
	add_fmt(a, "otp:{c:%.*s}", OTP_ID_LEN, id);
}

static void key_session(struct otp_redis_args *a,
			const unsigned char hash[OTP_HASH_LEN])
{
	char hex[2 * OTP_HASH_LEN + 1];
	sodium_bin2hex(hex, sizeof hex, hash, OTP_HASH_LEN);
	add_fmt(a, "otp:{s:%s}", hex);
}

static void key_msg(struct otp_redis_args *a, int64_t id)
{
	add_fmt(a, OB "m:%lld", (long long)id);
}

static void key_apikey(struct otp_redis_args *a, const char *id)
{
	add_fmt(a, "otp:{keys}:k:%.*s", OTP_KEY_ID_LEN, id);
}

/* An error text cut to OTP_ERROR_TEXT_MAX - 1 bytes, never inside a UTF-8
 * sequence. */
static void add_error(struct otp_redis_args *a, const char *error)
{
	if (!error)
		error = "";
	size_t n = strnlen(error, OTP_ERROR_TEXT_MAX - 1);
	if (error[n] != '\0')
		while (n > 0 && ((unsigned char)error[n] & 0xc0) == 0x80)
			n--;
	add_bin(a, error, n);
}

static int cmd(struct rd *r, struct otp_redis_args *a, redisReply **out)
{
	return otp_redis_cmd(&r->conn, a, out);
}

static int run(struct rd *r, enum otp_redis_script sc, int nkeys,
	       struct otp_redis_args *a, redisReply **out)
{
	return otp_redis_eval(&r->conn, sc, nkeys, a->n, a->v, a->len, out);
}

/* ---- reading replies ---- */

static const redisReply *el(const redisReply *rep, size_t i)
{
	if (rep->type != REDIS_REPLY_ARRAY || i >= rep->elements)
		return NULL;
	return rep->element[i];
}

/* The status word a script answers first. */
static bool said(const redisReply *rep, const char *word)
{
	const redisReply *e = el(rep, 0);
	return e && e->type == REDIS_REPLY_STRING && strcmp(e->str, word) == 0;
}

static bool has(const redisReply *rep, size_t i)
{
	const redisReply *e = el(rep, i);
	return e && (e->type == REDIS_REPLY_STRING ||
		     e->type == REDIS_REPLY_INTEGER);
}

static int64_t el_int(const redisReply *rep, size_t i)
{
	const redisReply *e = el(rep, i);
	if (!e)
		return 0;
	if (e->type == REDIS_REPLY_INTEGER)
		return (int64_t)e->integer;
	if (e->type == REDIS_REPLY_STRING)
		return strtoll(e->str, NULL, 10);
	return 0;
}

static void el_str(const redisReply *rep, size_t i, char *dst, size_t cap)
{
	const redisReply *e = el(rep, i);
	size_t n = e && e->type == REDIS_REPLY_STRING ? e->len : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, e->str, n);
	dst[n] = '\0';
}

/* Index of element i's text in names[], or -1. */
static int el_state(const redisReply *rep, size_t i, const char *const *names,
		    size_t count)
{
	const redisReply *e = el(rep, i);
	for (size_t k = 0; e && e->type == REDIS_REPLY_STRING && k < count; k++)
		if (strcmp(e->str, names[k]) == 0)
			return (int)k;
	return -1;
}

/* The common ending of a script whose answer is only a word: "ok" is 0,
 * "notfound" and "gone" their errors, anything else a fault. */
static int run_word(struct rd *r, enum otp_redis_script sc, int nkeys,
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

static int ping(struct otp_store *s)
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

/* ---- codes ---- */

static int issue(struct otp_store *s, const struct otp_issue *in, int64_t now,
		 struct otp_issue_out *out)
{
	struct rd *r = cast(s);
	const struct otp_code_new *c = &in->code;
	memset(out, 0, sizeof *out);
	if (in->nlimits > OTP_REDIS_LIMITS_MAX)
		return OTP_EINTERNAL;
	struct otp_redis_args a;
	args_init(&a);
	key_code(&a, c->id);
	add_fmt(&a, "otp:{p:%.*s}", OTP_PHONE_MAX - 1, c->phone);
	add_str(&a, OB "due", sizeof OB "due");
	if (in->idem)
		add_fmt(&a, "otp:{i:%.*s}", OTP_IDEM_KEY_MAX - 1,
			in->idem->key);
	else
		key_code(&a, c->id); /* unused */
	if (in->bind)
		key_session(&a, in->bind->hash);
	else
		key_code(&a, c->id); /* unused */
	for (size_t i = 0; i < in->nlimits; i++)
		add_fmt(&a, "otp:{l:%.*s}", OTP_LIMIT_KEY_MAX - 1,
			in->limits[i].key);
	add_int(&a, now);
	add_str(&a, c->id, OTP_ID_LEN + 1);
	add_str(&a, c->phone, OTP_PHONE_MAX);
	add_bin(&a, c->mac, OTP_MAC_LEN);
	add_int(&a, c->attempts);
	add_int(&a, c->expires_ms);
	add_bin(&a, in->body ? (const void *)in->body : "",
		in->body ? in->body_len : 0);
	add_str(&a, in->idem ? "1" : "0", 2);
	add_int(&a, in->idem ? in->idem->expires_ms : 0);
	add_str(&a, in->bind ? "1" : "0", 2);
	add_int(&a, in->bind ? in->bind->expires_ms : 0);
	for (size_t i = 0; i < in->nlimits; i++) {
		add_int(&a, in->limits[i].rate.interval_ms);
		add_int(&a, in->limits[i].rate.burst);
	}

	redisReply *rep;
	int rc = run(r, OTP_RS_ISSUE, 5 + (int)in->nlimits, &a, &rep);
	if (rc)
		return rc;
	if (said(rep, "limited")) {
		rc = OTP_ELIMITED;
		out->retry_ms = el_int(rep, 1);
	} else if (said(rep, "ok") || said(rep, "replayed")) {
		out->replayed = said(rep, "replayed");
		el_str(rep, 1, out->id, sizeof out->id);
		out->expires_ms = el_int(rep, 2);
	} else if (said(rep, "conflict")) {
		rc = OTP_ECONFLICT;
	} else {
		rc = OTP_EINTERNAL; /* "duplicate": that id exists already */
	}
	freeReplyObject(rep);
	return rc;
}

/* Two single-slot reads in one round trip: the code, and its message's
 * state (the outbox's slot). Not one snapshot, which a status display does
 * not need. */
static int code_info(struct otp_store *s, const char *id,
		     struct otp_code_info *out)
{
	struct rd *r = cast(s);
	memset(out, 0, sizeof *out);
	struct otp_redis_args a, b;
	args_init(&a);
	add_str(&a, "HMGET", 6);
	key_code(&a, id);
	static const char *const fields[] = {"p", "s", "l", "c", "e"};
	for (size_t i = 0; i < COUNT(fields); i++)
		add_str(&a, fields[i], 2);
	args_init(&b);
	add_fmt(&b, OB "r:%.*s", OTP_ID_LEN, id);
	redisReply *code, *msg;
	int rc =
	    otp_redis_cmd_eval(&r->conn, &a, OTP_RS_STATE, 1, &b, &code, &msg);
	if (rc)
		return rc;
	if (!has(code, 0))
		rc = OTP_ENOTFOUND;
	int state = -1, ms = -1;
	if (rc == 0) {
		el_str(code, 0, out->phone, sizeof out->phone);
		state = el_state(code, 1, otp_code_state_names,
				 COUNT(otp_code_state_names));
		out->attempts_left = (int)el_int(code, 2);
		out->created_ms = el_int(code, 3);
		out->expires_ms = el_int(code, 4);
		/* Its message goes at the same time as the code, give or
		 * take Redis's expiry cycle: gone first means long over. */
		ms = said(msg, "ok") ? el_state(msg, 1, otp_msg_state_names,
						COUNT(otp_msg_state_names))
				     : OTP_MSG_EXPIRED;
		if (state < 0 || ms < 0)
			rc = OTP_EINTERNAL;
	}
	freeReplyObject(code);
	freeReplyObject(msg);
	if (rc) {
		memset(out, 0, sizeof *out);
		return rc;
	}
	out->state = (enum otp_code_state)state;
	out->msg_state = (enum otp_msg_state)ms;
	return 0;
}

static int verify(struct otp_store *s, const struct otp_verify_in *in,
		  int64_t now, struct otp_verify_out *out)
{
	static const struct {
		const char *word;
		enum otp_verify_result result;
	} words[] = {
	    {"ok", OTP_VERIFY_OK},
	    {"wrong", OTP_VERIFY_WRONG},
	    {"notfound", OTP_VERIFY_NOTFOUND},
	    {"expired", OTP_VERIFY_EXPIRED},
	    {"used", OTP_VERIFY_USED},
	    {"dead", OTP_VERIFY_DEAD},
	};
	struct rd *r = cast(s);
	memset(out, 0, sizeof *out);
	out->result = OTP_VERIFY_NOTFOUND;
	struct otp_redis_args a;
	args_init(&a);
	key_code(&a, in->id);
	if (in->rotate) {
		key_session(&a, in->old_hash);
		key_session(&a, in->new_hash);
	}
	add_int(&a, now);
	add_bin(&a, in->mac, OTP_MAC_LEN);
	add_str(&a, in->force_fail ? "1" : "0", 2);
	add_str(&a, in->expect_phone, OTP_PHONE_MAX);
	add_str(&a, in->rotate ? "1" : "0", 2);
	add_int(&a, in->session_expires_ms);

	redisReply *rep;
	int rc = run(r, OTP_RS_VERIFY, in->rotate ? 3 : 1, &a, &rep);
	if (rc)
		return rc;
	rc = OTP_EINTERNAL;
	for (size_t i = 0; i < COUNT(words); i++)
		if (said(rep, words[i].word)) {
			out->result = words[i].result;
			out->attempts_left = (int)el_int(rep, 1);
			el_str(rep, 2, out->phone, sizeof out->phone);
			rc = 0;
		}
	freeReplyObject(rep);
	if (rc) {
		memset(out, 0, sizeof *out);
		out->result = OTP_VERIFY_NOTFOUND;
	}
	return rc;
}

/* ---- limits ---- */

static int take(struct otp_store *s, const struct otp_limit *lims, size_t n,
		int64_t now, int64_t *retry_ms)
{
	struct rd *r = cast(s);
	size_t live = 0;
	if (retry_ms)
		*retry_ms = 0;
	for (size_t i = 0; i < n; i++)
		live += lims[i].rate.interval_ms > 0;
	if (!live)
		return 0;
	if (n > OTP_REDIS_LIMITS_MAX)
		return OTP_EINTERNAL;
	struct otp_redis_args a;
	args_init(&a);
	for (size_t i = 0; i < n; i++)
		add_fmt(&a, "otp:{l:%.*s}", OTP_LIMIT_KEY_MAX - 1, lims[i].key);
	add_int(&a, now);
	for (size_t i = 0; i < n; i++) {
		add_int(&a, lims[i].rate.interval_ms);
		add_int(&a, lims[i].rate.burst);
	}
	redisReply *rep;
	int rc = run(r, OTP_RS_LIMIT, (int)n, &a, &rep);
	if (rc)
		return rc;
	if (said(rep, "limited")) {
		rc = OTP_ELIMITED;
		if (retry_ms)
			*retry_ms = el_int(rep, 1);
	} else if (!said(rep, "ok")) {
		rc = OTP_EINTERNAL;
	}
	freeReplyObject(rep);
	return rc;
}

/* ---- sessions ---- */

static int get_session(struct otp_store *s,
		       const unsigned char hash[OTP_HASH_LEN], int64_t now,
		       struct otp_session *out)
{
	struct rd *r = cast(s);
	memset(out, 0, sizeof *out);
	struct otp_redis_args a;
	args_init(&a);
	add_str(&a, "HMGET", 6);
	key_session(&a, hash);
	static const char *const fields[] = {"p", "a", "e", "pi", "pp", "n"};
	for (size_t i = 0; i < COUNT(fields); i++)
		add_str(&a, fields[i], 3);
	redisReply *rep;
	int rc = cmd(r, &a, &rep);
	if (rc)
		return rc;
	int64_t expires = el_int(rep, 2);
	if (!has(rep, 2) || expires <= now) {
		freeReplyObject(rep);
		return OTP_ENOTFOUND;
	}
	el_str(rep, 0, out->phone, sizeof out->phone);
	out->authenticated_ms = el_int(rep, 1);
	out->expires_ms = expires;
	el_str(rep, 3, out->pending_id, sizeof out->pending_id);
	el_str(rep, 4, out->pending_phone, sizeof out->pending_phone);
	out->sends = (int)el_int(rep, 5);
	freeReplyObject(rep);
	return 0;
}

static int session_bind(struct otp_store *s, const struct otp_session_bind *b,
			const char *pending_id, const char *pending_phone,
			bool count_send, int64_t now)
{
	struct otp_redis_args a;
	args_init(&a);
	key_session(&a, b->hash);
	add_int(&a, now);
	add_int(&a, b->expires_ms);
	add_str(&a, pending_id ? "1" : "0", 2);
	add_str(&a, pending_id ? pending_id : "", OTP_PENDING_MAX);
	add_str(&a, pending_phone ? pending_phone : "", OTP_PHONE_MAX);
	add_str(&a, count_send ? "1" : "0", 2);
	return run_word(cast(s), OTP_RS_BIND, 1, &a);
}

static int session_rotate(struct otp_store *s,
			  const unsigned char old_hash[OTP_HASH_LEN],
			  const unsigned char new_hash[OTP_HASH_LEN],
			  const char *phone, int64_t expires_ms, int64_t now)
{
	struct otp_redis_args a;
	args_init(&a);
	key_session(&a, old_hash);
	key_session(&a, new_hash);
	add_int(&a, now);
	add_str(&a, phone, OTP_PHONE_MAX);
	add_int(&a, expires_ms);
	return run_word(cast(s), OTP_RS_ROTATE, 2, &a);
}

static int delete_session(struct otp_store *s,
			  const unsigned char hash[OTP_HASH_LEN])
{
	struct otp_redis_args a;
	args_init(&a);
	add_str(&a, "DEL", 4);
	key_session(&a, hash);
	redisReply *rep;
	int rc = cmd(cast(s), &a, &rep);
	if (rc == 0)
		freeReplyObject(rep);
	return rc;
}

/* ---- API keys ---- */

static int key_put(struct otp_store *s, const struct otp_apikey *k)
{
	struct otp_redis_args a;
	args_init(&a);
	key_apikey(&a, k->id);
	add_str(&a, "otp:{keys}:all", 15);
	add_str(&a, k->id, OTP_KEY_ID_LEN + 1);
	add_str(&a, k->name, OTP_KEY_NAME_MAX);
	add_bin(&a, k->hash, OTP_HASH_LEN);
	add_int(&a, k->created_ms);
	add_int(&a, k->revoked_ms);
	return run_word(cast(s), OTP_RS_KEY_PUT, 2, &a);
}

/* Copies fields i..i+3 (name, hash, created, revoked) of rep into k. */
static void copy_key(const redisReply *rep, size_t i, struct otp_apikey *k)
{
	el_str(rep, i, k->name, sizeof k->name);
	const redisReply *h = el(rep, i + 1);
	if (h && h->type == REDIS_REPLY_STRING && h->len == OTP_HASH_LEN)
		memcpy(k->hash, h->str, OTP_HASH_LEN);
	k->created_ms = el_int(rep, i + 2);
	k->revoked_ms = el_int(rep, i + 3);
}

static int key_get(struct otp_store *s, const char *id, struct otp_apikey *out)
{
	memset(out, 0, sizeof *out);
	struct otp_redis_args a;
	args_init(&a);
	add_str(&a, "HMGET", 6);
	key_apikey(&a, id);
	static const char *const fields[] = {"n", "h", "c", "r"};
	for (size_t i = 0; i < COUNT(fields); i++)
		add_str(&a, fields[i], 2);
	redisReply *rep;
	int rc = cmd(cast(s), &a, &rep);
	if (rc)
		return rc;
	if (has(rep, 0)) {
		snprintf(out->id, sizeof out->id, "%.*s", OTP_KEY_ID_LEN, id);
		copy_key(rep, 0, out);
	} else {
		rc = OTP_ENOTFOUND;
	}
	freeReplyObject(rep);
	return rc;
}

static int key_list(struct otp_store *s, struct otp_apikey *out, size_t max,
		    size_t *n)
{
	*n = 0;
	if (max == 0)
		return 0;
	struct otp_redis_args a;
	args_init(&a);
	add_str(&a, "otp:{keys}:all", 15);
	add_int(&a, max > INT32_MAX ? INT32_MAX : (int64_t)max);
	redisReply *rep;
	int rc = run(cast(s), OTP_RS_KEY_LIST, 1, &a, &rep);
	if (rc)
		return rc;
	size_t k = 0;
	for (size_t i = 1; i + 5 <= rep->elements && k < max; i += 5) {
		memset(&out[k], 0, sizeof out[k]);
		el_str(rep, i, out[k].id, sizeof out[k].id);
		copy_key(rep, i + 1, &out[k]);
		k++;
	}
	freeReplyObject(rep);
	*n = k;
	return 0;
}

static int key_revoke(struct otp_store *s, const char *id, int64_t now)
{
	struct otp_redis_args a;
	args_init(&a);
	key_apikey(&a, id);
	add_int(&a, now);
	return run_word(cast(s), OTP_RS_KEY_REVOKE, 1, &a);
}

/* ---- the outbox ---- */

static int claim(struct otp_store *s, int64_t now, int64_t lease_ms,
		 struct otp_msg *out, size_t max, size_t *n)
{
	*n = 0;
	if (max == 0)
		return 0;
	struct otp_redis_args a;
	args_init(&a);
	add_str(&a, OB "due", sizeof OB "due");
	add_int(&a, now);
	add_int(&a, lease_ms);
	add_int(&a, max > INT32_MAX ? INT32_MAX : (int64_t)max);
	redisReply *rep;
	int rc = run(cast(s), OTP_RS_CLAIM, 1, &a, &rep);
	if (rc)
		return rc;
	size_t k = 0;
	for (size_t i = 1; i + 7 <= rep->elements && k < max; i += 7) {
		struct otp_msg *m = &out[k++];
		memset(m, 0, sizeof *m);
		m->id = el_int(rep, i);
		el_str(rep, i + 1, m->request_id, sizeof m->request_id);
		el_str(rep, i + 2, m->to, sizeof m->to);
		const redisReply *b = el(rep, i + 3);
		m->body_len = b && b->type == REDIS_REPLY_STRING ? b->len : 0;
		m->body = malloc(m->body_len ? m->body_len : 1);
		if (!m->body)
			abort();
		if (m->body_len)
			memcpy(m->body, b->str, m->body_len);
		m->attempts = (int)el_int(rep, i + 4);
		m->driver = (int)el_int(rep, i + 5);
		m->expires_ms = el_int(rep, i + 6);
	}
	freeReplyObject(rep);
	*n = k;
	return 0;
}

/* Keys and the first arguments of a settling script: message id, lease. */
static void settle_args(struct otp_redis_args *a, int64_t id, int lease,
			int64_t now)
{
	args_init(a);
	key_msg(a, id);
	add_member(a, id);
	add_int(a, lease);
	add_int(a, now);
}

static int ack(struct otp_store *s, int64_t id, int lease, int64_t now)
{
	struct otp_redis_args a;
	settle_args(&a, id, lease, now);
	return run_word(cast(s), OTP_RS_ACK, 1, &a);
}

static int retry(struct otp_store *s, int64_t id, int lease, int64_t next_ms,
		 int driver, const char *error, int64_t now)
{
	if (driver < 0)
		return OTP_EINTERNAL;
	struct otp_redis_args a;
	settle_args(&a, id, lease, now);
	add_int(&a, next_ms);
	add_int(&a, driver);
	add_error(&a, error);
	return run_word(cast(s), OTP_RS_RETRY, 1, &a);
}

static int fail(struct otp_store *s, int64_t id, int lease,
		enum otp_msg_state state, const char *error, int64_t now)
{
	if (state != OTP_MSG_FAILED && state != OTP_MSG_EXPIRED)
		return OTP_EINTERNAL;
	struct otp_redis_args a;
	settle_args(&a, id, lease, now);
	add_str(&a, otp_msg_state_names[state], 16);
	add_error(&a, error);
	return run_word(cast(s), OTP_RS_FAIL, 1, &a);
}

static int report(struct otp_store *s, int64_t id, enum otp_msg_state state,
		  int64_t now)
{
	if (state != OTP_MSG_DELIVERED && state != OTP_MSG_UNDELIVERED)
		return OTP_EINTERNAL;
	struct otp_redis_args a;
	args_init(&a);
	key_msg(&a, id);
	add_member(&a, id);
	add_str(&a, otp_msg_state_names[state], 16);
	add_int(&a, now);
	return run_word(cast(s), OTP_RS_REPORT, 1, &a);
}

static int requeue(struct otp_store *s, int64_t id, int64_t now)
{
	struct otp_redis_args a;
	args_init(&a);
	key_msg(&a, id);
	add_member(&a, id);
	add_int(&a, now);
	return run_word(cast(s), OTP_RS_REQUEUE, 1, &a);
}

static int list_msgs(struct otp_store *s, int state, struct otp_msg_info *out,
		     size_t max, size_t *n)
{
	*n = 0;
	if (state >= (int)COUNT(otp_msg_state_names))
		return OTP_EINTERNAL;
	if (max == 0)
		return 0;
	struct otp_redis_args a;
	args_init(&a);
	if (state >= 0)
		add_fmt(&a, OB "st:%s", otp_msg_state_names[state]);
	else
		add_str(&a, OB "ids", sizeof OB "ids");
	add_int(&a, max > INT32_MAX ? INT32_MAX : (int64_t)max);
	redisReply *rep;
	int rc = run(cast(s), OTP_RS_LIST, 1, &a, &rep);
	if (rc)
		return rc;
	size_t k = 0;
	for (size_t i = 1; i + 10 <= rep->elements && k < max; i += 10) {
		struct otp_msg_info *m = &out[k++];
		memset(m, 0, sizeof *m);
		m->id = el_int(rep, i);
		el_str(rep, i + 1, m->request_id, sizeof m->request_id);
		el_str(rep, i + 2, m->to, sizeof m->to);
		int st = el_state(rep, i + 3, otp_msg_state_names,
				  COUNT(otp_msg_state_names));
		if (st < 0)
			rc = OTP_EINTERNAL;
		m->state = st < 0 ? OTP_MSG_QUEUED : (enum otp_msg_state)st;
		m->attempts = (int)el_int(rep, i + 4);
		m->driver = (int)el_int(rep, i + 5);
		m->next_ms = el_int(rep, i + 6);
		m->expires_ms = el_int(rep, i + 7);
		m->updated_ms = el_int(rep, i + 8);
		el_str(rep, i + 9, m->last_error, sizeof m->last_error);
	}
	freeReplyObject(rep);
	if (rc == 0)
		*n = k;
	return rc;
}

static int get_state(struct otp_store *s, const char *request_id,
		     enum otp_msg_state *state)
{
	struct otp_redis_args a;
	args_init(&a);
	add_fmt(&a, OB "r:%.*s", OTP_ID_LEN, request_id);
	redisReply *rep;
	int rc = run(cast(s), OTP_RS_STATE, 1, &a, &rep);
	if (rc)
		return rc;
	int i =
	    el_state(rep, 1, otp_msg_state_names, COUNT(otp_msg_state_names));
	if (said(rep, "notfound"))
		rc = OTP_ENOTFOUND;
	else if (!said(rep, "ok") || i < 0)
		rc = OTP_EINTERNAL;
	else
		*state = (enum otp_msg_state)i;
	freeReplyObject(rep);
	return rc;
}

/* ---- purge ---- */

/* Runs the key purge on one SCAN batch; adds what it deleted to *count. */
static int purge_batch(struct rd *r, const redisReply *keys, int64_t now,
		       long *count)
{
	size_t cap = OTP_REDIS_ARGS_FIRST + keys->elements + 1;
	const char **v = malloc(cap * sizeof *v);
	size_t *len = malloc(cap * sizeof *len);
	char when[24];
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
	snprintf(when, sizeof when, "%lld", (long long)now);
	v[argc] = when;
	len[argc++] = strlen(when);
	redisReply *rep;
	int rc = otp_redis_eval(&r->conn, OTP_RS_PURGE_KEYS, nkeys, argc, v,
				len, &rep);
	if (rc == 0) {
		*count += (long)el_int(rep, 1);
		freeReplyObject(rep);
	}
	free(v);
	free(len);
	return rc;
}

/* Redis drops expired keys by itself, on its own clock; this does it on
 * the caller's, as the interface says: codes, sessions, idempotency keys
 * and limits found by SCAN (one pass, in batches), then messages by the
 * outbox's expiry index. A purge is many round trips, each atomic. */
static int purge(struct otp_store *s, int64_t now, long *removed)
{
	struct rd *r = cast(s);
	long count = 0;
	*removed = 0;
	char cursor[32] = "0";
	do {
		struct otp_redis_args a;
		args_init(&a);
		add_str(&a, "SCAN", 5);
		add_str(&a, cursor, sizeof cursor);
		add_str(&a, "MATCH", 6);
		add_str(&a, "otp:{[csil]:*", 16);
		add_str(&a, "COUNT", 6);
		add_str(&a, SCAN_COUNT, sizeof SCAN_COUNT);
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
		rc = keys->elements ? purge_batch(r, keys, now, &count) : 0;
		freeReplyObject(rep);
		if (rc)
			return rc;
	} while (strcmp(cursor, "0") != 0);

	for (;;) {
		struct otp_redis_args a;
		args_init(&a);
		add_str(&a, OB "exp", sizeof OB "exp");
		add_int(&a, now - 24LL * 60 * 60 * 1000);
		add_str(&a, PURGE_BATCH, sizeof PURGE_BATCH);
		redisReply *rep;
		int rc = run(r, OTP_RS_PURGE_OUTBOX, 1, &a, &rep);
		if (rc)
			return rc;
		int64_t seen = el_int(rep, 1);
		count += (long)el_int(rep, 2);
		freeReplyObject(rep);
		if (seen < PURGE_BATCH_N)
			break;
	}
	*removed = count;
	return 0;
}

const struct otp_store_ops otp_store_redis_ops = {
    .name = "redis",
    .scheme = "redis://",
    .version = 2,
    .caps = 0,
    .open = open_rd,
    .close = close_rd,
    .ping = ping,
    .code_issue = issue,
    .code_get = code_info,
    .code_verify = verify,
    .limit_take = take,
    .session_get = get_session,
    .session_bind = session_bind,
    .session_rotate = session_rotate,
    .session_delete = delete_session,
    .apikey_put = key_put,
    .apikey_get = key_get,
    .apikey_list = key_list,
    .apikey_revoke = key_revoke,
    .outbox_claim = claim,
    .outbox_ack = ack,
    .outbox_retry = retry,
    .outbox_fail = fail,
    .outbox_report = report,
    .outbox_requeue = requeue,
    .outbox_list = list_msgs,
    .outbox_state = get_state,
    .purge = purge,
};
