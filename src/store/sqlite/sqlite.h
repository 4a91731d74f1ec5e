/* sqlite.h - what the SQLite backend's files share, and nobody else.
 *
 * A handle (struct sq) is one connection to one file in WAL mode, with every
 * statement of statements.h prepared once at open and kept in it: reads that
 * are not part of a write (session_get, code_get, apikey_get, lists...) run
 * there, beside other readers. Every operation that writes runs on the
 * file's one shared write connection of this process (commit.h), which has
 * its own copy of the statements: each operation is a savepoint, undone
 * alone if it fails, inside a transaction that concurrent operations share
 * and commit together; the caller gets its answer once that COMMIT is done.
 * Read-modify-write operations (verify, limits, idempotency) read on that
 * connection, so they see the earlier operations of their batch.
 *
 * The helpers below make an operation read as its SQL plus its logic:
 * otp_sq_bind's format binds its parameters, otp_sq_exec runs a statement,
 * otp_sq_row and otp_sq_step read rows, otp_sq_get is a whole one-row
 * lookup, otp_sq_begin/otp_sq_end frame a write operation and otp_sq_write
 * is a whole one-statement write. None allocates or prepares: every
 * statement is the connection's cached one.
 *
 * The backend reads no clock and decides no policy (TTLs, attempts, rates):
 * the engine does, and passes time in as `now`.
 */
#ifndef OTP_STORE_SQLITE_SQLITE_H
#define OTP_STORE_SQLITE_SQLITE_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/sqlite/commit.h"
#include "store/sqlite/err.h"
#include "store/sqlite/sigbatch.h"
#include "store/sqlite/statements.h"
#include "store/store.h"

#define OTP_SQ_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define OTP_SQ_BUSY_MS	5000

enum stmt {
#define STMT_ENUM_(name, sql) ST_##name,
	STATEMENTS(STMT_ENUM_)
#undef STMT_ENUM_
	    ST_COUNT
};

/* A connection and the statements prepared on it: the writer's has all of
 * them from its open, a handle's read connection each one from its first
 * use (otp_sq_rd). The writer's also sums its batch's signal adds. */
struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	struct otp_sq_sigbatch *sb; /* the writer's only: sigbatch.h */
};

/* base comes first: a struct otp_store * is a struct sq *. A handle reads on
 * its own connection and writes through its file's shared writer; one
 * thread uses it at a time, so one ticket serves all its writes. */
struct sq {
	struct otp_store base;
	struct conn rd;
	struct otp_sqlite_writer *w;
	struct otp_sqlite_ticket t;
};

static inline struct sq *otp_sq_cast(struct otp_store *s)
{
	return (struct sq *)s;
}

/* Prepares statement i on a handle's read connection (db.c). */
sqlite3_stmt *otp_sq_rd_prepare(struct conn *c, enum stmt i);

/* The handle's read statement i, prepared at its first use. */
static inline sqlite3_stmt *otp_sq_rd(struct otp_store *s, enum stmt i)
{
	struct conn *c = &otp_sq_cast(s)->rd;
	return c->st[i] ? c->st[i] : otp_sq_rd_prepare(c, i);
}

/* Returns a cached statement to its pristine state for the next use. */
static inline void otp_sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Binds st's parameters from ?1 on, one letter of fmt each, from ap:
 *   i int64_t          n int            _ skipped: stays NULL, takes no
 * argument h a hash (OTP_HASH_LEN bytes)       m a MAC (OTP_MAC_LEN bytes) t a
 * static NUL-terminated text (a state name) e an error text, cut to
 * OTP_ERROR_TEXT_MAX - 1 bytes on a character and a text field cut to its
 * array's size: d code/request id   p phone   k API key id   N API key name l
 * limit key         x idempotency key        q pending id   o owner
 * g signal key      w set member   r block rule   c credit. Values are bound
 * SQLITE_STATIC: they must live until the statement is reset. otp_sq_vbind
 * returns the first `i` value (0 if none), for otp_sq_write. */
int64_t otp_sq_vbind(sqlite3_stmt *st, const char *fmt, va_list ap);
void otp_sq_bind(sqlite3_stmt *st, const char *fmt, ...);

/* Steps a bound statement once, leaving it as it is: 1 with a row, 0 at
 * the end, or a negative OTP_E* error. For the rows after otp_sq_row's. */
int otp_sq_step(sqlite3_stmt *st);

/* Binds, steps a statement that returns no rows, resets it: 0 or an
 * OTP_E* error. */
int otp_sq_exec(sqlite3_stmt *st, const char *fmt, ...);

/* Binds and steps once: 1 with a row (read it, then otp_sq_done), 0 with
 * none or a negative OTP_E* error (both reset already). */
int otp_sq_row(sqlite3_stmt *st, const char *fmt, ...);

/* Copies the current row of a statement into out: 0 or an OTP_E* error. */
typedef int otp_sq_copy_fn(sqlite3_stmt *st, void *out);

/* A lookup of one row on the handle's read connection: binds statement i,
 * steps it and copies its row into out with copy, then resets it: copy's
 * result, OTP_ENOTFOUND without a row, or another OTP_E* error. */
int otp_sq_get(struct otp_store *s, enum stmt i, otp_sq_copy_fn *copy,
	       void *out, const char *fmt, ...);

/* One snapshot for several reads on the handle's read connection (a
 * deferred transaction: in WAL mode, one read mark), so that a read of
 * many rows sees none or all of any write: otp_sq_read_begin, the reads,
 * then otp_sq_read_end(s, rc), which ends it and returns rc (or the
 * error of a begin that failed). */
