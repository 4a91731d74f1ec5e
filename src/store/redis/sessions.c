/* sessions.c - the Redis store's sessions: get (one HMGET), bind,
 * rotate (one script each), delete (one DEL) and revoke by phone (SCAN). Not
 * here: rotating on a verify (codes.c), session tokens and their hashing (the
 * engine).
 */
#include "store/redis/redis.h"

int otp_redis_session_get(struct otp_store *s,
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
	add_words(&a, fields, COUNT(fields));
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

int otp_redis_session_bind(struct otp_store *s,
			   const struct otp_session_bind *b,
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
	add_str(&a, pending_phone ? pending_phone : "", OTP_SEALED_PHONE_MAX);
	add_str(&a, count_send ? "1" : "0", 2);
	return otp_redis_run_word(cast(s), OTP_RS_BIND, 1, &a);
}

int otp_redis_session_rotate(struct otp_store *s,
			     const unsigned char old_hash[OTP_HASH_LEN],
			     const unsigned char new_hash[OTP_HASH_LEN],
			     const char *phone, int64_t expires_ms, int64_t now)
{
	struct otp_redis_args a;
	args_init(&a);
	key_session(&a, old_hash);
	key_session(&a, new_hash);
	add_int(&a, now);
	add_str(&a, phone, OTP_SEALED_PHONE_MAX);
	add_int(&a, expires_ms);
	return otp_redis_run_word(cast(s), OTP_RS_ROTATE, 2, &a);
}

int otp_redis_session_delete(struct otp_store *s,
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

#define REVOKE_SCAN "1000"

struct revoke {
	const char *phone;
	long count;
};

static int revoke_batch(struct rd *r, const redisReply *keys, void *ctx)
{
	struct revoke *v = ctx;
	int64_t gone = 0;
	int rc =
	    otp_redis_eval_batch(r, OTP_RS_REVOKE_PHONE, keys, v->phone, &gone);
	v->count += (long)gone;
	return rc;
}

/* No index by phone: one SCAN pass over the sessions, a script per batch
 * (each atomic; a session logged in during the pass may stay). */
int otp_redis_session_revoke_phone(struct otp_store *s, const char *phone,
				   long *n)
{
	struct revoke v = {phone, 0};
	*n = 0;
	if (!phone[0])
		return 0;
	int rc =
	    otp_redis_scan(cast(s), "otp:{s:*", REVOKE_SCAN, revoke_batch, &v);
	*n = v.count;
	return rc;
}
