/* codes.c - the SQLite backend's codes: issue (with its idempotency key,
 * limits, queued message, session binding and signals, in one operation),
 * get and verify (crediting the code's signal keys when it is accepted).
 *
 * An issue retires the pending codes of the phone with the same owner and
 * writes the new one with its
 * outbox message; a verify reads the code (and, for a try that names its
 * session, that session's pending id first) on the writer's connection and
 * settles it (used, wrong, dead) in the same operation, rotating the session
 * on success. The session and limit statements they run are sessions.c's
 * and limits.c's; the message's life after it is queued is outbox.c's.
 */
#include <sodium.h>
#include <string.h>

#include "core/err.h"
#include "store/sqlite/sqlite.h"

/* Looks up a live idempotency key: fills out for a replay of the same
 * phone, OTP_ECONFLICT for another phone, 0 with out untouched if none. */
static int idem_find(struct conn *q, const struct otp_idem *k,
		     const char *phone, int64_t now, struct otp_issue_out *out)
{
	sqlite3_stmt *st = q->st[ST_IDEM_GET];
	int rc = otp_sq_row(st, "xi", k->key, now);
	if (rc != 1)
		return rc;
	char first[OTP_SEALED_PHONE_MAX];
	otp_sq_text(st, 1, first, sizeof first);
	if (strncmp(first, phone, OTP_SEALED_PHONE_MAX) == 0) {
		otp_sq_text(st, 0, out->id, sizeof out->id);
		out->expires_ms = sqlite3_column_int64(st, 2);
		out->replayed = true;
	}
	otp_sq_done(st);
	return out->replayed ? 0 : OTP_ECONFLICT;
}

/* Queues the code's message, or writes it claimed by the issuer (its id
 * into *msg_id) when in->lease_ms asks; its id into *row either way. Never
 * NULL for a queued message: NULL means "wiped". */
static int queue_msg(struct conn *q, const struct otp_issue *in, int64_t now,
		     int64_t *msg_id, int64_t *row)
{
	const struct otp_code_new *code = &in->code;
	sqlite3_stmt *st = q->st[ST_MSG_INSERT];
	int rc = in->body ? sqlite3_bind_blob64(st, 3, in->body, in->body_len,
						SQLITE_STATIC)
			  : sqlite3_bind_null(st, 3); /* a test number's */
	if (rc != SQLITE_OK) {
		otp_sq_done(st);
		return OTP_EINTERNAL; /* too big for a blob */
	}
	bool claimed = in->body && in->lease_ms > 0;
	rc = otp_sq_exec(st, "dp_iii", code->id, code->phone, now,
			 code->expires_ms, claimed ? now + in->lease_ms : 0);
	if (rc == 0)
		*row = sqlite3_last_insert_rowid(q->db);
	if (rc == 0 && claimed)
		*msg_id = *row;
	return rc;
}

/* The writes of an issue that is not a replay, in the open transaction.
 * The key is looked up under the write lock BEGIN IMMEDIATE takes, so two
 * issues under one key, from any thread or process, are serialised: the
 * second one sees the first one's row. */
static int issue_in_tx(struct conn *q, const struct otp_issue *in, int64_t now,
		       struct otp_issue_out *out)
{
	const struct otp_code_new *code = &in->code;
	int rc = 0;
	if (in->idem) {
		rc = idem_find(q, in->idem, code->phone, now, out);
		if (rc || out->replayed)
			return rc;
	}
	if (in->nlimits) {
		rc = otp_sq_take_in_tx(q, in->limits, in->nlimits, now,
				       &out->retry_ms, &out->limit);
		if (rc)
			return rc;
	}
	/* The message first: the code's row names it (codes.msg). */
	int64_t msg = 0;
	rc = otp_sq_exec(q->st[ST_CODE_RETIRE], "po", code->phone, code->owner);
	if (rc == 0)
		rc = queue_msg(q, in, now, &out->msg_id, &msg);
	if (rc == 0)
		rc = otp_sq_exec(q->st[ST_CODE_INSERT], "dpmniioci", code->id,
				 code->phone, code->mac, code->attempts, now,
				 code->expires_ms, code->owner, code->credit,
				 msg);
	if (rc == 0 && in->idem)
		rc = otp_sq_exec(q->st[ST_IDEM_PUT], "xdpii", in->idem->key,
				 code->id, code->phone, code->expires_ms,
				 in->idem->expires_ms);
	if (rc == 0 && in->bind)
		rc = otp_sq_bind_session(q, in->bind, code->id, code->phone,
					 false, now);
	if (rc == 0)
		rc =
		    otp_sq_signals_add_in_tx(q, in->signals, in->nsignals, now);
	if (rc == 0) {
		memcpy(out->id, code->id, sizeof out->id);
		out->id[OTP_ID_LEN] = '\0';
		out->expires_ms = code->expires_ms;
	}
	return rc;
}

