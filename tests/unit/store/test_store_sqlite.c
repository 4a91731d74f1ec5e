/* test_store_sqlite.c - the store contract on SQLite, plus SQLite's own tests.
 *
 * Every contract test gets a fresh file in a temporary directory, opened
 * through otp_store_open("sqlite:..."). The tests below the contract are what
 * only this backend can promise: handles in several threads racing on one
 * file, state surviving a reopen, schema versions, exact purge counts, bodies
 * wiped on disk, and busy mapped to OTP_EUNAVAIL. The directory is removed at
 * the end. Time is injected except in sq_busy, which waits out the real
 * busy timeout (5 s) because that timeout is what it tests.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fiber_hold.h"
#include "harness.h"
#include "store/sqlite/sqlite.h"
#include "store/sqlite/sqlite_test.h"
#include "store/sqlite/stats.h"

#include "../../contract/contract.h"

static char dir[] = "/tmp/otpd-store-XXXXXX";
static int files;

/* A new file name in the temporary directory. */
static void name_file(char *path, size_t cap, const char *what)
{
	snprintf(path, cap, "%s/%s-%d.db", dir, what, files++);
}

static int open_path(const char *path, struct otp_store **out)
{
	char url[256];
	snprintf(url, sizeof url, "sqlite:%s", path);
	return otp_store_open(url, out);
}

/* Opens a new file named after `what`; its path into path. */
static int open_named(char *path, size_t cap, const char *what,
		      struct otp_store **out)
{
	name_file(path, cap, what);
	return open_path(path, out);
}

/* Declares path and s: a fresh store on the file named for `what`. */
#define OPEN_NAMED(what)                                                       \
	char path[128];                                                        \
	struct otp_store *s;                                                   \
	CHECK_INT(open_named(path, sizeof path, what, &s), 0)

static int open_fresh(struct otp_store **out)
{
	char path[128];
	return open_named(path, sizeof path, "contract", out);
}

/* Runs one SQL statement on a raw connection, with an optional text
 * parameter, and returns the first column of its first row (or -1). */
static int64_t query_int(sqlite3 *db, const char *sql, const char *param)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (param)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Whether EXPLAIN QUERY PLAN of sql names `step` in one of its rows
 * (the index a query walks). */
static bool plan_uses(sqlite3 *db, const char *sql, const char *step)
{
	char q[512];
	sqlite3_stmt *plan;
	bool used = false;
	snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
	if (sqlite3_prepare_v2(db, q, -1, &plan, NULL) != SQLITE_OK)
		return false;
	while (!used && sqlite3_step(plan) == SQLITE_ROW)
		used = strstr((const char *)sqlite3_column_text(plan, 3),
			      step) != NULL;
	sqlite3_finalize(plan);
	return used;
}

/* The contract's race cases count rows straight from the file. */
static char race_path[128];

static int renew_path(void)
{
	name_file(race_path, sizeof race_path, "race");
	return 0;
}

static int reopen_path(struct otp_store **out)
{
	return open_path(race_path, out);
}

static int64_t count_rows(const char *kind, const char *request_id)
{
	static const char *const sql[][2] = {
	    {"codes", "SELECT count(*) FROM codes WHERE ?1 IS NULL OR id = ?1"},
	    {"outbox", "SELECT count(*) FROM outbox"
		       " WHERE ?1 IS NULL OR request_id = ?1"},
	    {"idem", "SELECT count(*) FROM idem"
		     " WHERE ?1 IS NULL OR request_id = ?1"},
	};
	sqlite3 *db;
	int64_t v = -1;
	if (sqlite3_open(race_path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
		if (strcmp(kind, sql[i][0]) == 0)
			v = query_int(db, sql[i][1], request_id);
	sqlite3_close(db);
	return v;
}

/* ---- files ---- */

static void sq_reopen_keeps_state(void)
{
	OPEN_NAMED("reopen");
	struct otp_limit l = ct_make_limit("ph:" CT_P1, 1000, 1);
	int64_t retry;
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), 0);
	struct otp_session_bind b = ct_make_bind(0x12, CT_T0 + CT_DAY);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, &b, CT_T0), 0);
	otp_store_close(s);

	CHECK_INT(open_path(path, &s), 0);
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0 + 1, &retry),
		  OTP_ELIMITED);
	CHECK_INT(retry, 999);
	struct otp_session sess;
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0 + 2, &sess), 0);
	CHECK_STR(sess.pending_id, c.id);
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 3, &out), OTP_VERIFY_OK);
	otp_store_close(s);
}

static void sq_schema_version(void)
{
	OPEN_NAMED("fresh");
	otp_store_close(s);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	int64_t current = query_int(db, "PRAGMA user_version", NULL);
	CHECK(current >= 2);
	CHECK_INT(query_int(db,
			    "SELECT count(*) FROM sqlite_master WHERE type ="
			    " 'table' AND name IN ('codes', 'sessions',"
			    " 'limits', 'outbox', 'idem', 'apikeys')",
			    NULL),
		  6);
	CHECK_INT(query_int(db,
			    "SELECT count(*) FROM pragma_journal_mode"
			    " WHERE journal_mode = 'wal'",
			    NULL),
		  1);
	sqlite3_close(db);

	/* An older file (here: version 0, someone else's table in it) is
	 * migrated to the current version, keeping what it had. */
	name_file(path, sizeof path, "old");
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db,
			       "CREATE TABLE keep (x); INSERT INTO keep"
			       " VALUES (42)",
			       NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(open_path(path, &s), 0);
	CHECK_INT(otp_store_ping(s), 0);
	otp_store_close(s);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(query_int(db, "PRAGMA user_version", NULL), current);
	CHECK_INT(query_int(db, "SELECT x FROM keep", NULL), 42);

	/* A newer one is refused and left alone. */
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", (int)current + 1);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(open_path(path, &s), OTP_EINTERNAL);
	CHECK(s == NULL);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(query_int(db, "PRAGMA user_version", NULL), current + 1);
	sqlite3_close(db);
}

/* ---- migrations ---- */

/* The schema as otpd wrote it at version 1, frozen here on purpose: a
 * real v1 file, not whatever migration 1 says today. */
static const char v1_schema[] =
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
    "CREATE INDEX outbox_expires ON outbox (expires);"
    "PRAGMA user_version = 1;";

#define HEX32(b)                                                               \
	"X'" b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b "'"
#define V1_ID(n) "'0000000000000000000000000000000" n "'"

/* Rows of a v1 file at CT_T0 = 1700000000000 (TTL 300 s, a day 86400 s):
 * a pending code bound to a session, a used one, a dead-lettered one, a
 * logged-in session, a limit, and a message id 7 that was purged, so the
 * AUTOINCREMENT counter is ahead of the rows. */
