/* reseal.c - phones_reseal on SQLite (store.h): every stored phone not yet
 * under the engine's current seal, rewritten in one write operation (so a
 * failure leaves the file as it was), then the seal recorded in `meta`.
 *
 * A start-up operation, run once per secret: its statements (constant
 * text, parameters bound) are prepared here, not kept on every connection.
 * Rows are read a batch at a time and rewritten before the next batch is
 * read; a rewritten phone starts with the mark, so it is not read again.
 */
#include <string.h>

#include "core/err.h"
#include "store/sqlite/sqlite.h"

#define BATCH 256

/* Each stored phone column: the statement that reads a batch of its rows
 * not under the mark (?1, its length ?2, at most ?3 rows; key first), and
 * the one that writes one row's new text (?2) by its key (?1). */
#define PHONE_COLUMN(table, key, col)                                          \
	{                                                                      \
		"SELECT " key ", " col " FROM " table " WHERE " col " <> ''"   \
		" AND substr(" col ", 1, ?2) <> ?1 LIMIT ?3",                  \
		    "UPDATE " table " SET " col " = ?2 WHERE " key " = ?1"     \
	}
static const struct {
	const char *select, *update;
} phones[] = {
    PHONE_COLUMN("codes", "id", "phone"),
    PHONE_COLUMN("sessions", "hash", "phone"),
    PHONE_COLUMN("sessions", "hash", "pending_phone"),
    PHONE_COLUMN("outbox", "id", "to_phone"),
    PHONE_COLUMN("idem", "key", "phone"),
};
#undef PHONE_COLUMN

static int prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
	return rc == SQLITE_OK ? 0 : otp_sqlite_err(rc);
}

/* One batch of one column: up to BATCH rows read, then rewritten. */
static int batch(sqlite3_stmt *sel, sqlite3_stmt *set, const char *mark,
		 otp_reseal_fn *fn, void *arg, long *n, int *seen)
{
	sqlite3_value *key[BATCH];
	char old[BATCH][OTP_SEALED_PHONE_MAX];
	int k = 0, rc = 0;
	otp_sq_bind(sel, "tnn", mark, (int)strlen(mark), BATCH);
	while (k < BATCH && (rc = otp_sq_step(sel)) == 1) {
		key[k] = sqlite3_value_dup(sqlite3_column_value(sel, 0));
		otp_sq_text(sel, 1, old[k], sizeof old[k]);
		k++;
	}
	otp_sq_done(sel);
	for (int i = 0; i < k; i++) {
		char out[OTP_SEALED_PHONE_MAX];
		if (rc >= 0)
			rc = fn(arg, old[i], out);
		if (rc >= 0) {
			sqlite3_bind_value(set, 1, key[i]);
			sqlite3_bind_text(set, 2, out, -1, SQLITE_TRANSIENT);
			int s = sqlite3_step(set);
			otp_sq_done(set);
			rc = s == SQLITE_DONE ? 0 : otp_sqlite_err(s);
			*n += rc == 0;
		}
		sqlite3_value_free(key[i]);
	}
	*seen = k;
	return rc < 0 ? rc : 0;
}

static int column(sqlite3 *db, size_t i, const char *mark, otp_reseal_fn *fn,
		  void *arg, long *n)
{
	sqlite3_stmt *sel = NULL, *set = NULL;
	int rc = prepare(db, &sel, phones[i].select);
	if (rc == 0)
		rc = prepare(db, &set, phones[i].update);
	for (int seen = BATCH; rc == 0 && seen == BATCH;)
		rc = batch(sel, set, mark, fn, arg, n, &seen);
	sqlite3_finalize(sel);
	sqlite3_finalize(set);
	return rc;
}

/* 1 if meta already records mark, 0 if not, or an error. */
static int recorded(sqlite3 *db, const char *mark)
{
	sqlite3_stmt *st;
	int rc = prepare(db, &st, "SELECT v = ?1 FROM meta WHERE k = 'phones'");
	if (rc)
		return rc;
	rc = otp_sq_row(st, "t", mark);
	if (rc == 1)
		rc = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return rc;
}

static int record(sqlite3 *db, const char *mark)
{
	sqlite3_stmt *st;
	int rc =
	    prepare(db, &st,
		    "INSERT OR REPLACE INTO meta (k, v) VALUES ('phones', ?1)");
	if (rc == 0)
		rc = otp_sq_exec(st, "t", mark);
	sqlite3_finalize(st);
	return rc;
}

int otp_sq_phones_reseal(struct otp_store *s, const char *mark,
			 otp_reseal_fn *fn, void *arg, long *n)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	*n = 0;
	int rc = otp_sq_begin_grow(h, &q); /* a seal is longer than a phone */
	if (rc)
		return rc;
	rc = recorded(q->db, mark);
	if (rc == 0) {
		for (size_t i = 0; i < OTP_SQ_COUNT(phones) && rc == 0; i++)
			rc = column(q->db, i, mark, fn, arg, n);
		if (rc == 0)
			rc = record(q->db, mark);
	}
	rc = otp_sq_end(h, rc < 0 ? rc : 0);
	if (rc)
		*n = 0;
	return rc;
}
