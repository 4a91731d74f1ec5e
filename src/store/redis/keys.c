/* keys.c - the Redis store's API keys: put, get, list, revoke and replace,
 * each
 * one round trip in the keys' slot (otp:{keys}:...). Not here: key
 * generation and hashing (the handlers and core), scope checks (the
 * engine).
 */
#include "store/redis/redis.h"

/* KEYS and ARGV of key_put (and of key_replace after its own). */
static void put_args(struct otp_redis_args *a, const struct otp_apikey *k)
{
	key_apikey(a, k->id);
	add_str(a, "otp:{keys}:all", 15);
	add_str(a, k->id, OTP_KEY_ID_LEN + 1);
	add_str(a, k->name, OTP_KEY_NAME_MAX);
	add_bin(a, k->hash, OTP_HASH_LEN);
	add_int(a, k->created_ms);
	add_int(a, k->revoked_ms);
}

int otp_redis_apikey_replace(struct otp_store *s, const char *old_id,
			     const struct otp_apikey *k)
{
	struct otp_redis_args a;
	args_init(&a);
	key_apikey(&a, old_id);
	put_args(&a, k);
	add_str(&a, old_id, OTP_KEY_ID_LEN + 1);
	return otp_redis_run_word(cast(s), OTP_RS_KEY_REPLACE, 3, &a);
}

int otp_redis_apikey_put(struct otp_store *s, const struct otp_apikey *k)
{
	struct otp_redis_args a;
	args_init(&a);
	put_args(&a, k);
	return otp_redis_run_word(cast(s), OTP_RS_KEY_PUT, 2, &a);
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

int otp_redis_apikey_get(struct otp_store *s, const char *id,
			 struct otp_apikey *out)
{
	memset(out, 0, sizeof *out);
	struct otp_redis_args a;
	args_init(&a);
	add_str(&a, "HMGET", 6);
	key_apikey(&a, id);
	static const char *const fields[] = {"n", "h", "c", "r"};
	add_words(&a, fields, COUNT(fields));
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

static int key_record(const redisReply *rep, size_t i, size_t k, void *ctx)
{
	struct otp_apikey *key = (struct otp_apikey *)ctx + k;
	memset(key, 0, sizeof *key);
	el_str(rep, i, key->id, sizeof key->id);
	copy_key(rep, i + 1, key);
	return 0;
}

int otp_redis_apikey_list(struct otp_store *s, struct otp_apikey *out,
			  size_t max, size_t *n)
{
	struct otp_redis_args a;
	args_init(&a);
	add_str(&a, "otp:{keys}:all", 15);
	return otp_redis_list(s, OTP_RS_KEY_LIST, &a, max, 5, key_record, out,
			      n);
}

int otp_redis_apikey_revoke(struct otp_store *s, const char *id, int64_t now)
{
	struct otp_redis_args a;
	args_init(&a);
	key_apikey(&a, id);
	add_int(&a, now);
	return otp_redis_run_word(cast(s), OTP_RS_KEY_REVOKE, 1, &a);
}
