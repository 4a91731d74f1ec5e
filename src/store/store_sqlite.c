/* store_sqlite.c - the SQLite backend of the store interface (store.h).
 *
 * A handle is one connection to one file in WAL mode, with every statement
 * prepared once at open and kept in the handle: reads that are not part of
 * a write (session_get, code_get, apikey_get, lists...) run there, beside
 * other readers. Every operation that writes runs on the file's one shared
 * write connection of this process (sqlite_commit.h), which has its own copy
 * of the statements: each operation is a savepoint, undone alone if it
 * fails, inside a transaction (BEGIN IMMEDIATE) that concurrent operations
 * share and commit together; the caller gets its answer once that COMMIT is
 * done. Read-modify-write operations (verify, limits, idempotency) read on
 * that connection, so they see the earlier operations of their batch. Other
 * processes on the file queue on SQLite's write lock with the busy timeout.
 * Checkpoints run on a background thread, not in commits. The schema is
 * versioned by PRAGMA user_version and grown by the append-only list of
 * migrations below. It reads no clock, creates no directory and decides no
 * policy (TTLs, attempts, rates): the engine does, and passes time in as
 * `now`.
 */
#include "store/store.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/sqlite_err.h"
#include "store/sqlite_commit.h"

#define DAY_MS	 (24LL * 60 * 60 * 1000)
#define BUSY_MS	 5000
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

extern const struct otp_store_ops otp_store_sqlite_ops;

/* The schema: entry i takes a file from user_version i to i + 1, all of them
 * in one transaction at open. Append only; never edit a released entry.
 * States are words so that a person at the sqlite3 shell can read them. */
static const char *const migrations[] = {
    /* 1: codes, sessions, limits, outbox. */
    "CREATE TABLE codes ("
    " id TEXT PRIMARY KEY,"
    " phone TEXT NOT NULL,"
    " mac BLOB NOT NULL,"
    " attempts_left INTEGER NOT NULL,"
    " state TEXT NOT NULL"
    "  CHECK (state IN ('pending', 'used', 'dead', 'retired')),"
    " created INTEGER NOT NULL,"
    " expires INTEGER NOT NULL);"
    "CREATE INDEX codes_phone_state ON codes (phone, state);"
    "CREATE INDEX codes_expires ON codes (expires);"
    "CREATE TABLE sessions ("
    " hash BLOB PRIMARY KEY,"
    " phone TEXT NOT NULL,"
    " authenticated INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"
    " pending_id TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX sessions_expires ON sessions (expires);"
    "CREATE TABLE limits ("
    " key TEXT PRIMARY KEY,"
    " tat INTEGER NOT NULL) WITHOUT ROWID;"
    /* AUTOINCREMENT: a message id is never reused, even after a purge,
     * so a late ack from a slow worker cannot hit another message. */
    "CREATE TABLE outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " request_id TEXT NOT NULL,"
    " to_phone TEXT NOT NULL,"
    " body BLOB,"
    " state TEXT NOT NULL CHECK (state IN"
    "  ('queued', 'sending', 'sent', 'failed', 'expired')),"
    " attempts INTEGER NOT NULL,"
    " next_at INTEGER NOT NULL,"
    " lease_until INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"
    " last_error TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL);"
    "CREATE INDEX outbox_state_next ON outbox (state, next_at);"
    "CREATE INDEX outbox_request ON outbox (request_id);"
    "CREATE INDEX outbox_expires ON outbox (expires);",

    /* 2: idempotency keys, API keys, sessions bound to an upstream
     * provider's request, SMS driver indexes and delivery reports. An
     * idempotency key keeps its first code's expiry, so a replay needs no
     * code row. Sessions of v1 learn the phone of their pending code.
     * SQLite cannot alter a CHECK: outbox is rebuilt (create, copy, drop,
     * rename) with its rows, ids and AUTOINCREMENT counter: the counter's
     * row is handed to the new table before the old one is dropped (which
     * would delete it), and RENAME renames it with the table. */
    "CREATE TABLE idem ("
    " key TEXT PRIMARY KEY,"
    " request_id TEXT NOT NULL,"
    " phone TEXT NOT NULL,"
    " code_expires INTEGER NOT NULL,"
    " expires INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX idem_expires ON idem (expires);"
    "CREATE TABLE apikeys ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " hash BLOB NOT NULL,"
    " created INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL) WITHOUT ROWID;"
    "ALTER TABLE sessions ADD COLUMN pending_phone TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE sessions ADD COLUMN sends INTEGER NOT NULL DEFAULT 0;"
    "UPDATE sessions SET pending_phone = coalesce((SELECT phone FROM codes"
    " WHERE codes.id = sessions.pending_id), '') WHERE pending_id != '';"
    "CREATE TABLE outbox_v2 ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " request_id TEXT NOT NULL,"
    " to_phone TEXT NOT NULL,"
    " body BLOB,"
    " state TEXT NOT NULL CHECK (state IN"
    "  ('queued', 'sending', 'sent', 'delivered', 'undelivered',"
    "   'failed', 'expired')),"
    " attempts INTEGER NOT NULL,"
    " driver INTEGER NOT NULL,"
    " next_at INTEGER NOT NULL,"
    " lease_until INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"
    " last_error TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL);"
    "INSERT INTO outbox_v2 (id, request_id, to_phone, body, state,"
    " attempts, driver, next_at, lease_until, expires, last_error,"
    " created, updated)"
    " SELECT id, request_id, to_phone, body, state, attempts, 0, next_at,"
    " lease_until, expires, last_error, created, updated FROM outbox;"
    "DELETE FROM sqlite_sequence WHERE name = 'outbox_v2';"
    "UPDATE sqlite_sequence SET name = 'outbox_v2' WHERE name = 'outbox';"
    "DROP TABLE outbox;"
    "ALTER TABLE outbox_v2 RENAME TO outbox;"
    "CREATE INDEX outbox_state_next ON outbox (state, next_at);"
    "CREATE INDEX outbox_request ON outbox (request_id);"
    "CREATE INDEX outbox_expires ON outbox (expires);",

    /* 3: the outbox claim takes the messages that fell due first, each
     * kind from its own partial index in due order (queued: next_at;
     * sending: lease_until), merged, and stops at its limit, instead of
     * collecting and sorting every due row (a 20k backlog cut delivery to
     * ~2,500 msg/s). Messages not due yet are never read. The indexes hold
     * live messages only: a sent one leaves them instead of being moved in
     * outbox_state_next, which served that query only. */
    "CREATE INDEX outbox_queued ON outbox (next_at) WHERE state = 'queued';"
    "CREATE INDEX outbox_leased ON outbox (lease_until)"
    " WHERE state = 'sending';"
    "DROP INDEX outbox_state_next;",
};

