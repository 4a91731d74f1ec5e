/* outbox.c - the SQLite backend's outbox: the queued messages a code's
 * issue wrote (codes.c), claimed under a lease by the outbox workers, then
 * acked (alone, or several with the next claim), retried, failed, reported on
 * by a delivery report or requeued by an operator; and the lists of them.
 *
 * Writes that settle a claim match its lease token (attempts), so a worker
 * whose lease ran out and was re-claimed changes nothing. When to retry and
 * which driver sends are the workers' policy (src/outbox/).
 */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/sqlite/sqlite.h"

#define LIMIT(max) ((max) > INT32_MAX ? INT32_MAX : (int64_t)(max))

/* Copies the current row of ST_MSG_DUE into m. */
static void copy_msg(sqlite3_stmt *st, struct otp_msg *m)
{
	memset(m, 0, sizeof *m);
	m->id = sqlite3_column_int64(st, 0);
	otp_sq_text(st, 1, m->request_id, sizeof m->request_id);
	otp_sq_text(st, 2, m->to, sizeof m->to);
	const void *body = sqlite3_column_blob(st, 3);
	m->body_len = body ? (size_t)sqlite3_column_bytes(st, 3) : 0;
	m->body = malloc(m->body_len ? m->body_len : 1);
	if (!m->body)
		abort();
	if (m->body_len)
		memcpy(m->body, body, m->body_len);
	m->attempts = sqlite3_column_int(st, 4) + 1;
	m->driver = sqlite3_column_int(st, 5);
	m->expires_ms = sqlite3_column_int64(st, 6);
	m->created_ms = sqlite3_column_int64(st, 8);
}

/* Reads the due messages, then leases them, in the open transaction: read
 * them all first, as updating rows under a running SELECT of the same table
 * is asking for trouble. */
static int claim_in_tx(struct conn *q, int64_t now, int64_t lease_ms,
		       struct otp_msg *out, size_t max, size_t *k)
{
	sqlite3_stmt *st = q->st[ST_MSG_DUE];
	int rc = otp_sq_row(st, "ii", now, LIMIT(max));
	while (rc == 1) {
		copy_msg(st, &out[(*k)++]);
		rc = *k < max ? otp_sq_step(st) : 0;
	}
	otp_sq_done(st);
	for (size_t i = 0; i < *k && rc == 0; i++)
		rc = otp_sq_exec(q->st[ST_MSG_LEASE], "iii", out[i].id,
				 now + lease_ms, now);
	return rc;
}

int otp_sq_outbox_claim(struct otp_store *s, int64_t now, int64_t lease_ms,
			struct otp_msg *out, size_t max, size_t *n)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	*n = 0;
	if (max == 0)
		return 0;
	int rc = otp_sq_begin(h, &q);
	if (rc)
		return rc;
	size_t k = 0;
	rc = otp_sq_end(h, claim_in_tx(q, now, lease_ms, out, max, &k));
	if (rc) {
		for (size_t i = 0; i < k; i++)
			otp_msg_deinit(&out[i]);
		return rc;
	}
	*n = k;
	return 0;
}

/* The acks, then the claim, in one transaction: an ack that matches no
 * claim (changes() 0) is that ack's OTP_ENOTFOUND, not the operation's. */
static int ack_claim_in_tx(struct conn *q, struct otp_ack *acks, size_t n,
			   int64_t now, int64_t lease_ms, struct otp_msg *out,
			   size_t max, size_t *k)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = otp_sq_exec(q->st[ST_MSG_ACK], "ini", acks[i].id,
				 acks[i].lease, now);
		acks[i].rc = sqlite3_changes(q->db) ? 0 : OTP_ENOTFOUND;
	}
	if (rc == 0 && max > 0)
		rc = claim_in_tx(q, now, lease_ms, out, max, k);
	return rc;
}

int otp_sq_outbox_ack_claim(struct otp_store *s, struct otp_ack *acks, size_t n,
			    int64_t now, int64_t lease_ms, struct otp_msg *out,
			    size_t max, size_t *nout)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	*nout = 0;
	if (n == 0 && max == 0)
		return 0;
	int rc = otp_sq_begin(h, &q);
	if (rc)
		return rc;
	size_t k = 0;
	rc = otp_sq_end(
	    h, ack_claim_in_tx(q, acks, n, now, lease_ms, out, max, &k));
	if (rc) {
		for (size_t i = 0; i < k; i++)
			otp_msg_deinit(&out[i]);
		return rc;
	}
	*nout = k;
	return 0;
}

int otp_sq_outbox_ack(struct otp_store *s, int64_t id, int lease, int64_t now)
{
	return otp_sq_write(s, ST_MSG_ACK, SQ_HIT, "ini", id, lease, now);
}

