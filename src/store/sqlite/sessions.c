/* sessions.c - the SQLite backend's sessions: get, bind (the upsert a send
 * also runs), rotate, delete and revoke by phone, keyed by the keyed hash of
 * the cookie's token (never the token).
 *
 * How long a session lives and when it rotates is the engine's policy; this
 * file stores what it is told. The verify that logs a session in is
 * codes.c's; it writes the login with otp_sq_put_login below.
 */
#include <string.h>

#include "core/err.h"
#include "store/sqlite/sqlite.h"

int otp_sq_bind_session(struct conn *q, const struct otp_session_bind *b,
			const char *pending_id, const char *pending_phone,
			bool count_send, int64_t now)
{
	sqlite3_stmt *st = q->st[ST_SESSION_BIND];
	int send = count_send ? 1 : 0;
	if (pending_id)
		return otp_sq_exec(
		    st, "hiqpni", b->hash, b->expires_ms, pending_id,
		    pending_phone ? pending_phone : "", send, now);
	/* ?3 and ?4 stay NULL without a pending code: it keeps the old one. */
	return otp_sq_exec(st, "hi__ni", b->hash, b->expires_ms, send, now);
}

/* Writes (or overwrites) an authenticated session with no pending code. */
int otp_sq_put_login(struct conn *q, const unsigned char hash[OTP_HASH_LEN],
		     const char *phone, int64_t expires_ms, int64_t now)
{
	return otp_sq_exec(q->st[ST_SESSION_PUT], "hpii", hash, phone, now,
			   expires_ms);
}

/* Copies a row of ST_SESSION_GET into an otp_session. */
static int copy_session(sqlite3_stmt *st, void *arg)
{
	struct otp_session *out = arg;
	otp_sq_text(st, 0, out->phone, sizeof out->phone);
	out->authenticated_ms = sqlite3_column_int64(st, 1);
	out->expires_ms = sqlite3_column_int64(st, 2);
	otp_sq_text(st, 3, out->pending_id, sizeof out->pending_id);
	otp_sq_text(st, 4, out->pending_phone, sizeof out->pending_phone);
	out->sends = sqlite3_column_int(st, 5);
	return 0;
}

int otp_sq_session_get(struct otp_store *s,
		       const unsigned char hash[OTP_HASH_LEN], int64_t now,
		       struct otp_session *out)
{
	memset(out, 0, sizeof *out);
	return otp_sq_get(s, ST_SESSION_GET, copy_session, out, "hi", hash,
			  now);
}

int otp_sq_session_bind(struct otp_store *s, const struct otp_session_bind *b,
			const char *pending_id, const char *pending_phone,
			bool count_send, int64_t now)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	int rc = otp_sq_begin_grow(h, &q);
	if (rc)
		return rc;
	return otp_sq_end(h,
			  otp_sq_bind_session(q, b, pending_id, pending_phone,
					      count_send, now));
}

int otp_sq_session_rotate(struct otp_store *s,
			  const unsigned char old_hash[OTP_HASH_LEN],
			  const unsigned char new_hash[OTP_HASH_LEN],
			  const char *phone, int64_t expires_ms, int64_t now)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	int rc = otp_sq_begin(h, &q);
	if (rc)
		return rc;
	rc = otp_sq_exec(q->st[ST_SESSION_DELETE_LIVE], "hi", old_hash, now);
	if (rc == 0 && sqlite3_changes(q->db) == 0)
		rc = OTP_ENOTFOUND;
	if (rc == 0)
		rc = otp_sq_put_login(q, new_hash, phone, expires_ms, now);
	return otp_sq_end(h, rc);
}

int otp_sq_session_delete(struct otp_store *s,
			  const unsigned char hash[OTP_HASH_LEN])
{
	return otp_sq_write(s, ST_SESSION_DELETE, SQ_ANY, "h", hash);
}

/* No index by phone: a scan of the table, for an operator's command. */
int otp_sq_session_revoke_phone(struct otp_store *s, const char *phone, long *n)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	*n = 0;
	if (!phone[0])
		return 0;
	int rc = otp_sq_begin(h, &q);
	if (rc)
		return rc;
	rc = otp_sq_exec(q->st[ST_SESSION_REVOKE_PHONE], "p", phone);
	long changed = rc ? 0 : (long)sqlite3_changes(q->db);
	rc = otp_sq_end(h, rc);
	if (rc == 0)
		*n = changed;
	return rc;
}