#define SCHEMA_VERSION ((int)COUNT(migrations))

/* Every statement a handle runs, prepared once at open. Outbox writes that
 * settle a claim (ack, retry, fail) match its lease token, attempts, so a
 * worker whose lease ran out and was re-claimed changes nothing. */
#define STATEMENTS(X)                                                          \
	X(BEGIN, "BEGIN IMMEDIATE")                                            \
	X(COMMIT, "COMMIT")                                                    \
	X(ROLLBACK, "ROLLBACK")                                                \
	X(PING, "PRAGMA user_version")                                         \
	X(IDEM_GET, "SELECT request_id, phone, code_expires FROM idem"         \
		    " WHERE key = ?1 AND expires > ?2")                        \
	X(IDEM_PUT, "INSERT OR REPLACE INTO idem (key, request_id, phone,"     \
		    " code_expires, expires) VALUES (?1, ?2, ?3, ?4, ?5)")     \
	X(CODE_RETIRE, "UPDATE codes SET state = 'retired'"                    \
		       " WHERE phone = ?1 AND state = 'pending'")              \
	X(CODE_INSERT, "INSERT INTO codes (id, phone, mac, attempts_left,"     \
		       " state, created, expires)"                             \
		       " VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6)")          \
	X(CODE_GET, "SELECT phone, mac, attempts_left, state, expires"         \
		    " FROM codes WHERE id = ?1")                               \
	X(CODE_INFO, "SELECT phone, state, attempts_left, created, expires,"   \
		     " (SELECT state FROM outbox WHERE request_id = codes.id"  \
		     "  ORDER BY id DESC LIMIT 1)"                             \
		     " FROM codes WHERE id = ?1")                              \
	X(CODE_SET, "UPDATE codes SET state = ?2, attempts_left = ?3"          \
		    " WHERE id = ?1")                                          \
	/* An expired row that purge has not reached yet must not lend its     \
	 * login, pending code or send count to the new binding: it starts     \
	 * over. ?3 NULL keeps the pending code; ?5 is 1 to count a send. */   \
	X(SESSION_BIND,                                                        \
	  "INSERT INTO sessions (hash, phone, authenticated, expires,"         \
	  " pending_id, pending_phone, sends)"                                 \
	  " VALUES (?1, '', 0, ?2, coalesce(?3, ''), coalesce(?4, ''), ?5)"    \
	  " ON CONFLICT (hash) DO UPDATE SET"                                  \
	  " phone = CASE WHEN expires > ?6 THEN phone ELSE '' END,"            \
	  " authenticated = CASE WHEN expires > ?6 THEN authenticated"         \
	  "  ELSE 0 END,"                                                      \
	  " expires = CASE WHEN expires > ?6"                                  \
	  "  THEN max(expires, excluded.expires) ELSE excluded.expires END,"   \
	  " pending_id = CASE WHEN ?3 IS NOT NULL THEN excluded.pending_id"    \
	  "  WHEN expires > ?6 THEN pending_id ELSE '' END,"                   \
	  " pending_phone = CASE WHEN ?3 IS NOT NULL"                          \
	  "  THEN excluded.pending_phone"                                      \
	  "  WHEN expires > ?6 THEN pending_phone ELSE '' END,"                \
	  " sends = CASE WHEN expires > ?6 THEN sends ELSE 0 END + ?5")        \
	X(SESSION_PUT, "INSERT OR REPLACE INTO sessions (hash, phone,"         \
		       " authenticated, expires, pending_id, pending_phone,"   \
		       " sends) VALUES (?1, ?2, ?3, ?4, '', '', 0)")           \
	X(SESSION_GET, "SELECT phone, authenticated, expires, pending_id,"     \
		       " pending_phone, sends"                                 \
		       " FROM sessions WHERE hash = ?1 AND expires > ?2")      \
	X(SESSION_DELETE, "DELETE FROM sessions WHERE hash = ?1")              \
	X(SESSION_DELETE_LIVE, "DELETE FROM sessions"                          \
			       " WHERE hash = ?1 AND expires > ?2")            \
	X(LIMIT_GET, "SELECT tat FROM limits WHERE key = ?1")                  \
	X(LIMIT_PUT, "INSERT INTO limits (key, tat) VALUES (?1, ?2)"           \
		     " ON CONFLICT (key) DO UPDATE SET tat = excluded.tat")    \
	X(KEY_PUT, "INSERT INTO apikeys (id, name, hash, created, revoked)"    \
		   " VALUES (?1, ?2, ?3, ?4, ?5)")                             \
	X(KEY_GET, "SELECT id, name, hash, created, revoked FROM apikeys"      \
		   " WHERE id = ?1")                                           \
	X(KEY_LIST, "SELECT id, name, hash, created, revoked FROM apikeys"     \
		    " ORDER BY created, id LIMIT ?1")                          \
	X(KEY_REVOKE, "UPDATE apikeys SET revoked ="                           \
		      " CASE WHEN revoked = 0 THEN ?2 ELSE revoked END"        \
		      " WHERE id = ?1")                                        \
	X(MSG_INSERT,                                                          \
	  "INSERT INTO outbox (request_id, to_phone, body, state,"             \
	  " attempts, driver, next_at, lease_until, expires, last_error,"      \
	  " created, updated)"                                                 \
	  " VALUES (?1, ?2, ?3, 'queued', 0, 0, ?4, 0, ?5, '', ?4, ?4)")       \
	/* Oldest due first (then by id), as the Redis backend does: a MERGE   \
	 * of two index searches, no sort (EXPLAIN QUERY PLAN). */             \
	X(MSG_DUE, "SELECT id, request_id, to_phone, body, attempts, driver,"  \
		   " expires, next_at FROM outbox"                             \
		   " WHERE state = 'queued' AND next_at <= ?1"                 \
		   " UNION ALL"                                                \
		   " SELECT id, request_id, to_phone, body, attempts, driver," \
		   " expires, lease_until FROM outbox"                         \
		   " WHERE state = 'sending' AND lease_until <= ?1"            \
		   " ORDER BY 8, 1 LIMIT ?2")                                  \
	X(MSG_LEASE, "UPDATE outbox SET state = 'sending', lease_until = ?2,"  \
		     " attempts = attempts + 1, updated = ?3 WHERE id = ?1")   \
	X(MSG_ACK, "UPDATE outbox SET state = 'sent', body = NULL,"            \
		   " lease_until = 0, updated = ?3"                            \
		   " WHERE id = ?1 AND state = 'sending' AND attempts = ?2")   \
	X(MSG_RETRY, "UPDATE outbox SET state = 'queued', next_at = ?3,"       \
		     " driver = ?4, lease_until = 0, last_error = ?5,"         \
		     " updated = ?6"                                           \
		     " WHERE id = ?1 AND state = 'sending' AND attempts = ?2") \
	X(MSG_FAIL, "UPDATE outbox SET state = ?3,"                            \
		    " body = CASE WHEN ?3 = 'failed' THEN body END,"           \
		    " lease_until = 0, last_error = ?4, updated = ?5"          \
		    " WHERE id = ?1 AND state = 'sending' AND attempts = ?2")  \
	X(MSG_REPORT, "UPDATE outbox SET state = ?2, updated = ?3"             \
		      " WHERE id = ?1"                                         \
		      " AND state IN ('sent', 'delivered', 'undelivered')")    \
	X(MSG_REQUEUE, "UPDATE outbox SET state = 'queued', driver = 0,"       \
		       " next_at = ?2, lease_until = 0, updated = ?2"          \
		       " WHERE id = ?1 AND state = 'failed'"                   \
		       " AND body IS NOT NULL")                                \
	X(MSG_EXISTS, "SELECT 1 FROM outbox WHERE id = ?1")                    \
	X(MSG_LIST, "SELECT id, request_id, to_phone, state, attempts,"        \
		    " driver, next_at, expires, updated, last_error"           \
		    " FROM outbox WHERE ?1 IS NULL OR state = ?1"              \
		    " ORDER BY id DESC LIMIT ?2")                              \
	X(MSG_STATE, "SELECT state FROM outbox WHERE request_id = ?1"          \
		     " ORDER BY id DESC LIMIT 1")                              \
	X(PURGE_CODES, "DELETE FROM codes WHERE expires < ?1")                 \
	X(PURGE_MSGS, "DELETE FROM outbox WHERE expires < ?1")                 \
	X(PURGE_IDEM, "DELETE FROM idem WHERE expires <= ?1")                  \
	X(PURGE_SESSIONS, "DELETE FROM sessions WHERE expires <= ?1")          \
	X(PURGE_LIMITS, "DELETE FROM limits WHERE tat <= ?1")

