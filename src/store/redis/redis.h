/* redis.h - what the files of the Redis store share (internal to
 * src/store/redis/): the handle, building a command's arguments and key
 * names, reading a script's reply, and one prototype per store operation
 * for the ops table in store.c. The helpers are static inline so that
 * the hot paths compile as they did in one file.
 *
 * The key layout and the slots are described in store.c; the connection
 * lives in conn.h, the scripts in scripts.h. Nothing outside
 * src/store/redis/ includes this header: the rest of otpd sees only
 * otp_store_redis_ops (store.c in src/store/).
 */
#ifndef OTP_STORE_REDIS_REDIS_H
#define OTP_STORE_REDIS_REDIS_H

#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/utf8.h"
#include "store/redis/conn.h"
#include "store/signal_window.h"
#include "store/store.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define OB OTP_REDIS_OUTBOX

extern const struct otp_store_ops otp_store_redis_ops;

/* ---- the handle, and the arguments of a command ---- */

/* base comes first: a struct otp_store * is a struct rd *. */
struct rd {
	struct otp_store base;
	struct otp_redis conn;
};

static inline struct rd *cast(struct otp_store *s)
{
	return (struct rd *)s;
}

static inline void args_init(struct otp_redis_args *a)
{
	a->n = OTP_REDIS_ARGS_FIRST;
}

static inline void add_bin(struct otp_redis_args *a, const void *p, size_t len)
{
	if (a->n >= OTP_REDIS_ARGS_MAX)
		abort(); /* sized for our own commands: a bug */
	a->v[a->n] = p;
	a->len[a->n++] = len;
}

/* A NUL-terminated field of at most max - 1 bytes. */
static inline void add_str(struct otp_redis_args *a, const char *t, size_t max)
{
	add_bin(a, t, strnlen(t, max - 1));
}

/* Each of the n words (literals: the fields an HMGET names). */
static inline void add_words(struct otp_redis_args *a, const char *const *w,
			     size_t n)
{
	for (size_t i = 0; i < n; i++)
		add_bin(a, w[i], strlen(w[i]));
}