static const char
    v1_rows[] =
	"INSERT INTO codes VALUES (" V1_ID("1") ", '" CT_P1 "', " HEX32(
	    "a1") ", 5, 'pending', 1700000000000, 1700000300000);"
		  "INSERT INTO codes VALUES (" V1_ID(
		      "2") ", '" CT_P2
			   "', " HEX32(
			       "a1") ", 5, 'used', 1700000000000, "
				     "1700000300000);"
				     "INSERT INTO codes VALUES (" V1_ID(
					 "3") ", '" CT_P3
					      "', " HEX32(
						  "a1") ", 5, 'pending', "
							"1700000000000, "
							"1700000300000);"
							"INSERT INTO sessions "
							"VALUES (" HEX32("12") ", '', 0, 1700086400000, " V1_ID(
							    "1") ");"
								 "INSERT INTO "
								 "sessions "
								 "VALUES "
								 "(" HEX32(
								     "13") ", "
									   "'" CT_P2
									   "', "
									   "170"
									   "000"
									   "000"
									   "000"
									   "0, "
									   "170"
									   "008"
									   "640"
									   "000"
									   "0, "
									   "'')"
									   ";"
									   "INS"
									   "ERT"
									   " IN"
									   "TO "
									   "lim"
									   "its"
									   " VA"
									   "LUE"
									   "S "
									   "('"
									   "ph"
									   ":" CT_P1
									   "', "
									   "170"
									   "000"
									   "000"
									   "100"
									   "0);"
									   "INS"
									   "ERT"
									   " IN"
									   "TO "
									   "out"
									   "box"
									   " VA"
									   "LUE"
									   "S "
									   "(1,"
									   " " V1_ID(
									       "1") ", '" CT_P1
										    "', X'00ff01',"
										    " 'queued', 0, 1700000000000, 0, 1700000300000, '', 1700000000000,"
										    " 1700000000000);"
										    "INSERT INTO outbox VALUES (2, " V1_ID(
											"2") ", '" CT_P2
											     "', NULL,"
											     " 'sent', 1, 1700000000000, 0, 1700000300000, '', 1700000000000,"
											     " 1700000000001);"
											     "INSERT INTO outbox VALUES (3, " V1_ID(
												 "3") ", '" CT_P3
												      "', NULL,"
												      " 'failed', 8, 1700000000000, 0, 1700000300000, 'rejected',"
												      " 1700000000000, 1700000000002);"
												      "INSERT INTO outbox VALUES (7, 'gone', '" CT_P3
												      "', NULL, 'sent', 1,"
												      " 0, 0, 0, '', 0, 0);"
												      "DELETE FROM outbox WHERE id = 7;";