enum stmt {
#define STMT_ENUM_(name, sql) ST_##name,
	STATEMENTS(STMT_ENUM_)
#undef STMT_ENUM_
	    ST_COUNT
};

static const char *const sqls[ST_COUNT] = {
#define STMT_SQL_(name, sql) [ST_##name] = sql,
    STATEMENTS(STMT_SQL_)
#undef STMT_SQL_
};

/* A connection and every statement prepared on it. */
struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
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

static struct sq *cast(struct otp_store *s)
{
	return (struct sq *)s;
}

/* Returns a cached statement to its pristine state for the next use. */
static void done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Steps a statement that returns no rows, then resets it. */
static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	done(st);
	return rc == SQLITE_DONE ? 0 : otp_sqlite_err(rc);
}

/* Binds at most max - 1 bytes of a NUL-terminated field of a fixed array. */
static void bind_str(sqlite3_stmt *st, int i, const char *t, size_t max)
{
	sqlite3_bind_text(st, i, t, (int)strnlen(t, max - 1), SQLITE_STATIC);
}

/* Binds an error text cut to OTP_ERROR_TEXT_MAX - 1 bytes, never inside a
 * UTF-8 sequence. */
static void bind_error(sqlite3_stmt *st, int i, const char *error)
{
	if (!error)
		error = "";
	size_t n = strnlen(error, OTP_ERROR_TEXT_MAX - 1);
	if (error[n] != '\0')
		while (n > 0 && ((unsigned char)error[n] & 0xc0) == 0x80)
			n--;
	sqlite3_bind_text(st, i, error, (int)n, SQLITE_STATIC);
}

static void copy_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

/* Index of column `col`'s text in names[], or -1. */
static int parse_state(sqlite3_stmt *st, int col, const char *const *names,
		       size_t count)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	for (int i = 0; t && (size_t)i < count; i++)
		if (strcmp(t, names[i]) == 0)
			return i;
	return -1;
}

/* Starts a write operation on the file's writer (sqlite_commit.h): *q is
 * the writer's connection, for this thread until end(). On an error the
 * operation is over already. */
static int begin(struct sq *h, struct conn **q)
{
	void *user;
	int rc = otp_sqlite_writer_begin(h->w, &h->t, &user);
	*q = user;
	return rc;
}

/* Ends it: keeps its work if rc is 0, undoes it alone otherwise, and returns
 * once it is committed: rc, or the commit's error. */
static int end(struct sq *h, int rc)
{
	return otp_sqlite_writer_end(h->w, &h->t, rc);
}

/* With must_hit, a statement that changed no row is OTP_ENOTFOUND. */
static int hit(struct conn *q, int rc, bool must_hit)
{
	if (rc == 0 && must_hit && sqlite3_changes(q->db) == 0)
		return OTP_ENOTFOUND;
	return rc;
}

static int read_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return otp_sqlite_err(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : otp_sqlite_err(rc);
}

/* Brings the file to SCHEMA_VERSION. Several openers may race here: the
 * version is read again under the write lock, so only one migrates. */