static inline void add_fmt(struct otp_redis_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void add_fmt(struct otp_redis_args *a, const char *fmt, ...)
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

static inline void add_int(struct otp_redis_args *a, int64_t v)
{
	add_fmt(a, "%lld", (long long)v);
}

static inline void add_member(struct otp_redis_args *a, int64_t id)
{
	add_fmt(a, "%016lld", (long long)id);
}

static inline void key_code(struct otp_redis_args *a, const char *id)
{
	add_fmt(a, "otp:{c:%.*s}", OTP_ID_LEN, id);
}

/* A session's key is this, its token hash in hex, and "}" (tracking.c
 * reads the hash back from the names Redis sends). */
#define OTP_REDIS_SESSION_PREFIX "otp:{s:"

static inline void key_session(struct otp_redis_args *a,
			       const unsigned char hash[OTP_HASH_LEN])
{
	char hex[2 * OTP_HASH_LEN + 1];
	sodium_bin2hex(hex, sizeof hex, hash, OTP_HASH_LEN);
	add_fmt(a, OTP_REDIS_SESSION_PREFIX "%s}", hex);
}

static inline void key_msg(struct otp_redis_args *a, int64_t id)
{
	add_fmt(a, OB "m:%lld", (long long)id);
}

static inline void key_apikey(struct otp_redis_args *a, const char *id)
{
	add_fmt(a, "otp:{keys}:k:%.*s", OTP_KEY_ID_LEN, id);
}

/* A signal key's two keys: its buckets' hash and its set's zset, one
 * hash tag. */
static inline void key_signal(struct otp_redis_args *a, const char *key)
{
	add_fmt(a, "otp:{g:%.*s}", OTP_SIGNAL_KEY_MAX - 1, key);
	add_fmt(a, "otp:{g:%.*s}:m", OTP_SIGNAL_KEY_MAX - 1, key);
}

/* A script's keys for up to OTP_REDIS_SIGNALS_MAX of the abuse module's
 * keys, each through key (key_signal, or a block's): 0, or
 * OTP_EINTERNAL for more. */
static inline int keys_of(struct otp_redis_args *a, const char *const *keys,
			  size_t n,
			  void (*key)(struct otp_redis_args *a, const char *k))
{
	if (n > OTP_REDIS_SIGNALS_MAX)
		return OTP_EINTERNAL;
	args_init(a);
	for (size_t i = 0; i < n; i++)
		key(a, keys[i]);
	return 0;
}

/* The hour and the day of now (store/signal_window.h): a script that
 * adds to signals takes them, computing no time of its own. */
static inline void add_signal_time(struct otp_redis_args *a, int64_t now)
{
	add_int(a, otp_sig_hour(now));
	add_int(a, otp_sig_day(now));
}

/* An add's arguments after its keys: sent, verified, member. */
static inline void add_signal(struct otp_redis_args *a,
			      const struct otp_signal_add *s)
{
	add_int(a, s->n[OTP_SIG_SENT]);
	add_int(a, s->n[OTP_SIG_VERIFIED]);
	add_str(a, s->member, OTP_SIGNAL_MEMBER_MAX);
}

/* An error text cut to OTP_ERROR_TEXT_MAX - 1 bytes, never inside a UTF-8
 * sequence. */
static inline void add_error(struct otp_redis_args *a, const char *error)
{
	if (!error)
		error = "";
	size_t n = otp_utf8_cut(error, OTP_ERROR_TEXT_MAX - 1);
	add_bin(a, error, n);
}

static inline int cmd(struct rd *r, struct otp_redis_args *a, redisReply **out)
{
	return otp_redis_cmd(&r->conn, a, out);
}

static inline int run(struct rd *r, enum otp_redis_script sc, int nkeys,
		      struct otp_redis_args *a, redisReply **out)
{
	return otp_redis_eval(&r->conn, sc, nkeys, a->n, a->v, a->len, out);
}

/* ---- reading replies ---- */

static inline const redisReply *el(const redisReply *rep, size_t i)
{
	if (rep->type != REDIS_REPLY_ARRAY || i >= rep->elements)
		return NULL;
	return rep->element[i];
}

/* The status word a script answers first. */
static inline bool said(const redisReply *rep, const char *word)
{
	const redisReply *e = el(rep, 0);
	return e && e->type == REDIS_REPLY_STRING && strcmp(e->str, word) == 0;
}

static inline bool has(const redisReply *rep, size_t i)
{
	const redisReply *e = el(rep, i);
	return e && (e->type == REDIS_REPLY_STRING ||
		     e->type == REDIS_REPLY_INTEGER);
}

static inline int64_t el_int(const redisReply *rep, size_t i)
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

static inline void el_str(const redisReply *rep, size_t i, char *dst,
			  size_t cap)
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
static inline int el_state(const redisReply *rep, size_t i,
			   const char *const *names, size_t count)
{
	const redisReply *e = el(rep, i);
	for (size_t k = 0; e && e->type == REDIS_REPLY_STRING && k < count; k++)
		if (strcmp(e->str, names[k]) == 0)
			return (int)k;
	return -1;
}

/* The common ending of a script whose answer is only a word: "ok" is 0,
 * "notfound", "gone" and "conflict" their errors, anything else a fault. */
int otp_redis_run_word(struct rd *r, enum otp_redis_script sc, int nkeys,
		       struct otp_redis_args *a);

/* Runs listing script sc (API keys, claim, list) on its one key, ARGV max
 * last (capped to INT32_MAX), and hands each record of `width` elements
 * after the status word to each(rep, i, k, ctx): i its first element, k
 * its rank, at most max of them. Answers 0 with *n records, or the
 * failure of the call or of a record (then *n is 0). */
int otp_redis_list(struct otp_store *s, enum otp_redis_script sc,
		   struct otp_redis_args *a, size_t max, size_t width,
		   int (*each)(const redisReply *rep, size_t i, size_t k,
			       void *ctx),
		   void *ctx, size_t *n);

/* One SCAN pass over the keys matching pattern, COUNT count at a time:
 * each(r, keys, ctx) for each batch that is not empty (keys: the reply's
 * array of key names). 0, or the first error of SCAN or of each. */
int otp_redis_scan(struct rd *r, const char *pattern, const char *count,
		   int (*each)(struct rd *r, const redisReply *keys, void *ctx),
		   void *ctx);

/* Runs script sc with the string keys of a SCAN batch as its KEYS and one
 * ARGV, `arg`: 0 with the reply's second element (a count) into *count,
 * or the call's error. */
int otp_redis_eval_batch(struct rd *r, enum otp_redis_script sc,
			 const redisReply *keys, const char *arg,
			 int64_t *count);
/* The same with nargs ARGV (NUL-terminated texts). */
int otp_redis_eval_batch_args(struct rd *r, enum otp_redis_script sc,
			      const redisReply *keys, const char *const *args,
			      size_t nargs, int64_t *count);

/* purge's passes over the signal keys (signals.c) and the ended blocks
 * (blocks.c), on the caller's clock: 0 or an error, adding what they
 * removed to *count. */
int otp_redis_signals_purge(struct rd *r, int64_t now, long *count);
int otp_redis_blocks_purge(struct rd *r, int64_t now, long *count);

/* Plain read commands for otp_redis_reads (conn.h), added one at a time:
 * at most OTP_REDIS_READS of them with OTP_REDIS_READ_ARGS arguments in
 * all (more is a bug: abort). The arguments are NUL-terminated texts of
 * the caller's (keys made in an otp_redis_args, literals) that outlive
 * the call. */
#define OTP_REDIS_READS	    (5 * OTP_REDIS_SIGNALS_MAX)
#define OTP_REDIS_READ_ARGS (20 * OTP_REDIS_SIGNALS_MAX)
struct otp_redis_reads {
	int n, nv;
	int argc[OTP_REDIS_READS];
	const char *v[OTP_REDIS_READ_ARGS];
	size_t len[OTP_REDIS_READ_ARGS];
};

static inline void read_cmd(struct otp_redis_reads *q, int argc,
			    const char *const *w)
{
	if (q->n >= OTP_REDIS_READS || q->nv + argc > OTP_REDIS_READ_ARGS)
		abort();
	for (int i = 0; i < argc; i++) {
		q->v[q->nv] = w[i];
		q->len[q->nv++] = strlen(w[i]);
	}
	q->argc[q->n++] = argc;
}

static inline int reads(struct rd *r, struct otp_redis_reads *q,
			redisReply **reps)
{
	return otp_redis_reads(&r->conn, q->n, q->argc, q->v, q->len, reps);
}

static inline void free_replies(redisReply **reps, int n)
{
	for (int i = 0; i < n; i++)
		freeReplyObject(reps[i]);
}

/* block_find's reads (blocks.c): an HMGET of each of n rows, its keys
 * made in k; and their replies read into out (*nout rows), for
 * abuse_read (signals.c) too. */
int otp_redis_block_reads(struct otp_redis_reads *q, struct otp_redis_args *k,
			  const char *const *keys, size_t n);
int otp_redis_block_rows(redisReply *const *rep, const char *const *keys,
			 size_t n, struct otp_block *out, size_t *nout);

/* ---- the operations, one file per domain ---- */

/* otp_redis_<op> for each of OTP_STORE_OPS (ping included). */
#define OTP_REDIS_DECL_(op, params, args) int otp_redis_##op params;
OTP_STORE_OPS(OTP_REDIS_DECL_)
#undef OTP_REDIS_DECL_

#endif