int otp_sq_read_begin(struct otp_store *s);
int otp_sq_read_end(struct otp_store *s, int rc);

/* Copies column col's text into dst (cap bytes, always terminated). */
void otp_sq_text(sqlite3_stmt *st, int col, char *dst, size_t cap);

/* Index of column col's text in names[], or -1. */
int otp_sq_state(sqlite3_stmt *st, int col, const char *const *names,
		 size_t count);

/* Starts a write operation on the file's writer (commit.h): *q is the
 * writer's connection, for this thread until otp_sq_end. On an error the
 * operation is over already. */
static inline int otp_sq_begin(struct sq *h, struct conn **q)
{
	void *user;
	h->t.grows = false;
	int rc = otp_sqlite_writer_begin(h->w, &h->t, &user);
	*q = user;
	return rc;
}

/* The same for an operation that adds data (a send, a new session, a key, a
 * limit's row): refused with OTP_EFULL while the disk is full. */
static inline int otp_sq_begin_grow(struct sq *h, struct conn **q)
{
	void *user;
	h->t.grows = true;
	int rc = otp_sqlite_writer_begin(h->w, &h->t, &user);
	*q = user;
	return rc;
}

/* Ends it: keeps its work if rc is 0, undoes it alone otherwise, and
 * returns once it is committed: rc, or the commit's error. */
static inline int otp_sq_end(struct sq *h, int rc)
{
	return otp_sqlite_writer_end(h->w, &h->t, rc);
}

/* A read on the writer's connection if it is free, beside the batches
 * (commit.h's otp_sqlite_writer_read_begin: it sees their work before its
 * COMMIT): true with *q that connection until otp_sq_wr_read_end, which
 * returns rc; false if the writer is busy. */
static inline bool otp_sq_wr_read_begin(struct sq *h, struct conn **q)
{
	void *user;
	bool ok = otp_sqlite_writer_read_begin(h->w, &user);
	*q = user;
	return ok;
}

static inline int otp_sq_wr_read_end(struct sq *h, int rc)
{
	return otp_sqlite_writer_read_end(h->w, rc);
}

/* What a one-statement write expects of the rows it changes. */
enum sq_want {
	SQ_ANY, /* nothing */
	SQ_HIT, /* at least one, or OTP_ENOTFOUND */
	SQ_MSG, /* one message, whose id is the first `i`: none changed is
		 * OTP_ENOTFOUND (no such id) or OTP_EGONE (wrong state) */
};

/* A whole write operation of one statement i bound by fmt: begin, run,
 * check the rows against want, end. */
int otp_sq_write(struct otp_store *s, enum stmt i, enum sq_want want,
		 const char *fmt, ...);

/* Opening: the schema (schema.c) brought to its version under the write
 * lock, on a connection in WAL mode. */
int otp_sq_set_wal(sqlite3 *db);
int otp_sq_migrate(sqlite3 *db);
/* private.c: makes path (if missing) 0600, so that SQLite's -wal and -shm
 * are too; 0 or OTP_EINTERNAL. */
int otp_sq_create_private(const char *path);
/* private.c: at start-up, refuses a directory every user may write to and
 * makes the database's files 0600; 0, or an error with a reason in err. */
int otp_sq_make_private(const char *path, char *err, size_t errlen);

/* Installs and arms the fault VFS if OTPD_TEST_SQLITE_FAULTS asks for it
 * (faultvfs.c), once per process: 0, or OTP_EINTERNAL if its value is
 * malformed. */
int otp_sq_faults_from_env(void);

/* Shared by two domains: the session upsert of a send (sessions.c), run by
 * code_issue, and the login written by a verify. */
int otp_sq_bind_session(struct conn *q, const struct otp_session_bind *b,
			const char *pending_id, const char *pending_phone,
			bool count_send, int64_t now);
int otp_sq_put_login(struct conn *q, const unsigned char hash[OTP_HASH_LEN],
		     const char *phone, int64_t expires_ms, int64_t now);
/* Inside an open transaction: takes from all n limits or returns
 * OTP_ELIMITED with *longest the longest wait and *which its index (the
 * caller rolls back). */
int otp_sq_take_in_tx(struct conn *q, const struct otp_limit *lims, size_t n,
		      int64_t now, int64_t *longest, int *which);

/* Inside an open write transaction (signals.c): the n adds at now
 * (signal_add and code_issue), and one OTP_SIG_VERIFIED for each
 * space-separated key of a code's credit (code_verify); on the writer,
 * counts go to its batch's sums (sigbatch.h), written before the COMMIT. */
int otp_sq_signals_add_in_tx(struct conn *q, const struct otp_signal_add *adds,
			     size_t n, int64_t now);
int otp_sq_credit_in_tx(struct conn *q, const char *credit, int64_t now);
/* The writer's batch sums (sigbatch.h) written, before its COMMIT. */
int otp_sq_signals_flush(struct conn *q);
/* signal_read's reads on connection q (the writer's, for abuse_read:
 * its batch's sums added in). */
int otp_sq_signals_read_on(struct conn *q, const char *const *keys,
			   const char *const *members, size_t n, int64_t now,
			   struct otp_signal *out);
/* purge's part for the buckets and set members out of their windows at
 * now; adds the rows removed to *count. */
int otp_sq_signals_purge_in_tx(struct conn *q, int64_t now, long *count);

/* The operations, one domain a file (the ops table is db.c's). */
/* otp_sq_<op> for each of OTP_STORE_OPS (ping included). */
#define OTP_SQ_DECL_(op, params, args) int otp_sq_##op params;
OTP_STORE_OPS(OTP_SQ_DECL_)
#undef OTP_SQ_DECL_

#endif