static int migrate(sqlite3 *db)
{
	int have, rc = read_version(db, &have);
	if (rc == 0 && have == SCHEMA_VERSION)
		return 0;
	if (rc == 0 && (have < 0 || have > SCHEMA_VERSION))
		return OTP_EINTERNAL; /* made by a newer otpd: do not touch */
	if (rc)
		return rc;
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return otp_sqlite_err(rc);
	int err = read_version(db, &have);
	if (err == 0 && (have < 0 || have > SCHEMA_VERSION))
		err = OTP_EINTERNAL;
	for (int v = have; err == 0 && v < SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			err = otp_sqlite_err(rc);
	}
	if (err == 0 && have < SCHEMA_VERSION) {
		/* A PRAGMA takes no parameters; the number is ours. */
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d",
			 SCHEMA_VERSION);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			err = otp_sqlite_err(rc);
	}
	if (err == 0) {
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			err = otp_sqlite_err(rc);
	}
	if (err && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

/* Switching a file to WAL takes an exclusive lock that SQLite does not wait
 * for with the busy handler, so two processes opening a brand-new file at
 * once could fail here: wait and retry, up to the busy timeout. Once the
 * file is in WAL (it stays so) this is a no-op. */
static int set_wal(sqlite3 *db)
{
	for (int waited = 0;; waited += 10) {
		int rc = sqlite3_exec(db,
				      "PRAGMA journal_mode = WAL;"
				      "PRAGMA synchronous = NORMAL;",
				      NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		if ((rc & 0xff) != SQLITE_BUSY || waited >= BUSY_MS)
			return otp_sqlite_err(rc);
		sqlite3_sleep(10);
	}
}

/* Finalizes what was prepared on c and closes it; NULLs are no-ops. */
static void conn_close(struct conn *c)
{
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
}

static int prepare_all(struct conn *c)
{
	for (int i = 0; i < ST_COUNT; i++) {
		int rc = sqlite3_prepare_v3(c->db, sqls[i], -1,
					    SQLITE_PREPARE_PERSISTENT,
					    &c->st[i], NULL);
		if (rc != SQLITE_OK)
			return otp_sqlite_err(rc);
	}
	return 0;
}

/* The writer's init and fini (sqlite_commit.h): its connection gets its
 * own copy of the statements; the writer closes the connection itself. */
static int writer_init(sqlite3 *db, void **user)
{
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->db = db;
	*user = c;
	return prepare_all(c);
}

static void writer_fini(void *user)
{
	struct conn *c = user;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	free(c);
}

static void close_db(struct otp_store *s)
{
	struct sq *h = cast(s);
	conn_close(&h->rd);
	otp_sqlite_writer_put(h->w);
	free(h);
}

static int open_db(const char *arg, struct otp_store **out)
{
	*out = NULL;
	if (!arg || !*arg || !sqlite3_threadsafe() || sodium_init() < 0)
		return OTP_EINTERNAL;
	struct sq *h = calloc(1, sizeof *h);
	if (!h)
		abort();
	h->base.ops = &otp_store_sqlite_ops;
	/* NOMUTEX: a handle belongs to one thread at a time (store.h). */
	int rc = sqlite3_open_v2(arg, &h->rd.db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
				 NULL);
	int err = OTP_EINTERNAL;
	if (rc != SQLITE_OK)
		goto fail_setup;
	sqlite3_extended_result_codes(h->rd.db, 1);
	sqlite3_busy_timeout(h->rd.db, BUSY_MS);
	err = set_wal(h->rd.db);
	if (err)
		goto fail_setup;
	err = migrate(h->rd.db);
	if (err)
		goto fail_setup;
	err = prepare_all(&h->rd);
	if (err)
		goto fail_setup;
	/* After the migration: the writer prepares against the schema. */
	err = otp_sqlite_writer_get(arg, writer_init, writer_fini, &h->w);
	if (err)
		goto fail_setup;
	*out = &h->base;
	return 0;
fail_setup:
	close_db(&h->base); /* NULLs are no-ops */
	return err;
}

static int ping(struct otp_store *s)
{
	sqlite3_stmt *st = cast(s)->rd.st[ST_PING];
	int rc = sqlite3_step(st);
	done(st);
	return rc == SQLITE_ROW ? 0 : otp_sqlite_err(rc);
}

/* Binds the session upsert (SESSION_BIND) and runs it. */
static int bind_session(struct conn *q, const struct otp_session_bind *b,
			const char *pending_id, const char *pending_phone,
			bool count_send, int64_t now)
{
	sqlite3_stmt *st = q->st[ST_SESSION_BIND];
	sqlite3_bind_blob(st, 1, b->hash, OTP_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, b->expires_ms);
	if (pending_id) {
		bind_str(st, 3, pending_id, OTP_PENDING_MAX);
		bind_str(st, 4, pending_phone ? pending_phone : "",
			 OTP_PHONE_MAX);
	}
	sqlite3_bind_int(st, 5, count_send ? 1 : 0);
	sqlite3_bind_int64(st, 6, now);
	return run(st);
}

/* Looks up a live idempotency key: fills out for a replay of the same
 * phone, OTP_ECONFLICT for another phone, 0 with out untouched if none. */
static int idem_find(struct conn *q, const struct otp_idem *k,
		     const char *phone, int64_t now, struct otp_issue_out *out)
{
	sqlite3_stmt *st = q->st[ST_IDEM_GET];
	bind_str(st, 1, k->key, OTP_IDEM_KEY_MAX);
	sqlite3_bind_int64(st, 2, now);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		char first[OTP_PHONE_MAX];
		copy_text(st, 1, first, sizeof first);
		if (strncmp(first, phone, OTP_PHONE_MAX) != 0) {
			done(st);
			return OTP_ECONFLICT;
		}
		copy_text(st, 0, out->id, sizeof out->id);
		out->expires_ms = sqlite3_column_int64(st, 2);
		out->replayed = true;
	}
	done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : otp_sqlite_err(rc);
}

static int idem_put(struct conn *q, const struct otp_idem *k,
		    const struct otp_code_new *code)
{
	sqlite3_stmt *st = q->st[ST_IDEM_PUT];
	bind_str(st, 1, k->key, OTP_IDEM_KEY_MAX);
	bind_str(st, 2, code->id, OTP_ID_LEN + 1);
	bind_str(st, 3, code->phone, OTP_PHONE_MAX);
	sqlite3_bind_int64(st, 4, code->expires_ms);
	sqlite3_bind_int64(st, 5, k->expires_ms);
	return run(st);
}

/* The key is looked up under the write lock BEGIN IMMEDIATE takes, so two
 * issues under one key, from any thread or process, are serialised: the
 * second one sees the first one's row. */
static int take_in_tx(struct conn *q, const struct otp_limit *lims, size_t n,
		      int64_t now, int64_t *longest);

static int issue(struct otp_store *s, const struct otp_issue *in, int64_t now,
		 struct otp_issue_out *out)
{
	struct sq *h = cast(s);
	struct conn *q;
	const struct otp_code_new *code = &in->code;
	memset(out, 0, sizeof *out);
	int rc = begin(h, &q);
	if (rc)
		return rc;
	if (in->idem) {
		rc = idem_find(q, in->idem, code->phone, now, out);
		if (rc || out->replayed)
			goto out;
	}
	if (in->nlimits) {
		int64_t longest = 0;
		rc = take_in_tx(q, in->limits, in->nlimits, now, &longest);
		if (rc == OTP_ELIMITED) {
			rc = end(h, rc);
			memset(out, 0, sizeof *out);
			out->retry_ms = longest;
			return rc;
		}
		if (rc)
			goto out;
	}
	sqlite3_stmt *st = q->st[ST_CODE_RETIRE];
	bind_str(st, 1, code->phone, OTP_PHONE_MAX);
	rc = run(st);
	if (rc)
		goto out;

	st = q->st[ST_CODE_INSERT];
	bind_str(st, 1, code->id, OTP_ID_LEN + 1);
	bind_str(st, 2, code->phone, OTP_PHONE_MAX);
	sqlite3_bind_blob(st, 3, code->mac, OTP_MAC_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, code->attempts);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, code->expires_ms);
	rc = run(st);
	if (rc)
		goto out;

	st = q->st[ST_MSG_INSERT];
	bind_str(st, 1, code->id, OTP_ID_LEN + 1);
	bind_str(st, 2, code->phone, OTP_PHONE_MAX);
	/* Never NULL for a queued message: NULL means "wiped". */
	rc = sqlite3_bind_blob64(st, 3, in->body ? (const void *)in->body : "",
				 in->body ? in->body_len : 0, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, code->expires_ms);
	if (rc != SQLITE_OK) {
		done(st);
		rc = OTP_EINTERNAL; /* too big for a blob */
		goto out;
	}
	rc = run(st);
	if (rc == 0 && in->idem)
		rc = idem_put(q, in->idem, code);
	if (rc == 0 && in->bind)
		rc = bind_session(q, in->bind, code->id, code->phone, false,
				  now);
	if (rc == 0) {
		memcpy(out->id, code->id, sizeof out->id);
		out->id[OTP_ID_LEN] = '\0';
		out->expires_ms = code->expires_ms;
	}
out:
	rc = end(h, rc);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}