static void sq_migrate_v1(void)
{
	char path[128];
	name_file(path, sizeof path, "v1");
	sqlite3 *db;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(
	    sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL),
	    SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, v1_rows, NULL, NULL, NULL), SQLITE_OK);
	/* v1 refuses the states v2 brings. */
	CHECK(sqlite3_exec(db, "UPDATE outbox SET state = 'delivered'", NULL,
			   NULL, NULL) != SQLITE_OK);
	sqlite3_close(db);

	struct otp_store *s;
	CHECK_INT(open_path(path, &s), 0);
	const char *id1 = "00000000000000000000000000000001";
	const char *id2 = "00000000000000000000000000000002";
	const char *id3 = "00000000000000000000000000000003";

	/* Sessions: kept, and the pending code's phone filled in. */
	unsigned char h[OTP_HASH_LEN];
	struct otp_session sess;
	memset(h, 0x12, sizeof h);
	CHECK_INT(otp_store_session_get(s, h, CT_T0, &sess), 0);
	CHECK_STR(sess.pending_id, id1);
	CHECK_STR(sess.pending_phone, CT_P1);
	CHECK_INT(sess.sends, 0);
	CHECK_INT(sess.expires_ms, CT_T0 + CT_DAY);
	memset(h, 0x13, sizeof h);
	CHECK_INT(otp_store_session_get(s, h, CT_T0, &sess), 0);
	CHECK_STR(sess.phone, CT_P2);
	CHECK_INT(sess.authenticated_ms, CT_T0);
	CHECK_STR(sess.pending_phone, "");

	/* Limits and codes: kept. */
	struct otp_limit l = ct_make_limit("ph:" CT_P1, 1000, 1);
	int64_t retry;
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), OTP_ELIMITED);
	CHECK_INT(retry, 1000);
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s, id2, &info), 0);
	CHECK_INT(info.state, OTP_CODE_USED);
	CHECK_INT(info.msg_state, OTP_MSG_SENT);
	CHECK_INT(otp_store_code_get(s, id3, &info), 0);
	CHECK_INT(info.msg_state, OTP_MSG_FAILED);
	struct otp_verify_in in = ct_make_try(id1, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 1, &out), OTP_VERIFY_OK);

	/* Messages: kept with their ids, driver 0, the new states allowed. */
	struct otp_msg_info li[4];
	size_t n = 9;
	CHECK_INT(otp_store_outbox_list(s, -1, li, 4, &n), 0);
	CHECK_INT(n, 3);
	CHECK_INT(li[0].id, 3);
	CHECK_STR(li[0].last_error, "rejected");
	CHECK_INT(li[0].attempts, 8);
	CHECK_INT(li[0].driver, 0);
	CHECK_INT(li[1].updated_ms, CT_T0 + 1);
	struct otp_msg m[2];
	CHECK_INT(otp_store_outbox_claim(s, CT_T0, CT_LEASE, m, 2, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(m[0].id, 1);
	CHECK_INT(m[0].driver, 0);
	CHECK_INT(m[0].body_len, 3);
	CHECK(memcmp(m[0].body, "\x00\xff\x01", 3) == 0);
	CHECK_INT(otp_store_outbox_ack(s, 1, m[0].attempts, CT_T0 + 2), 0);
	otp_msg_deinit(&m[0]);
	CHECK_INT(otp_store_outbox_report(s, 2, OTP_MSG_DELIVERED, CT_T0 + 3),
		  0);
	CHECK_INT(ct_get_state(s, id2), OTP_MSG_DELIVERED);

	/* No message id is ever reused, the purged 7 included. */
	struct otp_code_new c = ct_make_code(4, CT_P3, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0 + 4), 0);
	CHECK_INT(otp_store_outbox_list(s, OTP_MSG_QUEUED, li, 4, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(li[0].id, 8);
	otp_store_close(s);

	/* The file itself: current version, no leftovers, sound. */
	CHECK_INT(open_path(path, &s), 0);
	otp_store_close(s);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(query_int(db, "PRAGMA user_version", NULL), 10);
	CHECK_INT(query_int(db, "SELECT count(*) FROM outbox", NULL), 4);
	CHECK_INT(query_int(db,
			    "SELECT count(*) FROM sqlite_master"
			    " WHERE name LIKE '%v2%' OR name LIKE '%v7%'",
			    NULL),
		  0);
	/* v7: codes keyed by id alone, with its two indexes (v8: the
	 * retire's without the state; v9: owner first). */
	CHECK_INT(query_int(db,
			    "SELECT count(*) FROM sqlite_master WHERE name ="
			    " 'codes' AND sql LIKE '%WITHOUT ROWID'",
			    NULL),
		  1);
	CHECK_INT(query_int(db,
			    "SELECT count(*) FROM sqlite_master WHERE type ="
			    " 'index' AND tbl_name = 'codes'"
			    " AND name IN ('codes_expires',"
			    " 'codes_owner_phone')",
			    NULL),
		  2);
	CHECK_INT(query_int(db,
			    "SELECT count(*) FROM sqlite_master WHERE type ="
			    " 'index' AND tbl_name = 'codes'",
			    NULL),
		  2);
	/* the retire finds its codes through it */
	CHECK(plan_uses(db,
			"UPDATE codes SET state = 'retired' WHERE phone = 'p'"
			" AND owner = 'o' AND state = 'pending'",
			"codes_owner_phone (owner=? AND phone=?)"));
	CHECK_INT(query_int(db,
			    "SELECT count(*) FROM sqlite_master WHERE type ="
			    " 'index' AND tbl_name = 'outbox'"
			    " AND name LIKE 'outbox_%'",
			    NULL),
		  2);
	/* v10: each code names its message; the purge finds a code's
	 * message through codes_expires, not an index of the outbox. */
	CHECK_INT(query_int(db,
			    "SELECT count(*) FROM codes JOIN outbox"
			    " ON outbox.id = codes.msg"
			    " WHERE outbox.request_id = codes.id",
			    NULL),
		  4);
	CHECK(plan_uses(db,
			"DELETE FROM outbox WHERE id IN"
			" (SELECT msg FROM codes WHERE expires < 1)",
			"codes_expires (expires<?)"));
	/* v3: the claim's partial indexes replaced outbox_state_next. */
	CHECK_INT(query_int(db,
			    "SELECT count(*) FROM sqlite_master WHERE type ="
			    " 'index' AND name IN ('outbox_queued',"
			    " 'outbox_leased', 'outbox_state_next')",
			    NULL),
		  2);
	CHECK_INT(query_int(db,
			    "SELECT seq FROM sqlite_sequence"
			    " WHERE name = 'outbox'",
			    NULL),
		  8);
	CHECK_INT(query_int(db, "SELECT count(*) FROM sqlite_sequence", NULL),
		  1);
	CHECK_INT(query_int(db,
			    "SELECT count(*) FROM pragma_integrity_check"
			    " WHERE integrity_check = 'ok'",
			    NULL),
		  1);
	sqlite3_close(db);
}

static void sq_open_errors(void)
{
	struct otp_store *s;
	CHECK_INT(otp_store_open("sqlite:", &s), OTP_EINTERNAL);
	CHECK(s == NULL);
	char path[160];
	snprintf(path, sizeof path, "%s/no-such-dir/x.db", dir);
	CHECK_INT(open_path(path, &s), OTP_EINTERNAL);
	name_file(path, sizeof path, "junk");
	FILE *f = fopen(path, "w");
	CHECK(f);
	for (int i = 0; i < 100; i++)
		fputs("this is not a database file at all\n", f);
	fclose(f);
	CHECK_INT(open_path(path, &s), OTP_EINTERNAL);
	CHECK(s == NULL);
}

/* The exact counts and the one-day boundary of this backend. */
/* What a send costs in rows: one per key and bucket (hour and day), both
 * counters in it, updated in place by the next send of the hour; a member
 * is one row more. purge counts what it drops. */
static void sq_signal_rows(void)
{
	OPEN_NAMED("signals");
	int64_t t = CT_T0 - CT_T0 % CT_DAY + 6 * 3600000LL; /* 06:00 UTC */
	static const char *const keys[6] = {
	    "r:US", "p:+1415", "ip:192.0.2.1", "n:192.0.2.0/24", "k:0", "a:"};
	struct otp_signal_add adds[6];
	memset(adds, 0, sizeof adds);
	for (int i = 0; i < 6; i++) {
		snprintf(adds[i].key, sizeof adds[i].key, "%s", keys[i]);
		adds[i].n[OTP_SIG_SENT] = 1;
	}
	snprintf(adds[2].member, sizeof adds[2].member, "US");
	for (unsigned n = 1; n <= 2; n++) {
		struct otp_issue in = {
		    .code = ct_make_code(n, CT_P1, t + CT_TTL),
		    .signals = adds,
		    .nsignals = 6,
		};
		snprintf(in.code.credit, sizeof in.code.credit, "r:US a:");
		struct otp_issue_out o;
		CHECK_INT(otp_store_code_issue(s, &in, t + n, &o), 0);
	}
	char id[OTP_ID_LEN + 1];
	snprintf(id, sizeof id, "%032x", 2u);
	struct otp_verify_in in = ct_make_try(id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, t + 3, &out), OTP_VERIFY_OK);
	otp_store_close(s);

	sqlite3 *db;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(query_int(db, "SELECT count(*) FROM signals", NULL), 12);
	CHECK_INT(query_int(db, "SELECT count(*) FROM signal_members", NULL),
		  1);
	CHECK_INT(query_int(db,
			    "SELECT sum(sent) * 100 + sum(verified)"
			    " FROM signals WHERE key = ?1",
			    "r:US"),
		  2 * (2 * 100 + 1));
	CHECK_INT(
	    query_int(db, "SELECT credit = 'r:US a:' FROM codes LIMIT 1", NULL),
	    1);
	sqlite3_close(db);

	/* 25 h on: the six hour rows go (with the two codes and their
	 * messages), 49 h on the member; the day rows stay until the 15th
	 * day after. */
	CHECK_INT(open_path(path, &s), 0);
	long removed = -1;
	CHECK_INT(otp_store_purge(s, t + 25 * 3600000LL, &removed), 0);
	CHECK_INT(removed, 6 + 4);
	CHECK_INT(otp_store_purge(s, t + 49 * 3600000LL, &removed), 0);
	CHECK_INT(removed, 1);
	int64_t day15 = t - 6 * 3600000LL + 15 * CT_DAY; /* its 00:00 UTC */
	CHECK_INT(otp_store_purge(s, day15 - 1, &removed), 0);
	CHECK_INT(removed, 0);
	CHECK_INT(otp_store_purge(s, day15, &removed), 0);
	CHECK_INT(removed, 6);
	otp_store_close(s);
}

static void sq_purge_counts(void)
{
	struct otp_store *s;
	CHECK_INT(open_fresh(&s), 0);
	int64_t exp = CT_T0 + CT_TTL;
	struct otp_session_bind b = ct_make_bind(0x21, CT_T0 + 1000);
	struct otp_code_new c = ct_make_code(1, CT_P1, exp);
	struct otp_idem k = ct_make_idem(CT_IDEM_A, CT_T0 + 1000);
	struct otp_issue_out o;
	CHECK_INT(ct_issue_full(s, &c, &b, &k, CT_T0, &o), 0);
	struct otp_limit l = ct_make_limit("k", 1000, 1);
	int64_t retry;
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), 0);
	long removed = -1;
	CHECK_INT(otp_store_purge(s, CT_T0 + 999, &removed), 0);
	CHECK_INT(removed, 0);
	CHECK_INT(otp_store_purge(s, exp + CT_DAY, &removed), 0);
	CHECK_INT(removed, 3); /* session, limit, key; code and message stay */
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_QUEUED);
	CHECK_INT(otp_store_purge(s, exp + CT_DAY + 1, &removed), 0);
	CHECK_INT(removed, 2); /* code and message */
	CHECK_INT(otp_store_purge(s, exp + CT_DAY + 1, &removed), 0);
	CHECK_INT(removed, 0);
	/* The key row is gone: back in its lifetime it is a fresh send. */
	struct otp_code_new c2 = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue_full(s, &c2, NULL, &k, CT_T0 + 1, &o), 0);
	CHECK(!o.replayed);
	CHECK_STR(o.id, c2.id);
	otp_store_close(s);
}

