/* limits.c - the Redis store's rate limits: limit_take runs GCRA on one
 * or more keys in one script, all or nothing; limit_give hands a token
 * back; limit_get reads one key's TAT (one GET). Not here: the limits taken
 * with an issue (codes.c, in the issue script), which limits apply (the
 * engine).
 */
#include "store/redis/redis.h"

/* Runs script sc over the n limits (keys, then now, interval and burst of
 * each): 0 with *rep, 0 with *rep NULL when none has a rate, or an error. */
static int run_limits(struct otp_store *s, enum otp_redis_script sc,
		      const struct otp_limit *lims, size_t n, int64_t now,
		      redisReply **rep)
{
	size_t live = 0;
	*rep = NULL;
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
	return run(cast(s), sc, (int)n, &a, rep);
}

int otp_redis_limit_take(struct otp_store *s, const struct otp_limit *lims,
			 size_t n, int64_t now, int64_t *retry_ms)
{
	redisReply *rep;
	if (retry_ms)
		*retry_ms = 0;
	int rc = run_limits(s, OTP_RS_LIMIT, lims, n, now, &rep);
	if (rc || !rep)
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

int otp_redis_limit_give(struct otp_store *s, const struct otp_limit *lims,
			 size_t n, int64_t now)
{
	redisReply *rep;
	int rc = run_limits(s, OTP_RS_GIVE, lims, n, now, &rep);
	if (rc || !rep)
		return rc;
	if (!said(rep, "ok"))
		rc = OTP_EINTERNAL;
	freeReplyObject(rep);
	return rc;
}

int otp_redis_limit_get(struct otp_store *s, const char *key, int64_t now,
			int64_t *tat)
{
	struct otp_redis_args a;
	args_init(&a);
	add_str(&a, "GET", 4);
	add_fmt(&a, "otp:{l:%.*s}", OTP_LIMIT_KEY_MAX - 1, key);
	redisReply *rep;
	*tat = 0;
	int rc = cmd(cast(s), &a, &rep);
	if (rc)
		return rc;
	if (rep->type == REDIS_REPLY_STRING)
		*tat = strtoll(rep->str, NULL, 10);
	freeReplyObject(rep);
	return *tat > now ? 0 : OTP_ENOTFOUND;
}