static int code_info(struct otp_store *s, const char *id,
		     struct otp_code_info *out)
{
	sqlite3_stmt *st = cast(s)->rd.st[ST_CODE_INFO];
	memset(out, 0, sizeof *out);
	bind_str(st, 1, id, OTP_ID_LEN + 1);
	int rc = sqlite3_step(st), state = -1, msg = -1;
	if (rc == SQLITE_ROW) {
		copy_text(st, 0, out->phone, sizeof out->phone);
		state = parse_state(st, 1, otp_code_state_names,
				    COUNT(otp_code_state_names));
		out->attempts_left = sqlite3_column_int(st, 2);
		out->created_ms = sqlite3_column_int64(st, 3);
		out->expires_ms = sqlite3_column_int64(st, 4);
		/* Issued together, purged together: no message is a fault. */
		msg = parse_state(st, 5, otp_msg_state_names,
				  COUNT(otp_msg_state_names));
	}
	done(st);
	if (rc == SQLITE_DONE)
		return OTP_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return otp_sqlite_err(rc);
	if (state < 0 || msg < 0) {
		memset(out, 0, sizeof *out);
		return OTP_EINTERNAL;
	}
	out->state = (enum otp_code_state)state;
	out->msg_state = (enum otp_msg_state)msg;
	return 0;
}

static int set_code(struct conn *q, const char *id, enum otp_code_state state,
		    int attempts_left)
{
	sqlite3_stmt *st = q->st[ST_CODE_SET];
	bind_str(st, 1, id, OTP_ID_LEN + 1);
	sqlite3_bind_text(st, 2, otp_code_state_names[state], -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(st, 3, attempts_left);
	return run(st);
}

/* Writes (or overwrites) an authenticated session with no pending code. */
static int put_login(struct conn *q, const unsigned char hash[OTP_HASH_LEN],
		     const char *phone, int64_t expires_ms, int64_t now)
{
	sqlite3_stmt *st = q->st[ST_SESSION_PUT];
	sqlite3_bind_blob(st, 1, hash, OTP_HASH_LEN, SQLITE_STATIC);
	bind_str(st, 2, phone, OTP_PHONE_MAX);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, expires_ms);
	return run(st);
}

/* Replaces session old_hash by an authenticated session new_hash. */
static int rotate(struct conn *q, const struct otp_verify_in *in,
		  const char *phone, int64_t now)
{
	sqlite3_stmt *st = q->st[ST_SESSION_DELETE];
	sqlite3_bind_blob(st, 1, in->old_hash, OTP_HASH_LEN, SQLITE_STATIC);
	int rc = run(st);
	if (rc)
		return rc;
	return put_login(q, in->new_hash, phone, in->session_expires_ms, now);
}