/* The writer does not run the states' CHECK constraints (commit.c): a
 * state no table names, written behind its back, is refused by every
 * read, never taken for one it knows. */
static void sq_unknown_state(void)
{
	OPEN_NAMED("state");
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	CHECK_INT(sqlite3_exec(db,
			       "PRAGMA ignore_check_constraints = ON;"
			       "UPDATE codes SET state = 'bogus';"
			       "UPDATE outbox SET state = 'bogus';",
			       NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(db);
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s, c.id, &info), OTP_EINTERNAL);
	enum otp_msg_state st;
	CHECK_INT(otp_store_outbox_state(s, c.id, &st), OTP_EINTERNAL);
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK(ct_verify(s, &in, CT_T0 + 1, &out) != OTP_VERIFY_OK);
	otp_store_close(s);
}

static void sq_outbox_on_disk(void)
{
	OPEN_NAMED("disk");
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_code_new c2 = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	struct otp_code_new c3 = ct_make_code(3, CT_P3, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c1, NULL, CT_T0), 0);
	CHECK_INT(ct_issue(s, &c2, NULL, CT_T0), 0);
	CHECK_INT(ct_issue(s, &c3, NULL, CT_T0), 0);
	struct otp_msg m[3];
	size_t n;
	CHECK_INT(otp_store_outbox_claim(s, CT_T0, CT_LEASE, m, 3, &n), 0);
	CHECK_INT(n, 3);
	CHECK_INT(otp_store_outbox_ack(s, m[0].id, 1, CT_T0 + 1), 0);
	CHECK_INT(
	    otp_store_outbox_fail(s, m[1].id, 1, OTP_MSG_FAILED, "no", CT_T0),
	    0);
	/* 200 two-byte characters: cut to fit, between characters. */
	char err[401];
	for (int i = 0; i < 200; i++)
		memcpy(err + 2 * i, "\xc3\xa9", 2);
	err[400] = '\0';
	CHECK_INT(
	    otp_store_outbox_retry(s, m[2].id, 1, CT_T0 + 9, 0, err, CT_T0), 0);
	int64_t gone = m[2].id + 1000;
	for (int i = 0; i < 3; i++)
		otp_msg_deinit(&m[i]);

	/* Unknown ids and states are refused, not silently accepted. */
	CHECK_INT(otp_store_outbox_ack(s, gone, 1, CT_T0), OTP_ENOTFOUND);
	CHECK_INT(otp_store_outbox_retry(s, gone, 1, CT_T0, 0, "x", CT_T0),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_outbox_fail(s, gone, 1, OTP_MSG_FAILED, "x", CT_T0),
		  OTP_ENOTFOUND);
	CHECK_INT(otp_store_outbox_fail(s, 1, 1, OTP_MSG_QUEUED, "x", CT_T0),
		  OTP_EINTERNAL);
	CHECK_INT(otp_store_outbox_retry(s, gone, 1, CT_T0, -1, "x", CT_T0),
		  OTP_EINTERNAL);

	sqlite3 *db;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	/* Sent: wiped. Failed: kept sealed, for a requeue. */
	const char *body_null = "SELECT body IS NULL FROM outbox"
				" WHERE request_id = ?1";
	CHECK_INT(query_int(db, body_null, c1.id), 1);
	CHECK_INT(query_int(db, body_null, c2.id), 0);
	CHECK_INT(query_int(db, body_null, c3.id), 0);
	CHECK_INT(
	    query_int(db,
		      "SELECT length(CAST(last_error AS BLOB)) FROM outbox"
		      " WHERE request_id = ?1",
		      c3.id),
	    254);
	CHECK_INT(query_int(db,
			    "SELECT attempts FROM outbox WHERE request_id = ?1",
			    c3.id),
		  1);
	/* The store keeps MACs, never codes: nothing else to find. */
	CHECK_INT(
	    query_int(db, "SELECT length(mac) FROM codes WHERE id = ?1", c1.id),
	    OTP_MAC_LEN);
	sqlite3_close(db);
	otp_store_close(s);
}

/* A writer holding the file past the busy timeout: writes give up with
 * OTP_EUNAVAIL and roll back, reads still work (WAL), and the handle is
 * fine once the lock is gone. */
static void sq_busy(void)
{
	OPEN_NAMED("busy");
	struct otp_session_bind b = ct_make_bind(0x31, CT_T0 + CT_DAY);
	struct otp_code_new c = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c, &b, CT_T0), 0);

	sqlite3 *db;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
		  SQLITE_OK);
	struct otp_session sess;
	CHECK_INT(otp_store_session_get(s, b.hash, CT_T0, &sess), 0);
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_QUEUED);
	struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(otp_store_code_verify(s, &in, CT_T0 + 1, &out), OTP_EUNAVAIL);
	CHECK_INT(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	CHECK_INT(ct_verify(s, &in, CT_T0 + 2, &out), OTP_VERIFY_OK);
	otp_store_close(s);
}

/* ---- the shared writer: group commit and checkpoints ---- */

/* Waits until the writer of s's file has ended n operations in all, or
 * 5 s. */
