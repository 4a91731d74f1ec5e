/* schema.c - the SQLite backend's tables: the append-only list of
 * migrations, applied at open under the write lock, and the switch to WAL.
 *
 * The schema is versioned by PRAGMA user_version. It does not hold the
 * statements that run on these tables (statements.h) nor open connections
 * (db.c).
 */
#include <stdio.h>

#include "core/err.h"
#include "store/sqlite/sqlite.h"

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

    /* 4: a code records its owner (the API key, or the login session, that
     * asked for it); a send retires only its own owner's codes of the
     * phone. Older rows get '' (any owner matches them, until they expire
     * minutes later). */
    "ALTER TABLE codes ADD COLUMN owner TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX codes_phone_owner_state ON codes (phone, owner, state);"
    "DROP INDEX codes_phone_state;",

    /* 5: what the backend records of itself; "phones": the seal every
     * stored phone has (phones_reseal). Rows older than seals keep their
     * E.164 text until otpd's start-up reseals them. */
    "CREATE TABLE meta ("
    " k TEXT PRIMARY KEY,"
    " v TEXT NOT NULL) WITHOUT ROWID;",

    /* 6: the abuse signals and blocks (store.h). A code keeps the signal
     * keys its acceptance credits ('' on older rows: nothing). signals:
     * one row per key and bucket with both counters in it, so a send
     * writes one row per key and bucket; bucket is the hour index
     * (now / 1 h) or, for a UTC day, -1 - the day index, so that one
     * key's rows sit together in its primary key. signal_members: the
     * members of a key's set and when each was last seen. blocks: one row
     * per scope key. The indexes on bucket, seen and created serve purge
     * and block_list; bucket's only changes when a new row is made. */
    "ALTER TABLE codes ADD COLUMN credit TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE signals ("
    " key TEXT NOT NULL,"
    " bucket INTEGER NOT NULL,"
    " sent INTEGER NOT NULL,"
    " verified INTEGER NOT NULL,"
    " PRIMARY KEY (key, bucket)) WITHOUT ROWID;"
    "CREATE INDEX signals_bucket ON signals (bucket);"
    "CREATE TABLE signal_members ("
    " key TEXT NOT NULL,"
    " member TEXT NOT NULL,"
    " seen INTEGER NOT NULL,"
    " PRIMARY KEY (key, member)) WITHOUT ROWID;"
    "CREATE INDEX signal_members_seen ON signal_members (seen);"
    "CREATE TABLE blocks ("
    " key TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL CHECK (kind IN ('deny', 'allow')),"
    " created INTEGER NOT NULL,"
    " until INTEGER NOT NULL,"
    " strikes INTEGER NOT NULL,"
    " rule TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX blocks_created ON blocks (created);",

    /* 7: codes keyed by their id alone (WITHOUT ROWID): a verify's lookup
     * walks one B-tree, not the id's index and then the rows' table (at
     * 10^6 live codes neither's leaves stay in the cache), and an issue
     * writes one tree less. Rebuilt with its rows (create, copy, drop,
     * rename) and both indexes; the state CHECK as in 1. */
    "CREATE TABLE codes_v7 ("
    " id TEXT PRIMARY KEY,"
    " phone TEXT NOT NULL,"
    " mac BLOB NOT NULL,"
    " attempts_left INTEGER NOT NULL,"
    " state TEXT NOT NULL"
    "  CHECK (state IN ('pending', 'used', 'dead', 'retired')),"
    " created INTEGER NOT NULL,"
    " expires INTEGER NOT NULL,"
    " owner TEXT NOT NULL DEFAULT '',"
    " credit TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
    "INSERT INTO codes_v7 (id, phone, mac, attempts_left, state, created,"
    " expires, owner, credit) SELECT id, phone, mac, attempts_left, state,"
    " created, expires, owner, credit FROM codes;"
    "DROP TABLE codes;"
    "ALTER TABLE codes_v7 RENAME TO codes;"
    "CREATE INDEX codes_expires ON codes (expires);"
    "CREATE INDEX codes_phone_owner_state ON codes (phone, owner, state);",

    /* 8: the index a send's retire reads names phone and owner, not the
     * state: a verify that uses (or kills) a code changes its state and
     * so moved its entry in that index too, one more page written per
     * verify. The retire reads a phone and owner's few codes instead of
     * its pending ones. */
    ("DROP INDEX codes_phone_owner_state;"
     "CREATE INDEX codes_phone_owner ON codes (phone, owner);"),

    /* 9: the same index, owner first. A phone is sealed (a keyed tag),
     * so a new code's (phone, owner) entry went to a random page, one
     * random page written a send. A login session's owner starts with
     * its token's millisecond (engine/crypto.h), so (owner, phone) takes
     * a new session's codes at the index's end; the retire reads one
     * owner's codes of one phone either way. */
    ("DROP INDEX codes_phone_owner;"
     "CREATE INDEX codes_owner_phone ON codes (owner, phone);"),

    /* 10: a code names its message (codes.msg, the outbox's id), so the
     * outbox needs no index of its own to find a code's message or to
     * purge it: outbox_request and outbox_expires go, two entries fewer
     * written a send. A message is found through its code, and purged
     * just before it (by codes_expires; both expire together). Older
     * codes learn their message from outbox_request before it is
     * dropped; messages whose code is purged already (expired) go. */
    ("ALTER TABLE codes ADD COLUMN msg INTEGER NOT NULL DEFAULT 0;"
     "UPDATE codes SET msg = coalesce((SELECT max(id) FROM outbox"
     " WHERE outbox.request_id = codes.id), 0);"
     "DELETE FROM outbox WHERE id NOT IN (SELECT msg FROM codes);"
     "DROP INDEX outbox_request;"
     "DROP INDEX outbox_expires;"),
};