static int verify(struct otp_store *s, const struct otp_verify_in *in,
		  int64_t now, struct otp_verify_out *out)
{
	struct sq *h = cast(s);
	struct conn *q;
	memset(out, 0, sizeof *out);
	out->result = OTP_VERIFY_NOTFOUND;
	int rc = begin(h, &q);
	if (rc)
		return rc;

	sqlite3_stmt *st = q->st[ST_CODE_GET];
	bind_str(st, 1, in->id, OTP_ID_LEN + 1);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		done(st);
		return end(h, rc == SQLITE_DONE ? 0 : otp_sqlite_err(rc));
	}
	copy_text(st, 0, out->phone, sizeof out->phone);
	const void *mac = sqlite3_column_blob(st, 1);
	bool match = sqlite3_column_bytes(st, 1) == OTP_MAC_LEN &&
		     sodium_memcmp(mac, in->mac, OTP_MAC_LEN) == 0;
	int left = sqlite3_column_int(st, 2);
	int state = parse_state(st, 3, otp_code_state_names,
				COUNT(otp_code_state_names));
	int64_t expires = sqlite3_column_int64(st, 4);
	done(st);

	out->attempts_left = left;
	rc = 0;
	if (state == OTP_CODE_USED) {
		out->result = OTP_VERIFY_USED;
	} else if (state == OTP_CODE_DEAD || state == OTP_CODE_RETIRED) {
		out->result = OTP_VERIFY_DEAD;
	} else if (state != OTP_CODE_PENDING) {
		rc = OTP_EINTERNAL;
	} else if (now >= expires) {
		out->result = OTP_VERIFY_EXPIRED;
	} else if (match && !in->force_fail &&
		   (!in->expect_phone[0] ||
		    strcmp(in->expect_phone, out->phone) == 0)) {
		rc = set_code(q, in->id, OTP_CODE_USED, left);
		if (rc == 0 && in->rotate)
			rc = rotate(q, in, out->phone, now);
		out->result = OTP_VERIFY_OK;
	} else {
		left = left > 1 ? left - 1 : 0;
		rc = set_code(q, in->id,
			      left ? OTP_CODE_PENDING : OTP_CODE_DEAD, left);
		out->result = OTP_VERIFY_WRONG;
		out->attempts_left = left;
	}
	rc = end(h, rc);
	if (rc) {
		memset(out, 0, sizeof *out);
		out->result = OTP_VERIFY_NOTFOUND;
	}
	return rc;
}

static int get_tat(struct conn *q, const char *key, int64_t *tat)
{
	sqlite3_stmt *st = q->st[ST_LIMIT_GET];
	bind_str(st, 1, key, OTP_LIMIT_KEY_MAX);
	int rc = sqlite3_step(st);
	*tat = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : otp_sqlite_err(rc);
}

static int put_tat(struct conn *q, const char *key, int64_t tat)
{
	sqlite3_stmt *st = q->st[ST_LIMIT_PUT];
	bind_str(st, 1, key, OTP_LIMIT_KEY_MAX);
	sqlite3_bind_int64(st, 2, tat);
	return run(st);
}

/* Takes as it goes, inside the transaction, so a key named twice counts
 * twice; any refusal rolls the whole call back. */
/* Inside an open transaction: takes from all n limits or returns
 * OTP_ELIMITED with *longest the longest wait (the caller rolls back). */
static int take_in_tx(struct conn *q, const struct otp_limit *lims, size_t n,
		      int64_t now, int64_t *longest)
{
	int rc = 0;
	bool refused = false;
	*longest = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct otp_limit *l = &lims[i];
		int64_t tat, next = 0, wait = 0;
		if (l->rate.interval_ms <= 0)
			continue;
		rc = get_tat(q, l->key, &tat);
		if (rc)
			break;
		if (!otp_gcra_take(&l->rate, tat, now, &next, &wait)) {
			refused = true;
			if (wait > *longest)
				*longest = wait;
		} else if (!refused) {
			rc = put_tat(q, l->key, next);
		}
	}
	return rc == 0 && refused ? OTP_ELIMITED : rc;
}

static int take(struct otp_store *s, const struct otp_limit *lims, size_t n,
		int64_t now, int64_t *retry_ms)
{
	struct sq *h = cast(s);
	struct conn *q;
	size_t live = 0;
	if (retry_ms)
		*retry_ms = 0;
	for (size_t i = 0; i < n; i++)
		live += lims[i].rate.interval_ms > 0;
	if (!live)
		return 0;
	int rc = begin(h, &q);
	if (rc)
		return rc;
	int64_t longest = 0;
	rc = end(h, take_in_tx(q, lims, n, now, &longest));
	if (rc == OTP_ELIMITED && retry_ms)
		*retry_ms = longest;
	return rc;
}

static int get_session(struct otp_store *s,
		       const unsigned char hash[OTP_HASH_LEN], int64_t now,
		       struct otp_session *out)
{
	sqlite3_stmt *st = cast(s)->rd.st[ST_SESSION_GET];
	memset(out, 0, sizeof *out);
	sqlite3_bind_blob(st, 1, hash, OTP_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		copy_text(st, 0, out->phone, sizeof out->phone);
		out->authenticated_ms = sqlite3_column_int64(st, 1);
		out->expires_ms = sqlite3_column_int64(st, 2);
		copy_text(st, 3, out->pending_id, sizeof out->pending_id);
		copy_text(st, 4, out->pending_phone, sizeof out->pending_phone);
		out->sends = sqlite3_column_int(st, 5);
	}
	done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? OTP_ENOTFOUND : otp_sqlite_err(rc);
}

static int session_bind(struct otp_store *s, const struct otp_session_bind *b,
			const char *pending_id, const char *pending_phone,
			bool count_send, int64_t now)
{
	struct sq *h = cast(s);
	struct conn *q;
	int rc = begin(h, &q);
	if (rc)
		return rc;
	rc = bind_session(q, b, pending_id, pending_phone, count_send, now);
	return end(h, rc);
}