int otp_sq_outbox_retry(struct otp_store *s, int64_t id, int lease,
			int64_t next_ms, int driver, const char *error,
			int64_t now)
{
	if (driver < 0)
		return OTP_EINTERNAL;
	return otp_sq_write(s, ST_MSG_RETRY, SQ_HIT, "ininei", id, lease,
			    next_ms, driver, error, now);
}

int otp_sq_outbox_fail(struct otp_store *s, int64_t id, int lease,
		       enum otp_msg_state state, const char *error, int64_t now)
{
	if (state != OTP_MSG_FAILED && state != OTP_MSG_EXPIRED)
		return OTP_EINTERNAL;
	return otp_sq_write(s, ST_MSG_FAIL, SQ_HIT, "intei", id, lease,
			    otp_msg_state_names[state], error, now);
}

int otp_sq_outbox_report(struct otp_store *s, int64_t id,
			 enum otp_msg_state state, int64_t now)
{
	if (state != OTP_MSG_DELIVERED && state != OTP_MSG_UNDELIVERED)
		return OTP_EINTERNAL;
	return otp_sq_write(s, ST_MSG_REPORT, SQ_MSG, "iti", id,
			    otp_msg_state_names[state], now);
}

int otp_sq_outbox_requeue(struct otp_store *s, int64_t id, int64_t now)
{
	return otp_sq_write(s, ST_MSG_REQUEUE, SQ_MSG, "ii", id, now);
}

int otp_sq_outbox_reclaim(struct otp_store *s, int64_t now, long *n)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	*n = 0;
	int rc = otp_sq_begin(h, &q);
	if (rc)
		return rc;
	rc = otp_sq_exec(q->st[ST_MSG_RECLAIM], "i", now);
	long changed = rc ? 0 : sqlite3_changes(q->db);
	rc = otp_sq_end(h, rc);
	if (rc == 0)
		*n = changed;
	return rc;
}

/* Copies the current row of ST_MSG_LIST into m: false if its state is
 * not one we know. */
static bool copy_info(sqlite3_stmt *st, struct otp_msg_info *m)
{
	memset(m, 0, sizeof *m);
	m->id = sqlite3_column_int64(st, 0);
	otp_sq_text(st, 1, m->request_id, sizeof m->request_id);
	otp_sq_text(st, 2, m->to, sizeof m->to);
	int i = otp_sq_state(st, 3, otp_msg_state_names,
			     OTP_SQ_COUNT(otp_msg_state_names));
	m->state = i < 0 ? OTP_MSG_QUEUED : (enum otp_msg_state)i;
	m->attempts = sqlite3_column_int(st, 4);
	m->driver = sqlite3_column_int(st, 5);
	m->next_ms = sqlite3_column_int64(st, 6);
	m->expires_ms = sqlite3_column_int64(st, 7);
	m->updated_ms = sqlite3_column_int64(st, 8);
	otp_sq_text(st, 9, m->last_error, sizeof m->last_error);
	return i >= 0;
}

int otp_sq_outbox_list(struct otp_store *s, int state, struct otp_msg_info *out,
		       size_t max, size_t *n)
{
	sqlite3_stmt *st = otp_sq_rd(s, ST_MSG_LIST);
	*n = 0;
	if (state >= (int)OTP_SQ_COUNT(otp_msg_state_names))
		return OTP_EINTERNAL;
	if (max == 0)
		return 0;
	/* A negative state lists all: ?1 stays NULL. */
	int rc = state >= 0 ? otp_sq_row(st, "ti", otp_msg_state_names[state],
					 LIMIT(max))
			    : otp_sq_row(st, "_i", LIMIT(max));
	size_t k = 0;
	bool bad = false;
	while (rc == 1) {
		bad |= !copy_info(st, &out[k++]);
		rc = k < max ? otp_sq_step(st) : 0;
	}
	otp_sq_done(st);
	if (rc < 0)
		return rc;
	if (bad)
		return OTP_EINTERNAL;
	*n = k;
	return 0;
}

/* Reads the state of a row of ST_MSG_STATE into an enum otp_msg_state. */
static int copy_state(sqlite3_stmt *st, void *state)
{
	int i = otp_sq_state(st, 0, otp_msg_state_names,
			     OTP_SQ_COUNT(otp_msg_state_names));
	if (i < 0)
		return OTP_EINTERNAL;
	*(enum otp_msg_state *)state = (enum otp_msg_state)i;
	return 0;
}

int otp_sq_outbox_state(struct otp_store *s, const char *request_id,
			enum otp_msg_state *state)
{
	return otp_sq_get(s, ST_MSG_STATE, copy_state, state, "d", request_id);
}