#define SCHEMA_VERSION ((int)OTP_SQ_COUNT(migrations))
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

/* Runs one piece of SQL of ours (no input text): 0 or an OTP_E* error. */
static int exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : otp_sqlite_err(rc);
}

/* Brings the file to SCHEMA_VERSION. Several openers may race here: the
 * version is read again under the write lock, so only one migrates. */
int otp_sq_migrate(sqlite3 *db)
{
	int have, rc = read_version(db, &have);
	if (rc == 0 && have == SCHEMA_VERSION)
		return 0;
	if (rc == 0 && (have < 0 || have > SCHEMA_VERSION))
		return OTP_EINTERNAL; /* made by a newer otpd: do not touch */
	if (rc)
		return rc;
	rc = exec(db, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	int err = read_version(db, &have);
	if (err == 0 && (have < 0 || have > SCHEMA_VERSION))
		err = OTP_EINTERNAL;
	for (int v = have; err == 0 && v < SCHEMA_VERSION; v++)
		err = exec(db, migrations[v]);
	if (err == 0 && have < SCHEMA_VERSION) {
		/* A PRAGMA takes no parameters; the number is ours. */
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d",
			 SCHEMA_VERSION);
		err = exec(db, sql);
	}
	if (err == 0)
		err = exec(db, "COMMIT");
	if (err && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

/* Switching a file to WAL takes an exclusive lock that SQLite does not wait
 * for with the busy handler, so two processes opening a brand-new file at
 * once could fail here: wait and retry, up to the busy timeout. Once the
 * file is in WAL (it stays so) this is a no-op. */
int otp_sq_set_wal(sqlite3 *db)
{
	for (int waited = 0;; waited += 10) {
		int rc = sqlite3_exec(db,
				      "PRAGMA journal_mode = WAL;"
				      "PRAGMA synchronous = NORMAL;",
				      NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		if ((rc & 0xff) != SQLITE_BUSY || waited >= OTP_SQ_BUSY_MS)
			return otp_sqlite_err(rc);
		sqlite3_sleep(10);
	}
}
