/* reseal.c - phones_reseal on Redis (store.h): codes, sessions,
 * idempotency keys and outbox messages found by SCAN, a batch at a time:
 * one script reads the phones not yet under the mark, the engine's fn
 * makes their new text here, a second script writes each one that has
 * not changed in between (a code's index by phone moves with it). The
 * mark is recorded in otp:{meta}:phones once every batch is done.
 * Each batch is atomic, not the whole pass: a pass cut short is simply
 * run again at the next start (what it did stays done).
 */
#include "store/redis/redis.h"

#define META	   "otp:{meta}:phones"
#define SCAN_COUNT "500"

/* Arguments of one script call: the slots conn.c fills first, then ours. */
struct argv {
	const char **v;
	size_t *len, n;
};

static void argv_init(struct argv *a, size_t cap)
{
	a->v = malloc(cap * sizeof *a->v);
	a->len = malloc(cap * sizeof *a->len);
	if (!a->v || !a->len)
		abort();
	a->n = OTP_REDIS_ARGS_FIRST;
}

static void push(struct argv *a, const char *s, size_t len)
{
	a->v[a->n] = s;
	a->len[a->n++] = len;
}

static void argv_free(struct argv *a)
{
	free(a->v);
	free(a->len);
}

/* Rewrites what reseal_read answered (key, field, value triples). */
static int write_back(struct rd *r, const redisReply *rep, otp_reseal_fn *fn,
		      void *arg, long *n)
{
	size_t count = (rep->elements - 1) / 3;
	char(*fresh)[OTP_SEALED_PHONE_MAX] = malloc(count * sizeof *fresh);
	struct argv a;
	if (!fresh)
		abort();
	argv_init(&a, OTP_REDIS_ARGS_FIRST + 4 * count);
	int rc = 0;
	for (size_t i = 0; i < count && rc == 0; i++) {
		const redisReply *k = rep->element[1 + 3 * i];
		if (k->type != REDIS_REPLY_STRING)
			rc = OTP_EINTERNAL;
		else
			push(&a, k->str, k->len);
	}
	for (size_t i = 0; i < count && rc == 0; i++) {
		const redisReply *f = rep->element[2 + 3 * i];
		const redisReply *v = rep->element[3 + 3 * i];
		if (f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING ||
		    v->len >= OTP_SEALED_PHONE_MAX) {
			rc = OTP_EINTERNAL;
			break;
		}
		rc = fn(arg, v->str, fresh[i]);
		push(&a, f->str, f->len);
		push(&a, v->str, v->len);
		push(&a, fresh[i], strlen(fresh[i]));
	}
	redisReply *out;
	if (rc == 0)
		rc = otp_redis_eval(&r->conn, OTP_RS_RESEAL_WRITE, (int)count,
				    (int)a.n, a.v, a.len, &out);
	if (rc == 0) {
		*n += (long)el_int(out, 1);
		freeReplyObject(out);
	}
	argv_free(&a);
	free(fresh);
	return rc;
}

struct pass {
	const char *mark;
	otp_reseal_fn *fn;
	void *arg;
	long n;
};

static int batch(struct rd *r, const redisReply *keys, void *ctx)
{
	struct pass *p = ctx;
	const char *mark = p->mark;
	struct argv a;
	argv_init(&a, OTP_REDIS_ARGS_FIRST + keys->elements + 1);
	for (size_t i = 0; i < keys->elements; i++)
		if (keys->element[i]->type == REDIS_REPLY_STRING)
			push(&a, keys->element[i]->str, keys->element[i]->len);
	int nkeys = (int)a.n - OTP_REDIS_ARGS_FIRST;
	push(&a, mark, strlen(mark));
	redisReply *rep;
	int rc = otp_redis_eval(&r->conn, OTP_RS_RESEAL_READ, nkeys, (int)a.n,
				a.v, a.len, &rep);
	argv_free(&a);
	if (rc)
		return rc;
	if (rep->elements > 1)
		rc = write_back(r, rep, p->fn, p->arg, &p->n);
	freeReplyObject(rep);
	return rc;
}

/* Sends a plain command of two or three words; 0 with the reply in *out. */
static int meta(struct rd *r, const char *verb, const char *value,
		redisReply **out)
{
	struct otp_redis_args a;
	args_init(&a);
	add_str(&a, verb, 8);
	add_str(&a, META, sizeof META);
	if (value)
		add_str(&a, value, OTP_SEALED_PHONE_MAX);
	return cmd(r, &a, out);
}

int otp_redis_phones_reseal(struct otp_store *s, const char *mark,
			    otp_reseal_fn *fn, void *arg, long *n)
{
	static const char *const patterns[] = {"otp:{[csi]:*", OB "m:*"};
	struct rd *r = cast(s);
	redisReply *rep;
	*n = 0;
	int rc = meta(r, "GET", NULL, &rep);
	if (rc)
		return rc;
	bool done =
	    rep->type == REDIS_REPLY_STRING && strcmp(rep->str, mark) == 0;
	freeReplyObject(rep);
	struct pass p = {mark, fn, arg, 0};
	for (size_t i = 0; !done && rc == 0 && i < COUNT(patterns); i++)
		rc = otp_redis_scan(r, patterns[i], SCAN_COUNT, batch, &p);
	*n = p.n;
	if (!done && rc == 0 && (rc = meta(r, "SET", mark, &rep)) == 0)
		freeReplyObject(rep);
	return rc;
}