static int session_rotate(struct otp_store *s,
			  const unsigned char old_hash[OTP_HASH_LEN],
			  const unsigned char new_hash[OTP_HASH_LEN],
			  const char *phone, int64_t expires_ms, int64_t now)
{
	struct sq *h = cast(s);
	struct conn *q;
	int rc = begin(h, &q);
	if (rc)
		return rc;
	sqlite3_stmt *st = q->st[ST_SESSION_DELETE_LIVE];
	sqlite3_bind_blob(st, 1, old_hash, OTP_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	rc = run(st);
	if (rc == 0 && sqlite3_changes(q->db) == 0)
		rc = OTP_ENOTFOUND;
	if (rc == 0)
		rc = put_login(q, new_hash, phone, expires_ms, now);
	return end(h, rc);
}

static int delete_session(struct otp_store *s,
			  const unsigned char hash[OTP_HASH_LEN])
{
	struct sq *h = cast(s);
	struct conn *q;
	int rc = begin(h, &q);
	if (rc)
		return rc;
	sqlite3_stmt *st = q->st[ST_SESSION_DELETE];
	sqlite3_bind_blob(st, 1, hash, OTP_HASH_LEN, SQLITE_STATIC);
	return end(h, run(st));
}

static int key_put(struct otp_store *s, const struct otp_apikey *k)
{
	struct sq *h = cast(s);
	struct conn *q;
	int rc = begin(h, &q);
	if (rc)
		return rc;
	sqlite3_stmt *st = q->st[ST_KEY_PUT];
	bind_str(st, 1, k->id, OTP_KEY_ID_LEN + 1);
	bind_str(st, 2, k->name, OTP_KEY_NAME_MAX);
	sqlite3_bind_blob(st, 3, k->hash, OTP_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, k->created_ms);
	sqlite3_bind_int64(st, 5, k->revoked_ms);
	rc = sqlite3_step(st);
	done(st);
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		rc = OTP_ECONFLICT;
	else
		rc = otp_sqlite_err(rc);
	return end(h, rc);
}

/* Copies the current row of ST_KEY_GET or ST_KEY_LIST into k. */
static void copy_key(sqlite3_stmt *st, struct otp_apikey *k)
{
	memset(k, 0, sizeof *k);
	copy_text(st, 0, k->id, sizeof k->id);
	copy_text(st, 1, k->name, sizeof k->name);
	const void *hash = sqlite3_column_blob(st, 2);
	if (hash && sqlite3_column_bytes(st, 2) == OTP_HASH_LEN)
		memcpy(k->hash, hash, OTP_HASH_LEN);
	k->created_ms = sqlite3_column_int64(st, 3);
	k->revoked_ms = sqlite3_column_int64(st, 4);
}

static int key_get(struct otp_store *s, const char *id, struct otp_apikey *out)
{
	sqlite3_stmt *st = cast(s)->rd.st[ST_KEY_GET];
	memset(out, 0, sizeof *out);
	bind_str(st, 1, id, OTP_KEY_ID_LEN + 1);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		copy_key(st, out);
	done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? OTP_ENOTFOUND : otp_sqlite_err(rc);
}

static int key_list(struct otp_store *s, struct otp_apikey *out, size_t max,
		    size_t *n)
{
	sqlite3_stmt *st = cast(s)->rd.st[ST_KEY_LIST];
	*n = 0;
	if (max == 0)
		return 0;
	sqlite3_bind_int64(st, 1, max > INT32_MAX ? INT32_MAX : (int64_t)max);
	size_t k = 0;
	int rc;
	while (k < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		copy_key(st, &out[k++]);
	done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return otp_sqlite_err(rc);
	*n = k;
	return 0;
}

static int key_revoke(struct otp_store *s, const char *id, int64_t now)
{
	struct sq *h = cast(s);
	struct conn *q;
	int rc = begin(h, &q);
	if (rc)
		return rc;
	sqlite3_stmt *st = q->st[ST_KEY_REVOKE];
	bind_str(st, 1, id, OTP_KEY_ID_LEN + 1);
	sqlite3_bind_int64(st, 2, now);
	return end(h, hit(q, run(st), true));
}

/* Copies the current row of ST_MSG_DUE into m. */
static void copy_msg(sqlite3_stmt *st, struct otp_msg *m)
{
	memset(m, 0, sizeof *m);
	m->id = sqlite3_column_int64(st, 0);
	copy_text(st, 1, m->request_id, sizeof m->request_id);
	copy_text(st, 2, m->to, sizeof m->to);
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
}

static int claim(struct otp_store *s, int64_t now, int64_t lease_ms,
		 struct otp_msg *out, size_t max, size_t *n)
{
	struct sq *h = cast(s);
	struct conn *q;
	*n = 0;
	if (max == 0)
		return 0;
	int rc = begin(h, &q);
	if (rc)
		return rc;

	/* Read them all first: updating rows under a running SELECT of the
	 * same table is asking for trouble. */
	sqlite3_stmt *st = q->st[ST_MSG_DUE];
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, max > INT32_MAX ? INT32_MAX : (int64_t)max);
	size_t k = 0;
	while (k < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		copy_msg(st, &out[k++]);
	done(st);
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : otp_sqlite_err(rc);

	st = q->st[ST_MSG_LEASE];
	for (size_t i = 0; i < k && rc == 0; i++) {
		sqlite3_bind_int64(st, 1, out[i].id);
		sqlite3_bind_int64(st, 2, now + lease_ms);
		sqlite3_bind_int64(st, 3, now);
		rc = run(st);
	}
	rc = end(h, rc);
	if (rc) {
		for (size_t i = 0; i < k; i++)
			otp_msg_deinit(&out[i]);
		return rc;
	}
	*n = k;
	return 0;
}

static int ack(struct otp_store *s, int64_t id, int lease, int64_t now)
{
	struct sq *h = cast(s);
	struct conn *q;
	int rc = begin(h, &q);
	if (rc)
		return rc;
	sqlite3_stmt *st = q->st[ST_MSG_ACK];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, lease);
	sqlite3_bind_int64(st, 3, now);
	return end(h, hit(q, run(st), true));
}

static int retry(struct otp_store *s, int64_t id, int lease, int64_t next_ms,
		 int driver, const char *error, int64_t now)
{
	struct sq *h = cast(s);
	struct conn *q;
	if (driver < 0)
		return OTP_EINTERNAL;
	int rc = begin(h, &q);
	if (rc)
		return rc;
	sqlite3_stmt *st = q->st[ST_MSG_RETRY];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, lease);
	sqlite3_bind_int64(st, 3, next_ms);
	sqlite3_bind_int(st, 4, driver);
	bind_error(st, 5, error);
	sqlite3_bind_int64(st, 6, now);
	return end(h, hit(q, run(st), true));
}

static int fail(struct otp_store *s, int64_t id, int lease,
		enum otp_msg_state state, const char *error, int64_t now)
{
	struct sq *h = cast(s);
	struct conn *q;
	if (state != OTP_MSG_FAILED && state != OTP_MSG_EXPIRED)
		return OTP_EINTERNAL;
	int rc = begin(h, &q);
	if (rc)
		return rc;
	sqlite3_stmt *st = q->st[ST_MSG_FAIL];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, lease);
	sqlite3_bind_text(st, 3, otp_msg_state_names[state], -1, SQLITE_STATIC);
	bind_error(st, 4, error);
	sqlite3_bind_int64(st, 5, now);
	return end(h, hit(q, run(st), true));
}

