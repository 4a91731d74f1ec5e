/* keys.c - the SQLite backend's API keys of the provider API: put, get,
 * list and revoke. A key is stored as its id, its name and the keyed hash
 * of its secret (never the secret); revoking keeps the row and its first
 * revocation time.
 *
 * Making a key and checking a presented secret are the engine's job.
 */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/sqlite/sqlite.h"

/* Inserts k in the open transaction: 0, OTP_ECONFLICT (the id is taken:
 * the one error that is the caller's), or another. */
static int put(struct conn *q, const struct otp_apikey *k)
{
	sqlite3_stmt *st = q->st[ST_KEY_PUT];
	otp_sq_bind(st, "kNhii", k->id, k->name, k->hash, k->created_ms,
		    k->revoked_ms);
	int rc = sqlite3_step(st);
	otp_sq_done(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return OTP_ECONFLICT;
	return rc == SQLITE_DONE ? 0 : otp_sqlite_err(rc);
}

int otp_sq_apikey_put(struct otp_store *s, const struct otp_apikey *k)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	int rc = otp_sq_begin_grow(h, &q);
	return rc ? rc : otp_sq_end(h, put(q, k));
}

int otp_sq_apikey_replace(struct otp_store *s, const char *old_id,
			  const struct otp_apikey *k)
{
	struct conn *q;
	int rc = otp_sq_begin(otp_sq_cast(s), &q);
	if (rc)
		return rc;
	rc = otp_sq_exec(q->st[ST_KEY_DELETE], "k", old_id);
	if (rc == 0) /* a new id taken already: that row stays */
		rc = sqlite3_changes(q->db) ? put(q, k) : OTP_ENOTFOUND;
	return otp_sq_end(otp_sq_cast(s), rc == OTP_ECONFLICT ? 0 : rc);
}

/* Copies the current row of ST_KEY_GET or ST_KEY_LIST into k. */
static void copy_key(sqlite3_stmt *st, struct otp_apikey *k)
{
	memset(k, 0, sizeof *k);
	otp_sq_text(st, 0, k->id, sizeof k->id);
	otp_sq_text(st, 1, k->name, sizeof k->name);
	const void *hash = sqlite3_column_blob(st, 2);
	if (hash && sqlite3_column_bytes(st, 2) == OTP_HASH_LEN)
		memcpy(k->hash, hash, OTP_HASH_LEN);
	k->created_ms = sqlite3_column_int64(st, 3);
	k->revoked_ms = sqlite3_column_int64(st, 4);
}

static int get_key(sqlite3_stmt *st, void *k)
{
	copy_key(st, k);
	return 0;
}

int otp_sq_apikey_get(struct otp_store *s, const char *id,
		      struct otp_apikey *out)
{
	memset(out, 0, sizeof *out);
	return otp_sq_get(s, ST_KEY_GET, get_key, out, "k", id);
}

int otp_sq_apikey_list(struct otp_store *s, struct otp_apikey *out, size_t max,
		       size_t *n)
{
	sqlite3_stmt *st = otp_sq_rd(s, ST_KEY_LIST);
	*n = 0;
	if (max == 0)
		return 0;
	int rc =
	    otp_sq_row(st, "i", max > INT32_MAX ? INT32_MAX : (int64_t)max);
	size_t k = 0;
	while (rc == 1) {
		copy_key(st, &out[k++]);
		rc = k < max ? otp_sq_step(st) : 0;
	}
	otp_sq_done(st);
	if (rc < 0)
		return rc;
	*n = k;
	return 0;
}

int otp_sq_apikey_revoke(struct otp_store *s, const char *id, int64_t now)
{
	return otp_sq_write(s, ST_KEY_REVOKE, SQ_HIT, "ki", id, now);
}
