/* outbox.c - the Redis store's outbox: claiming due messages under a
 * lease, settling them (ack, alone or several with the next claim; retry,
 * fail), delivery reports, requeue,
 * listing and a message's state, each one script in the outbox's slot.
 * Not here: the retry schedule and the workers (src/outbox/), purging
 * old messages (purge.c).
 */
#include "store/redis/redis.h"

/* The first three fields of a message record: id, request id, number. */
#define MSG_HEAD(rep, i, m)                                                    \
	((m)->id = el_int(rep, i),                                             \
	 el_str(rep, (i) + 1, (m)->request_id, sizeof(m)->request_id),         \
	 el_str(rep, (i) + 2, (m)->to, sizeof(m)->to))

static int claimed(const redisReply *rep, size_t i, size_t k, void *ctx)
{
	struct otp_msg *m = (struct otp_msg *)ctx + k;
	memset(m, 0, sizeof *m);
	MSG_HEAD(rep, i, m);
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
	m->created_ms = el_int(rep, i + 7);
	return 0;
}

int otp_redis_outbox_claim(struct otp_store *s, int64_t now, int64_t lease_ms,
			   struct otp_msg *out, size_t max, size_t *n)
{
	struct otp_redis_args a;
	args_init(&a);
	add_str(&a, OB "due", sizeof OB "due");
	add_int(&a, now);
	add_int(&a, lease_ms);
	return otp_redis_list(s, OTP_RS_CLAIM, &a, max, 8, claimed, out, n);
}

/* Acks in one script: what the arguments have room for. */
#define ACKS_MAX ((OTP_REDIS_ARGS_MAX - OTP_REDIS_ARGS_FIRST - 4) / 2)

int otp_redis_outbox_ack_claim(struct otp_store *s, struct otp_ack *acks,
			       size_t n, int64_t now, int64_t lease_ms,
			       struct otp_msg *out, size_t max, size_t *nout)
{
	*nout = 0;
	if (n > ACKS_MAX)
		return OTP_EINTERNAL;
	if (n == 0 && max == 0)
		return 0;
	struct otp_redis_args a;
	args_init(&a);
	add_str(&a, OB "due", sizeof OB "due");
	add_int(&a, now);
	add_int(&a, lease_ms);
	add_int(&a, max > INT32_MAX ? INT32_MAX : (int64_t)max);
	for (size_t i = 0; i < n; i++) {
		add_member(&a, acks[i].id);
		add_int(&a, acks[i].lease);
	}
	redisReply *rep;
	int rc = run(cast(s), OTP_RS_ACK_CLAIM, 1, &a, &rep);
	if (rc)
		return rc;
	if (!said(rep, "ok") || rep->elements < 1 + n) {
		freeReplyObject(rep);
		return OTP_EINTERNAL;
	}
	for (size_t i = 0; i < n; i++) {
		char w[16] = "";
		el_str(rep, 1 + i, w, sizeof w);
		acks[i].rc = strcmp(w, "ok") == 0 ? 0 : OTP_ENOTFOUND;
	}
	size_t k = 0;
	for (size_t i = 1 + n; i + 8 <= rep->elements && k < max; i += 8)
		claimed(rep, i, k++, out);
	freeReplyObject(rep);
	*nout = k;
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

int otp_redis_outbox_ack(struct otp_store *s, int64_t id, int lease,
			 int64_t now)
{
	struct otp_redis_args a;
	settle_args(&a, id, lease, now);
	return otp_redis_run_word(cast(s), OTP_RS_ACK, 1, &a);
}

int otp_redis_outbox_retry(struct otp_store *s, int64_t id, int lease,
			   int64_t next_ms, int driver, const char *error,
			   int64_t now)
{
	if (driver < 0)
		return OTP_EINTERNAL;
	struct otp_redis_args a;
	settle_args(&a, id, lease, now);
	add_int(&a, next_ms);
	add_int(&a, driver);
	add_error(&a, error);
	return otp_redis_run_word(cast(s), OTP_RS_RETRY, 1, &a);
}

int otp_redis_outbox_fail(struct otp_store *s, int64_t id, int lease,
			  enum otp_msg_state state, const char *error,
			  int64_t now)
{
	if (state != OTP_MSG_FAILED && state != OTP_MSG_EXPIRED)
		return OTP_EINTERNAL;
	struct otp_redis_args a;
	settle_args(&a, id, lease, now);
	add_str(&a, otp_msg_state_names[state], 16);
	add_error(&a, error);
	return otp_redis_run_word(cast(s), OTP_RS_FAIL, 1, &a);
}

int otp_redis_outbox_report(struct otp_store *s, int64_t id,
			    enum otp_msg_state state, int64_t now)
{
	if (state != OTP_MSG_DELIVERED && state != OTP_MSG_UNDELIVERED)
		return OTP_EINTERNAL;
	struct otp_redis_args a;
	args_init(&a);
	key_msg(&a, id);
	add_member(&a, id);
	add_str(&a, otp_msg_state_names[state], 16);
	add_int(&a, now);
	return otp_redis_run_word(cast(s), OTP_RS_REPORT, 1, &a);
}

int otp_redis_outbox_requeue(struct otp_store *s, int64_t id, int64_t now)
{
	struct otp_redis_args a;
	args_init(&a);
	key_msg(&a, id);
	add_member(&a, id);
	add_int(&a, now);
	return otp_redis_run_word(cast(s), OTP_RS_REQUEUE, 1, &a);
}

/* Shared by several processes: another one's claim may be live, and the
 * lease is what tells. */
int otp_redis_outbox_reclaim(struct otp_store *s, int64_t now, long *n)
{
	(void)s;
	(void)now;
	*n = 0;
	return 0;
}

static int listed(const redisReply *rep, size_t i, size_t k, void *ctx)
{
	struct otp_msg_info *m = (struct otp_msg_info *)ctx + k;
	memset(m, 0, sizeof *m);
	MSG_HEAD(rep, i, m);
	int st = el_state(rep, i + 3, otp_msg_state_names,
			  COUNT(otp_msg_state_names));
	m->state = st < 0 ? OTP_MSG_QUEUED : (enum otp_msg_state)st;
	m->attempts = (int)el_int(rep, i + 4);
	m->driver = (int)el_int(rep, i + 5);
	m->next_ms = el_int(rep, i + 6);
	m->expires_ms = el_int(rep, i + 7);
	m->updated_ms = el_int(rep, i + 8);
	el_str(rep, i + 9, m->last_error, sizeof m->last_error);
	return st < 0 ? OTP_EINTERNAL : 0;
}

int otp_redis_outbox_list(struct otp_store *s, int state,
			  struct otp_msg_info *out, size_t max, size_t *n)
{
	*n = 0;
	if (state >= (int)COUNT(otp_msg_state_names))
		return OTP_EINTERNAL;
	struct otp_redis_args a;
	args_init(&a);
	if (state >= 0)
		add_fmt(&a, OB "st:%s", otp_msg_state_names[state]);
	else
		add_str(&a, OB "ids", sizeof OB "ids");
	return otp_redis_list(s, OTP_RS_LIST, &a, max, 10, listed, out, n);
}

int otp_redis_outbox_state(struct otp_store *s, const char *request_id,
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