static bool wait_ops(struct otp_store *s, unsigned long n)
{
	const struct timespec ms = {0, 1000000};
	for (int i = 0; i < 5000; i++) {
		struct otp_sqlite_stats st;
		otp_sqlite_stats(s, &st);
		if (st.ops >= n)
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

#define WRITERS 8
#define WRITES	50

struct writer_job {
	const char *path;
	int idx;
	int open_rc;
	int errors;
};

static void *write_codes(void *arg)
{
	struct writer_job *j = arg;
	struct otp_store *s;
	j->open_rc = open_path(j->path, &s);
	if (j->open_rc)
		return NULL;
	for (int i = 0; i < WRITES; i++) {
		char phone[OTP_PHONE_MAX];
		snprintf(phone, sizeof phone, "+1415555%02d%02d", j->idx, i);
		struct otp_code_new c = ct_make_code(
		    (unsigned)(1000 * (j->idx + 1) + i), phone, CT_T0 + CT_TTL);
		struct otp_session_bind b =
		    ct_make_bind((unsigned char)(j->idx + 1), CT_T0 + CT_DAY);
		struct otp_issue_out o;
		if (ct_issue_full(s, &c, &b, NULL, CT_T0 + i, &o) != 0 ||
		    strcmp(o.id, c.id) != 0)
			j->errors++;
	}
	otp_store_close(s);
	return NULL;
}

/* Many threads, each with its handle, write through one writer at once:
 * every answer is right and every write is there afterwards. */
static void sq_writer_many_threads(void)
{
	OPEN_NAMED("writers");
	struct writer_job j[WRITERS];
	pthread_t t[WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		j[i] = (struct writer_job){.path = path, .idx = i};
		CHECK_INT(pthread_create(&t[i], NULL, write_codes, &j[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < WRITERS; i++) {
		CHECK_INT(j[i].open_rc, 0);
		CHECK_INT(j[i].errors, 0);
	}
	struct otp_sqlite_stats st;
	otp_sqlite_stats(s, &st);
	CHECK(st.ops >= WRITERS * WRITES);
	CHECK(st.batches <= st.ops);
	for (int i = 0; i < WRITERS; i++) {
		for (int k = 0; k < WRITES; k++) {
			char id[OTP_ID_LEN + 1];
			snprintf(id, sizeof id, "%032x", 1000 * (i + 1) + k);
			struct otp_code_info info;
			CHECK_INT(otp_store_code_get(s, id, &info), 0);
			/* Each thread's last code is still pending. */
			CHECK_INT(info.state, OTP_CODE_PENDING);
			CHECK_INT(ct_get_state(s, id), OTP_MSG_QUEUED);
		}
		struct otp_session sess;
		unsigned char h[OTP_HASH_LEN];
		memset(h, i + 1, sizeof h);
		CHECK_INT(otp_store_session_get(s, h, CT_T0, &sess), 0);
	}
	otp_store_close(s);

	/* And on disk, for another process. */
	sqlite3 *db;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(query_int(db, "SELECT count(*) FROM codes", NULL),
		  WRITERS * WRITES);
	CHECK_INT(query_int(db, "SELECT count(*) FROM outbox", NULL),
		  WRITERS * WRITES);
	sqlite3_close(db);
}

/* One operation of sq_writer_batch, in its own thread. */
struct batch_op {
	const char *path;
	struct otp_store *s;
	struct otp_code_new code;
	const struct otp_idem *idem;
	const struct otp_limit *limit;
	const struct otp_signal_add *signal; /* one add, or NULL */
	bool verify;
	int rc;
	struct otp_issue_out out;
	struct otp_verify_out vout;
};

static void *run_batch_op(void *arg)
{
	struct batch_op *o = arg;
	if (o->verify) {
		struct otp_verify_in in = ct_make_try(o->code.id, CT_RIGHT);
		o->rc = otp_store_code_verify(o->s, &in, CT_T0 + 1, &o->vout);
		return NULL;
	}
	unsigned char body[8] = {1};
	struct otp_issue in = {
	    .code = o->code,
	    .body = body,
	    .body_len = sizeof body,
	    .idem = o->idem,
	    .limits = o->limit,
	    .nlimits = o->limit ? 1 : 0,
	    .signals = o->signal,
	    .nsignals = o->signal ? 1 : 0,
	};
	o->rc = otp_store_code_issue(o->s, &in, CT_T0, &o->out);
	return NULL;
}

/* Runs the n operations o[] on handles of their own on path's file, one
 * thread each and one at a time: the writer's gate holds each in one batch
 * (it ends and waits before the next starts). Then, with all of them
 * waiting, calls before_commit if given, opens the gate and checks that
 * the batch ended once. The handles are o[i].s, for the caller to close. */
static void run_held(struct otp_store *s, const char *path, struct batch_op *o,
		     int n, void (*before_commit)(void))
{
	struct otp_sqlite_writer *w = otp_sqlite_writer_peek(path);
	CHECK(w != NULL);
	for (int i = 0; i < n; i++)
		CHECK_INT(open_path(path, &o[i].s), 0);
	struct otp_sqlite_stats st0, st;
	otp_sqlite_stats(s, &st0);
	otp_sqlite_writer_gate(w, true);
	pthread_t t[16];
	CHECK(n <= 16);
	if (n > 16)
		return;
	for (int i = 0; i < n; i++) {
		CHECK_INT(pthread_create(&t[i], NULL, run_batch_op, &o[i]), 0);
		CHECK(wait_ops(s, st0.ops + (unsigned long)i + 1));
	}
	otp_sqlite_stats(s, &st);
	CHECK_INT(st.batches, st0.batches); /* nothing committed yet */
	if (before_commit)
		before_commit();
	otp_sqlite_writer_gate(w, false);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	otp_sqlite_stats(s, &st);
	CHECK_INT(st.batches, st0.batches + 1);
}

/* Operations held in one batch (the gate keeps it from committing) see the
 * work of those before them; those that fail (an idempotency conflict, a
 * limit, a second use of a code) are undone alone, and the batch commits
 * once, with the others' work. */
static void sq_writer_batch(void)
{
	OPEN_NAMED("batch");
	struct otp_idem k = ct_make_idem(CT_IDEM_A, CT_T0 + CT_DAY);
	struct otp_limit l = ct_make_limit("ph:batch", 3600000, 1);
	enum { A, B, C, D, OK1, OK2, NOPS };
	struct batch_op o[NOPS];
	memset(o, 0, sizeof o);
	o[A].code = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	o[A].idem = &k;
	o[A].limit = &l;
	o[B].code = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	o[B].idem = &k; /* same key, other phone: conflict */
	o[C].code = ct_make_code(3, CT_P3, CT_T0 + CT_TTL);
	o[C].limit = &l; /* A took the only token */
	o[D].code = ct_make_code(4, CT_P3, CT_T0 + CT_TTL);
	o[OK1].code = o[OK2].code = o[A].code;
	o[OK1].verify = o[OK2].verify = true;

	run_held(s, path, o, NOPS, NULL);

	CHECK_INT(o[A].rc, 0);
	CHECK(!o[A].out.replayed);
	CHECK_INT(o[B].rc, OTP_ECONFLICT);
	CHECK_INT(o[C].rc, OTP_ELIMITED);
	CHECK(o[C].out.retry_ms > 0);
	CHECK_INT(o[D].rc, 0);
	CHECK_INT(o[OK1].rc, 0);
	CHECK_INT(o[OK1].vout.result, OTP_VERIFY_OK);
	CHECK_STR(o[OK1].vout.phone, CT_P1);
	CHECK_INT(o[OK2].rc, 0);
	CHECK_INT(o[OK2].vout.result, OTP_VERIFY_USED);
	for (int i = 0; i < NOPS; i++)
		otp_store_close(o[i].s);

	/* Committed: what succeeded is there, what failed is not. */
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(s, o[A].code.id, &info), 0);
	CHECK_INT(info.state, OTP_CODE_USED);
	CHECK_INT(otp_store_code_get(s, o[B].code.id, &info), OTP_ENOTFOUND);
	CHECK_INT(otp_store_code_get(s, o[C].code.id, &info), OTP_ENOTFOUND);
	CHECK_INT(otp_store_code_get(s, o[D].code.id, &info), 0);
	CHECK_INT(info.state, OTP_CODE_PENDING);
	struct otp_issue_out out;
	struct otp_code_new again = ct_make_code(5, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue_full(s, &again, NULL, &k, CT_T0 + 2, &out), 0);
	CHECK(out.replayed);
	CHECK_STR(out.id, o[A].code.id);
	otp_store_close(s);
}

/* The sends an abuse_read of key "r:NG" counts this hour. */
static int64_t ng_sent(struct otp_store *s)
{
	const char *keys[1] = {"r:NG"};
	struct otp_signal sig;
	size_t n = 9;
	struct otp_abuse_read q = {.keys = keys, .n = 1, .now = CT_T0 + 1000};
	if (otp_store_abuse_read(s, &q, &sig, NULL, &n) != 0)
		return -1;
	return sig.w[OTP_SIG_SENT].hour;
}

static struct otp_store *held_reader;
static int64_t held_seen;
static void read_held(void)
{
	held_seen = ng_sent(held_reader);
}

/* abuse_read reads on the writer when it is free, so a send's rules count
 * the adds of a batch that has not committed yet (another send of the same
 * moment); while an operation runs on the writer it answers at once from
 * the read connection, with what is committed, rather than wait. */
static void sq_abuse_read_writer(void)
{
	OPEN_NAMED("abuseread");
	const struct otp_signal_add two = {.key = "r:NG", .n = {2, 0}};
	const struct otp_signal_add three = {.key = "r:NG", .n = {3, 0}};
	CHECK_INT(otp_store_signal_add(s, &two, 1, CT_T0), 0);
	CHECK_INT(ng_sent(s), 2);

	struct batch_op o;
	memset(&o, 0, sizeof o);
	o.code = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	o.signal = &three;
	held_reader = s;
	held_seen = -1;
	run_held(s, path, &o, 1, read_held);
	CHECK_INT(o.rc, 0);
	CHECK_INT(held_seen, 5); /* in the open batch */
	otp_store_close(o.s);
	CHECK_INT(ng_sent(s), 5);

	/* This thread runs an operation on the writer (holds it) and adds
	 * three more in it: the read does not wait, nor see them. */
	struct otp_sqlite_writer *w = otp_sqlite_writer_peek(path);
	CHECK(w != NULL);
	struct otp_sqlite_ticket t;
	memset(&t, 0, sizeof t);
	void *conn;
	CHECK_INT(otp_sqlite_writer_begin(w, &t, &conn), 0);
	CHECK_INT(otp_sq_signals_add_in_tx(conn, &three, 1, CT_T0), 0);
	CHECK_INT(ng_sent(s), 5);
	CHECK_INT(otp_sqlite_writer_end(w, &t, 0), 0);
	CHECK_INT(ng_sent(s), 8);
	otp_store_close(s);
}

/* A batch's signal counts are summed and written at its COMMIT: the adds
 * of a send that is undone (an idempotency conflict) never count, those of
 * the others all do; an operation adding more keys than the batch stages
 * counts each of them all the same. */
static void sq_signal_batch(void)
{
	OPEN_NAMED("sigbatch");
	struct otp_idem k = ct_make_idem(CT_IDEM_A, CT_T0 + CT_DAY);
	const struct otp_signal_add three = {.key = "r:NG", .n = {3, 0}};
	const struct otp_signal_add four = {.key = "r:NG", .n = {4, 0}};
	enum { A, B, C, NOPS };
	struct batch_op o[NOPS];
	memset(o, 0, sizeof o);
	o[A].code = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	o[A].idem = &k;
	o[A].signal = &three;
	o[B].code = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	o[B].idem = &k; /* same key, other phone: conflict, undone */
	o[B].signal = &four;
	o[C].code = ct_make_code(3, CT_P3, CT_T0 + CT_TTL);
	o[C].signal = &four;
	run_held(s, path, o, NOPS, NULL);
	CHECK_INT(o[A].rc, 0);
	CHECK_INT(o[B].rc, OTP_ECONFLICT);
	CHECK_INT(o[C].rc, 0);
	for (int i = 0; i < NOPS; i++)
		otp_store_close(o[i].s);
	CHECK_INT(ng_sent(s), 7);

	enum { N = 40 };
	struct otp_signal_add many[N];
	const char *keys[N];
	struct otp_signal got[N];
	memset(many, 0, sizeof many);
	for (int i = 0; i < N; i++) {
		snprintf(many[i].key, sizeof many[i].key, "p:+1%03d", i);
		many[i].n[OTP_SIG_SENT] = i + 1;
		keys[i] = many[i].key;
	}
	CHECK_INT(otp_store_signal_add(s, many, N, CT_T0), 0);
	CHECK_INT(otp_store_signal_read(s, keys, NULL, N, CT_T0 + 1000, got),
		  0);
	for (int i = 0; i < N; i++)
		CHECK_INT(got[i].w[OTP_SIG_SENT].hour, i + 1);
	otp_store_close(s);
}

static long file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* The checkpointer copies the WAL into the database once it has grown past
 * its threshold, truncates it once the file is idle, and stops with the
 * last handle. */
static void sq_checkpointer(void)
{
	struct otp_sqlite_stats st;
	otp_sqlite_stats(NULL, &st);
	int threads = st.checkpointers, writers = st.writers;
	char path[128], wal[160];
	name_file(path, sizeof path, "ckpt");
	snprintf(wal, sizeof wal, "%s-wal", path);
	otp_sqlite_ckpt_tune(64, 50);
	struct otp_store *s;
	int rc = open_path(path, &s);
	otp_sqlite_ckpt_tune(4000, 1000); /* the defaults, for later files */
	CHECK_INT(rc, 0);
	otp_sqlite_stats(s, &st);
	CHECK_INT(st.checkpointers, threads + 1);
	CHECK_INT(st.writers, writers + 1);
	struct otp_sqlite_ckpt *ck =
	    otp_sqlite_writer_ckpt(otp_sqlite_writer_peek(path));
	long db_before = file_size(path);
	for (unsigned i = 0; i < 200; i++) {
		char phone[OTP_PHONE_MAX];
		snprintf(phone, sizeof phone, "+1415555%04u", i);
		struct otp_code_new c = ct_make_code(i + 1, phone, CT_T0 + 1);
		CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	}
	CHECK(otp_sqlite_ckpt_wait(ck, 1, 0, 5000));
	CHECK(otp_sqlite_ckpt_wait(ck, 1, 1, 5000));
	CHECK_INT(file_size(wal), 0);
	CHECK(file_size(path) > db_before);
	otp_sqlite_stats(s, &st);
	CHECK(st.commits >= 200);
	CHECK(st.truncates >= 1);
	for (unsigned i = 0; i < 200; i++) {
		char id[OTP_ID_LEN + 1];
		snprintf(id, sizeof id, "%032x", i + 1);
		struct otp_code_info info;
		CHECK_INT(otp_store_code_get(s, id, &info), 0);
	}
	otp_store_close(s);
	otp_sqlite_stats(NULL, &st);
	CHECK_INT(st.checkpointers, threads);
	CHECK_INT(st.writers, writers);
}

/* Handles on one file share its writer, whatever the file's name; another
 * file gets its own; the last handle closes it. */
/* Writers open in this process. */
static int live_writers(void)
{
	struct otp_sqlite_stats st;
	otp_sqlite_stats(NULL, &st);
	return st.writers;
}

static void sq_writer_per_file(void)
{
	int writers = live_writers();
	char p1[128], p1b[160], p2[128];
	name_file(p1, sizeof p1, "one");
	name_file(p2, sizeof p2, "two");
	snprintf(p1b, sizeof p1b, "%s/./%s", dir, strrchr(p1, '/') + 1);
	struct otp_store *a, *b, *c;
	CHECK_INT(open_path(p1, &a), 0);
	CHECK_INT(open_path(p1b, &b), 0);
	CHECK_INT(open_path(p2, &c), 0);
	CHECK_INT(live_writers(), writers + 2);
	CHECK(otp_sqlite_writer_peek(p1) != NULL);
	CHECK(otp_sqlite_writer_peek(p1) == otp_sqlite_writer_peek(p1b));
	CHECK(otp_sqlite_writer_peek(p2) != NULL);
	CHECK(otp_sqlite_writer_peek(p1) != otp_sqlite_writer_peek(p2));

	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	struct otp_code_new c2 = ct_make_code(2, CT_P2, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(a, &c1, NULL, CT_T0), 0);
	CHECK_INT(ct_issue(c, &c2, NULL, CT_T0), 0);
	struct otp_code_info info;
	CHECK_INT(otp_store_code_get(b, c1.id, &info), 0);
	CHECK_INT(otp_store_code_get(b, c2.id, &info), OTP_ENOTFOUND);
	CHECK_INT(otp_store_code_get(c, c2.id, &info), 0);
	CHECK_INT(otp_store_code_get(c, c1.id, &info), OTP_ENOTFOUND);

	otp_store_close(a);
	CHECK_INT(live_writers(), writers + 2);
	struct otp_verify_in in = ct_make_try(c1.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(b, &in, CT_T0 + 1, &out), OTP_VERIFY_OK);
	otp_store_close(b);
	CHECK(otp_sqlite_writer_peek(p1) == NULL);
	CHECK_INT(live_writers(), writers + 1);
	otp_store_close(c);
	CHECK_INT(live_writers(), writers);
}

/* ---- the fault VFS: a full or failing disk ---- */

/* Codes and messages on disk, read by another connection. */
static void check_rows(const char *path, int codes)
{
	sqlite3 *db;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(query_int(db, "SELECT count(*) FROM codes", NULL), codes);
	CHECK_INT(query_int(db, "SELECT count(*) FROM outbox", NULL), codes);
	sqlite3_close(db);
}

/* A code_issue whose WAL writes fail (disk full, then an I/O error) fails
 * with its error (storage_full, backend_unavailable), leaves nothing of itself
 * behind, and once the disk is back the same handle issues and verifies
 * again. */
static void sq_fault_issue(void)
{
	static const int answers[] = {SQLITE_FULL, SQLITE_IOERR};
	static const int errs[] = {OTP_EFULL, OTP_EUNAVAIL};
	CHECK_INT(otp_sqlite_fault_install(), 0);
	OPEN_NAMED("fault");
	struct otp_code_new c1 = ct_make_code(1, CT_P1, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c1, NULL, CT_T0), 0);
	for (unsigned i = 0; i < 2; i++) {
		struct otp_code_new c =
		    ct_make_code(10 + i, CT_P2, CT_T0 + CT_TTL);
		unsigned long hits = otp_sqlite_fault_hits();
		otp_sqlite_fault_arm(&(struct otp_sqlite_fault){
		    .ops = OTP_FAULT_WRITE,
		    .files = OTP_FAULT_WAL,
		    .rc = answers[i],
		});
		CHECK_INT(ct_issue(s, &c, NULL, CT_T0), errs[i]);
		otp_sqlite_fault_disarm();
		/* The disk is back: the next send finds it at once. */
		otp_sqlite_writer_check_space(otp_sqlite_writer_peek(path));
		CHECK(otp_sqlite_fault_hits() > hits);
		struct otp_code_info info;
		CHECK_INT(otp_store_code_get(s, c.id, &info), OTP_ENOTFOUND);
		enum otp_msg_state st;
		CHECK_INT(otp_store_outbox_state(s, c.id, &st), OTP_ENOTFOUND);
		check_rows(path, 1);
	}
	struct otp_code_new c3 = ct_make_code(3, CT_P3, CT_T0 + CT_TTL);
	CHECK_INT(ct_issue(s, &c3, NULL, CT_T0), 0);
	struct otp_verify_in in = ct_make_try(c1.id, CT_RIGHT);
	struct otp_verify_out out;
	CHECK_INT(ct_verify(s, &in, CT_T0 + 1, &out), OTP_VERIFY_OK);
	check_rows(path, 2);
	otp_store_close(s);
	otp_sqlite_fault_uninstall();
}

/* A batch of the shared writer whose COMMIT fails (the disk is full):
 * every operation of it gets the error, none of their work is kept, and
 * the next batch commits once the disk is back. */
static void fill_disk(void)
{
	otp_sqlite_fault_arm(&(struct otp_sqlite_fault){
	    .ops = OTP_FAULT_WRITE,
	    .files = OTP_FAULT_WAL,
	    .rc = SQLITE_FULL,
	});
}

/* Every operation of a batch whose COMMIT failed on a full disk got the
 * error, and none of their codes is there. */
/* n sends, of codes 1..n, to phones[i % nphones], each adding `signal`
 * (or nothing). */
static void make_sends(struct batch_op *o, int n, const char *const *phones,
		       int nphones, const struct otp_signal_add *signal)
{
	memset(o, 0, (size_t)n * sizeof *o);
	for (int i = 0; i < n; i++) {
		o[i].code = ct_make_code((unsigned)i + 1, phones[i % nphones],
					 CT_T0 + CT_TTL);
		o[i].signal = signal;
	}
}

static void check_lost(struct otp_store *s, const char *path,
		       const struct batch_op *o, int n)
{
	for (int i = 0; i < n; i++) {
		CHECK_INT(o[i].rc, OTP_EFULL);
		struct otp_code_info info;
		CHECK_INT(otp_store_code_get(s, o[i].code.id, &info),
			  OTP_ENOTFOUND);
	}
	check_rows(path, 0);
}

static void sq_fault_commit_batch(void)
{
	enum { NOPS = 3 };
	CHECK_INT(otp_sqlite_fault_install(), 0);
	OPEN_NAMED("faultbatch");
	struct batch_op o[NOPS];
	static const char *const phones[NOPS] = {CT_P1, CT_P2, CT_P3};
	const struct otp_signal_add one = {.key = "r:NG", .n = {1, 0}};
	make_sends(o, NOPS, phones, NOPS, &one);
	run_held(s, path, o, NOPS, fill_disk);
	otp_sqlite_fault_disarm();
	unsigned long hits = otp_sqlite_fault_hits();
	check_lost(s, path, o, NOPS);
	CHECK_INT(ng_sent(s), 0); /* the counts went with the batch */
	CHECK(hits > 0);
	otp_sqlite_writer_check_space(otp_sqlite_writer_peek(path));
	for (int i = 0; i < NOPS; i++) {
		CHECK_INT(ct_issue(o[i].s, &o[i].code, NULL, CT_T0), 0);
		otp_store_close(o[i].s);
	}
	check_rows(path, NOPS);
	CHECK_INT(ng_sent(s), 0);
	otp_store_close(s);
	otp_sqlite_fault_uninstall();
}

/* Operations on fibers (core/fiber.h): a fiber whose operation ends while
 * others are ready to run parks on its COMMIT instead of sleeping its
 * thread, and one COMMIT covers them all. The first work blocks the one
 * runner until every operation is queued, so that they run back to back;
 * before_commit (if given) runs while the first of them are parked. */
static void fiber_op(void *arg)
{
	run_batch_op(arg);
}

static void run_on_fibers(struct otp_store *s, const char *path,
			  struct batch_op *o, int n)
{
	struct otp_sqlite_stats st0, st;
	for (int i = 0; i < n; i++)
		CHECK_INT(open_path(path, &o[i].s), 0);
	otp_sqlite_stats(s, &st0);
	struct otp_fibers *fs = otp_fibers_start(1, (unsigned)n + 1, 256);
	CHECK(fiber_hold(fs));
	for (int i = 0; i < n; i++)
		CHECK(otp_fibers_post(fs, fiber_op, &o[i]));
	fiber_hold_release();
	otp_fibers_stop(fs, NULL); /* every operation ran to its end */
	otp_fibers_free(fs);
	fiber_hold_done();
	otp_sqlite_stats(s, &st);
	CHECK_INT(st.ops, st0.ops + (unsigned long)n);
	CHECK_INT(st.batches, st0.batches + 1);
}

static void sq_fibers_share_one_commit(void)
{
	enum { NOPS = 6 };
	OPEN_NAMED("fibers");
	struct batch_op o[NOPS];
	make_sends(o, NOPS, (const char *const[]){CT_P1}, 1, NULL);
	run_on_fibers(s, path, o, NOPS);
	for (int i = 0; i < NOPS; i++) {
		CHECK_INT(o[i].rc, 0);
		struct otp_code_info info;
		CHECK_INT(otp_store_code_get(s, o[i].code.id, &info), 0);
		otp_store_close(o[i].s);
	}
	check_rows(path, NOPS);
	otp_store_close(s);
}

/* A failed COMMIT fails every parked fiber's operation, and none of their
 * work is kept. */
static void sq_fibers_failed_commit(void)
{
	enum { NOPS = 4 };
	CHECK_INT(otp_sqlite_fault_install(), 0);
	OPEN_NAMED("fiberfault");
	struct batch_op o[NOPS];
	make_sends(o, NOPS, (const char *const[]){CT_P2}, 1, NULL);
	fill_disk();
	run_on_fibers(s, path, o, NOPS);
	otp_sqlite_fault_disarm();
	check_lost(s, path, o, NOPS);
	for (int i = 0; i < NOPS; i++)
		otp_store_close(o[i].s);
	otp_store_close(s);
	otp_sqlite_fault_uninstall();
}

/* The environment variable's grammar. */
static void sq_fault_parse(void)
{
	struct otp_sqlite_fault f;
	CHECK_INT(otp_sqlite_fault_parse("", &f), 0);
	CHECK_INT(f.ops, OTP_FAULT_WRITE);
	CHECK_INT(f.files, OTP_FAULT_DB | OTP_FAULT_WAL);
	CHECK_INT(f.after, 1);
	CHECK_INT(f.times, 0);
	CHECK_INT(f.rc, SQLITE_FULL);
	CHECK_INT(otp_sqlite_fault_parse("op=sync,file=wal,after=3,times=2,"
					 "rc=ioerr",
					 &f),
		  0);
	CHECK_INT(f.ops, OTP_FAULT_SYNC);
	CHECK_INT(f.files, OTP_FAULT_WAL);
	CHECK_INT(f.after, 3);
	CHECK_INT(f.times, 2);
	CHECK_INT(f.rc, SQLITE_IOERR);
	static const char *const bad[] = {
	    "op=read", "after=0", "after=", "times=x", "file=db,", "rc=full;x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(otp_sqlite_fault_parse(bad[i], &f), OTP_EVALUE);
}

/* clang-format off */
static const struct harness_test tests[] = {
	TEST(sq_reopen_keeps_state),
	TEST(sq_schema_version),
	TEST(sq_migrate_v1),
	TEST(sq_open_errors),
	TEST(sq_purge_counts),
	TEST(sq_signal_rows),
	TEST(sq_unknown_state),
	TEST(sq_outbox_on_disk),
	TEST(sq_busy),
	TEST(sq_writer_many_threads),
	TEST(sq_writer_batch),
	TEST(sq_abuse_read_writer),
	TEST(sq_signal_batch),
	TEST(sq_checkpointer),
	TEST(sq_writer_per_file),
	TEST(sq_fault_issue),
	TEST(sq_fault_commit_batch),
	TEST(sq_fibers_share_one_commit),
	TEST(sq_fibers_failed_commit),
	TEST(sq_fault_parse),
};
/* clang-format on */

static const struct contract_backend backend = {open_fresh, renew_path,
						reopen_path, count_rows};
CONTRACT_MAIN("store_sqlite", dir, &backend, NULL, NULL, tests)