int otp_sq_code_issue(struct otp_store *s, const struct otp_issue *in,
		      int64_t now, struct otp_issue_out *out)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	memset(out, 0, sizeof *out);
	int rc = otp_sq_begin_grow(h, &q);
	if (rc)
		return rc;
	rc = otp_sq_end(h, issue_in_tx(q, in, now, out));
	if (rc) {
		/* A refusal by a limit keeps only its wait and index. */
		int64_t wait = rc == OTP_ELIMITED ? out->retry_ms : 0;
		int which = rc == OTP_ELIMITED ? out->limit : -1;
		memset(out, 0, sizeof *out);
		out->retry_ms = wait;
		out->limit = which;
	}
	return rc;
}

/* Copies a row of ST_CODE_INFO into an otp_code_info. */
static int copy_info(sqlite3_stmt *st, void *arg)
{
	struct otp_code_info *out = arg;
	otp_sq_text(st, 0, out->phone, sizeof out->phone);
	int state = otp_sq_state(st, 1, otp_code_state_names,
				 OTP_SQ_COUNT(otp_code_state_names));
	out->attempts_left = sqlite3_column_int(st, 2);
	out->created_ms = sqlite3_column_int64(st, 3);
	out->expires_ms = sqlite3_column_int64(st, 4);
	/* Issued together, purged together: no message is a fault. */
	int msg = otp_sq_state(st, 5, otp_msg_state_names,
			       OTP_SQ_COUNT(otp_msg_state_names));
	if (state < 0 || msg < 0) {
		memset(out, 0, sizeof *out);
		return OTP_EINTERNAL;
	}
	out->state = (enum otp_code_state)state;
	out->msg_state = (enum otp_msg_state)msg;
	otp_sq_text(st, 6, out->owner, sizeof out->owner);
	return 0;
}

int otp_sq_code_get(struct otp_store *s, const char *id,
		    struct otp_code_info *out)
{
	memset(out, 0, sizeof *out);
	return otp_sq_get(s, ST_CODE_INFO, copy_info, out, "d", id);
}

static int set_code(struct conn *q, const char *id, enum otp_code_state state,
		    int attempts_left)
{
	return otp_sq_exec(q->st[ST_CODE_SET], "dtn", id,
			   otp_code_state_names[state], attempts_left);
}

/* Settles a code read for a verify, in the open transaction: its result in
 * out, and its new state written. A wrong try that leaves the code pending
 * writes its attempts only (ST_CODE_TRY): setting the state, even to the
 * same value, would rewrite its entry in the index on (phone, owner,
 * state), a page read and a page written more per try. */
static int settle(struct conn *q, const struct otp_verify_in *in,
		  const char *id, int64_t now, int state, bool match,
		  int64_t expires, struct otp_verify_out *out)
{
	int left = out->attempts_left, rc = 0;
	if (state == OTP_CODE_USED) {
		out->result = OTP_VERIFY_USED;
	} else if (state == OTP_CODE_DEAD || state == OTP_CODE_RETIRED) {
		out->result = OTP_VERIFY_DEAD;
	} else if (state != OTP_CODE_PENDING) {
		rc = OTP_EINTERNAL;
	} else if (now >= expires) {
		out->result = OTP_VERIFY_EXPIRED;
	} else if (match && (!in->expect_phone[0] ||
			     strcmp(in->expect_phone, out->phone) == 0)) {
		rc = set_code(q, id, OTP_CODE_USED, left);
		/* Replaces session old_hash by an authenticated new_hash. */
		if (rc == 0 && in->rotate)
			rc = otp_sq_exec(q->st[ST_SESSION_DELETE], "h",
					 in->old_hash);
		if (rc == 0 && in->rotate)
			rc = otp_sq_put_login(q, in->new_hash, out->phone,
					      in->session_expires_ms, now);
		out->result = OTP_VERIFY_OK;
	} else {
		left = left > 1 ? left - 1 : 0;
		rc = left ? otp_sq_exec(q->st[ST_CODE_TRY], "dn", id, left)
			  : set_code(q, id, OTP_CODE_DEAD, left);
		out->result = OTP_VERIFY_WRONG;
		out->attempts_left = left;
	}
	return rc;
}

