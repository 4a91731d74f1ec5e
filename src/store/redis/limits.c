/* limits.c - the Redis store's rate limits: limit_take runs GCRA on one
 * or more keys in one script, all or nothing. Not here: the limits taken
 * with an issue (codes.c, in the issue script), which limits apply (the
 * engine).
 */
#include "store/redis/redis.h"

int otp_redis_limit_take(struct otp_store *s, const struct otp_limit *lims,
			 size_t n, int64_t now, int64_t *retry_ms)
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
