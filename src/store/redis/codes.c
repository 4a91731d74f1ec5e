/* codes.c - the Redis store's code operations: issue (with its message,
 * idempotency key, session binding, limits and signals, one script), get
 * (a status read, one round trip) and verify (with session rotation and
 * the accepted code's credit, one script).
 * Not here: the scripts' text (scripts.c), the TTL and attempt policy
 * (the engine), the limits on their own (limits.c).
 */
#include "store/redis/redis.h"

int otp_redis_code_issue(struct otp_store *s, const struct otp_issue *in,
			 int64_t now, struct otp_issue_out *out)
{
	struct rd *r = cast(s);
	const struct otp_code_new *c = &in->code;
	memset(out, 0, sizeof *out);
	if (in->nlimits > OTP_REDIS_LIMITS_MAX ||
	    in->nsignals > OTP_REDIS_SIGNALS_MAX)
		return OTP_EINTERNAL;
	struct otp_redis_args a;
	args_init(&a);
	key_code(&a, c->id);
	add_fmt(&a, "otp:{p:%.*s:%.*s}", OTP_SEALED_PHONE_MAX - 1, c->phone,
		OTP_OWNER_MAX - 1, c->owner);
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
	for (size_t i = 0; i < in->nsignals; i++)
		key_signal(&a, in->signals[i].key);
	add_int(&a, now);
	add_str(&a, c->id, OTP_ID_LEN + 1);
	add_str(&a, c->phone, OTP_SEALED_PHONE_MAX);
	add_bin(&a, c->mac, OTP_MAC_LEN);
	add_int(&a, c->attempts);
	add_int(&a, c->expires_ms);
	add_bin(&a, in->body ? (const void *)in->body : "",
		in->body ? in->body_len : 0);
	add_str(&a, in->idem ? "1" : "0", 2);
	add_int(&a, in->idem ? in->idem->expires_ms : 0);
	add_str(&a, in->bind ? "1" : "0", 2);
	add_int(&a, in->bind ? in->bind->expires_ms : 0);
	add_str(&a, c->owner, OTP_OWNER_MAX);
	add_str(&a, c->credit, OTP_CREDIT_MAX);
	add_int(&a, (int64_t)in->nlimits);
	add_signal_time(&a, now);
	add_int(&a, in->body ? in->lease_ms : 0);
	for (size_t i = 0; i < in->nlimits; i++) {
		add_int(&a, in->limits[i].rate.interval_ms);
		add_int(&a, in->limits[i].rate.burst);
	}
	for (size_t i = 0; i < in->nsignals; i++)
		add_signal(&a, &in->signals[i]);

	redisReply *rep;
	int rc = run(r, OTP_RS_ISSUE,
		     5 + (int)in->nlimits + 2 * (int)in->nsignals, &a, &rep);
	if (rc)
		return rc;
	if (said(rep, "limited")) {
		rc = OTP_ELIMITED;
		out->retry_ms = el_int(rep, 1);
		out->limit = (int)el_int(rep, 2);
	} else if (said(rep, "ok") || said(rep, "replayed")) {
		out->replayed = said(rep, "replayed");
		el_str(rep, 1, out->id, sizeof out->id);
		out->expires_ms = el_int(rep, 2);
		if (!out->replayed)
			out->msg_id = el_int(rep, 3);
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
int otp_redis_code_get(struct otp_store *s, const char *id,
		       struct otp_code_info *out)
{
	struct rd *r = cast(s);
	memset(out, 0, sizeof *out);
	struct otp_redis_args a, b;
	args_init(&a);
	add_str(&a, "HMGET", 6);
	key_code(&a, id);
	static const char *const fields[] = {"p", "s", "l", "c", "e", "o"};
	add_words(&a, fields, COUNT(fields));
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
		if (has(code, 5))
			el_str(code, 5, out->owner, sizeof out->owner);
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

int otp_redis_code_verify(struct otp_store *s, const struct otp_verify_in *in,
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
	add_str(&a, in->expect_phone, OTP_SEALED_PHONE_MAX);
	add_str(&a, in->rotate ? "1" : "0", 2);
	add_int(&a, in->session_expires_ms);
	add_str(&a, in->expect_owner, OTP_OWNER_MAX);
	if (in->has_mac_prev)
		add_bin(&a, in->mac_prev, OTP_MAC_LEN);
	else
		add_bin(&a, "", 0);
	add_signal_time(&a, now);

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