/* by_session: the pending code of session old_hash, into id. Read here,
 * on the writer's connection, rather than by session_get on the handle's
 * own: the writer's page cache survives its commits, a read connection's
 * is dropped by every commit of another connection (at 10^6 sessions, a
 * B-tree's every level read again through the kernel). */
static int pending_of(struct conn *q, const struct otp_verify_in *in,
		      int64_t now, char id[OTP_PENDING_MAX])
{
	sqlite3_stmt *st = q->st[ST_SESSION_PENDING];
	int rc = otp_sq_row(st, "hi", in->old_hash, now);
	if (rc != 1)
		return rc ? rc : OTP_ENOTFOUND;
	otp_sq_text(st, 0, id, OTP_PENDING_MAX);
	otp_sq_done(st);
	return id[0] ? 0 : OTP_EGONE;
}

/* Reads the code and settles it, in the open transaction. */
static int verify_in_tx(struct conn *q, const struct otp_verify_in *in,
			int64_t now, struct otp_verify_out *out)
{
	char pending[OTP_PENDING_MAX];
	const char *id = in->id;
	unsigned char tried[2][OTP_MAC_LEN];
	const unsigned char *try = in->mac, *try_prev = in->mac_prev;
	int rc;
	if (in->by_session && in->rotate) {
		rc = pending_of(q, in, now, pending);
		if (rc)
			return rc;
		/* Not one of ours (an upstream's id): no such code. */
		if (strlen(pending) != OTP_ID_LEN)
			return 0;
		id = pending;
		in->macs(in->macs_arg, id, tried[0], tried[1]);
		try = tried[0];
		try_prev = tried[1];
	}
	sqlite3_stmt *st = q->st[ST_CODE_GET];
	rc = otp_sq_row(st, "d", id);
	if (rc != 1) {
		sodium_memzero(tried, sizeof tried);
		return rc;
	}
	otp_sq_text(st, 0, out->phone, sizeof out->phone);
	const void *mac = sqlite3_column_blob(st, 1);
	bool len_ok = sqlite3_column_bytes(st, 1) == OTP_MAC_LEN;
	bool match = len_ok && sodium_memcmp(mac, try, OTP_MAC_LEN) == 0;
	if (len_ok && in->has_mac_prev)
		match |= sodium_memcmp(mac, try_prev, OTP_MAC_LEN) == 0;
	sodium_memzero(tried, sizeof tried);
	out->attempts_left = sqlite3_column_int(st, 2);
	int state = otp_sq_state(st, 3, otp_code_state_names,
				 OTP_SQ_COUNT(otp_code_state_names));
	int64_t expires = sqlite3_column_int64(st, 4);
	char owner[OTP_OWNER_MAX], credit[OTP_CREDIT_MAX];
	otp_sq_text(st, 5, owner, sizeof owner);
	otp_sq_text(st, 6, credit, sizeof credit);
	otp_sq_done(st);
	if (!otp_owner_ok(owner, in->expect_owner)) {
		memset(out, 0, sizeof *out);
		out->result = OTP_VERIFY_NOTFOUND;
		return 0;
	}
	rc = settle(q, in, id, now, state, match, expires, out);
	/* An accepted code counts as verified in the same step. */
	if (rc == 0 && out->result == OTP_VERIFY_OK)
		rc = otp_sq_credit_in_tx(q, credit, now);
	return rc;
}

int otp_sq_code_verify(struct otp_store *s, const struct otp_verify_in *in,
		       int64_t now, struct otp_verify_out *out)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	memset(out, 0, sizeof *out);
	out->result = OTP_VERIFY_NOTFOUND;
	int rc = otp_sq_begin(h, &q);
	if (rc)
		return rc;
	rc = otp_sq_end(h, verify_in_tx(q, in, now, out));
	if (rc) {
		memset(out, 0, sizeof *out);
		out->result = OTP_VERIFY_NOTFOUND;
	}
	return rc;
}