/* Runs a bound update of message id in the open transaction; if it changed
 * nothing, tells an unknown id (OTP_ENOTFOUND) from one in the wrong state
 * (OTP_EGONE). */
static int update_msg(struct conn *q, sqlite3_stmt *st, int64_t id)
{
	int rc = run(st);
	if (rc || sqlite3_changes(q->db) > 0)
		return rc;
	st = q->st[ST_MSG_EXISTS];
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	done(st);
	if (rc == SQLITE_ROW)
		return OTP_EGONE;
	return rc == SQLITE_DONE ? OTP_ENOTFOUND : otp_sqlite_err(rc);
}

static int report(struct otp_store *s, int64_t id, enum otp_msg_state state,
		  int64_t now)
{
	struct sq *h = cast(s);
	struct conn *q;
	if (state != OTP_MSG_DELIVERED && state != OTP_MSG_UNDELIVERED)
		return OTP_EINTERNAL;
	int rc = begin(h, &q);
	if (rc)
		return rc;
	sqlite3_stmt *st = q->st[ST_MSG_REPORT];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, otp_msg_state_names[state], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	return end(h, update_msg(q, st, id));
}

static int requeue(struct otp_store *s, int64_t id, int64_t now)
{
	struct sq *h = cast(s);
	struct conn *q;
	int rc = begin(h, &q);
	if (rc)
		return rc;
	sqlite3_stmt *st = q->st[ST_MSG_REQUEUE];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return end(h, update_msg(q, st, id));
}

static int list_msgs(struct otp_store *s, int state, struct otp_msg_info *out,
		     size_t max, size_t *n)
{
	sqlite3_stmt *st = cast(s)->rd.st[ST_MSG_LIST];
	*n = 0;
	if (state >= (int)COUNT(otp_msg_state_names))
		return OTP_EINTERNAL;
	if (max == 0)
		return 0;
	if (state >= 0)
		sqlite3_bind_text(st, 1, otp_msg_state_names[state], -1,
				  SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, max > INT32_MAX ? INT32_MAX : (int64_t)max);
	size_t k = 0;
	int rc, bad = 0;
	while (k < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct otp_msg_info *m = &out[k++];
		memset(m, 0, sizeof *m);
		m->id = sqlite3_column_int64(st, 0);
		copy_text(st, 1, m->request_id, sizeof m->request_id);
		copy_text(st, 2, m->to, sizeof m->to);
		int i = parse_state(st, 3, otp_msg_state_names,
				    COUNT(otp_msg_state_names));
		bad |= i < 0;
		m->state = i < 0 ? OTP_MSG_QUEUED : (enum otp_msg_state)i;
		m->attempts = sqlite3_column_int(st, 4);
		m->driver = sqlite3_column_int(st, 5);
		m->next_ms = sqlite3_column_int64(st, 6);
		m->expires_ms = sqlite3_column_int64(st, 7);
		m->updated_ms = sqlite3_column_int64(st, 8);
		copy_text(st, 9, m->last_error, sizeof m->last_error);
	}
	done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return otp_sqlite_err(rc);
	if (bad)
		return OTP_EINTERNAL;
	*n = k;
	return 0;
}

static int get_state(struct otp_store *s, const char *request_id,
		     enum otp_msg_state *state)
{
	sqlite3_stmt *st = cast(s)->rd.st[ST_MSG_STATE];
	bind_str(st, 1, request_id, OTP_ID_LEN + 1);
	int rc = sqlite3_step(st), i = -1;
	if (rc == SQLITE_ROW)
		i = parse_state(st, 0, otp_msg_state_names,
				COUNT(otp_msg_state_names));
	done(st);
	if (rc == SQLITE_DONE)
		return OTP_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return otp_sqlite_err(rc);
	if (i < 0)
		return OTP_EINTERNAL;
	*state = (enum otp_msg_state)i;
	return 0;
}

static int purge(struct otp_store *s, int64_t now, long *removed)
{
	static const struct {
		enum stmt st;
		int64_t grace_ms;
	} steps[] = {
	    {ST_PURGE_CODES, DAY_MS}, {ST_PURGE_MSGS, DAY_MS},
	    {ST_PURGE_IDEM, 0},	      {ST_PURGE_SESSIONS, 0},
	    {ST_PURGE_LIMITS, 0},
	};
	struct sq *h = cast(s);
	struct conn *q;
	long count = 0;
	*removed = 0;
	int rc = begin(h, &q);
	if (rc)
		return rc;
	for (size_t i = 0; i < COUNT(steps) && !rc; i++) {
		sqlite3_stmt *st = q->st[steps[i].st];
		sqlite3_bind_int64(st, 1, now - steps[i].grace_ms);
		rc = run(st);
		count += rc ? 0 : sqlite3_changes(q->db);
	}
	rc = end(h, rc);
	if (rc == 0)
		*removed = count;
	return rc;
}

const struct otp_store_ops otp_store_sqlite_ops = {
    .name = "sqlite",
    .scheme = "sqlite:",
    .form = "sqlite:PATH",
    .check = otp_store_sqlite_check,
    .home = otp_store_sqlite_home,
    .version = 2,
    .caps = OTP_STORE_CAP_ONE_PROCESS,
    .open = open_db,
    .lock = otp_store_sqlite_lock,
    .close = close_db,
    .ping = ping,
    .code_issue = issue,
    .code_get = code_info,
    .code_verify = verify,
    .limit_take = take,
    .session_get = get_session,
    .session_bind = session_bind,
    .session_rotate = session_rotate,
    .session_delete = delete_session,
    .apikey_put = key_put,
    .apikey_get = key_get,
    .apikey_list = key_list,
    .apikey_revoke = key_revoke,
    .outbox_claim = claim,
    .outbox_ack = ack,
    .outbox_retry = retry,
    .outbox_fail = fail,
    .outbox_report = report,
    .outbox_requeue = requeue,
    .outbox_list = list_msgs,
    .outbox_state = get_state,
    .purge = purge,
};
