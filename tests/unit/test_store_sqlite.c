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
#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#include "../contract/store_contract.h"

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

static int open_fresh(struct otp_store **out)
{
	char path[128];
	name_file(path, sizeof path, "contract");
	return open_path(path, out);
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

/* ---- threads racing on one file ---- */

#define RACERS 6
#define ROUNDS 40

struct racer {
	const char *path;
	pthread_barrier_t *bar;
	int open_rc;
	int results[ROUNDS]; /* verify outcome, or -1 on an error */
	int taken, limited, errors;
};

static void *race_verify(void *arg)
{
	struct racer *r = arg;
	struct otp_store *s = NULL;
	r->open_rc = open_path(r->path, &s);
	for (int i = 0; i < ROUNDS; i++) {
		pthread_barrier_wait(r->bar);
		if (r->open_rc) {
			r->results[i] = -1;
			continue;
		}
		struct otp_code_new c =
		    ct_make_code(i + 1, CT_P1, CT_T0 + CT_TTL);
		struct otp_verify_in in = ct_make_try(c.id, CT_RIGHT);
		struct otp_verify_out out;
		r->results[i] = ct_verify(s, &in, CT_T0 + 1, &out);
	}
	otp_store_close(s);
	return NULL;
}

static void sq_race_verify(void)
{
	char path[128];
	name_file(path, sizeof path, "race-verify");
	struct otp_store *s;
	CHECK_INT(open_path(path, &s), 0);
	/* One code per round, each on its own phone so none retires another. */
	for (int i = 0; i < ROUNDS; i++) {
		struct otp_code_new c =
		    ct_make_code(i + 1, CT_P1, CT_T0 + CT_TTL);
		snprintf(c.phone, sizeof c.phone, "+1415555%04d", i);
		CHECK_INT(ct_issue(s, &c, NULL, CT_T0), 0);
	}
	otp_store_close(s);

	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, RACERS);
	struct racer r[RACERS];
	pthread_t t[RACERS];
	memset(r, 0, sizeof r);
	for (int i = 0; i < RACERS; i++) {
		r[i].path = path;
		r[i].bar = &bar;
		CHECK_INT(pthread_create(&t[i], NULL, race_verify, &r[i]), 0);
	}
	for (int i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < RACERS; i++)
		CHECK_INT(r[i].open_rc, 0);
	for (int k = 0; k < ROUNDS; k++) {
		int ok = 0, used = 0;
		for (int i = 0; i < RACERS; i++) {
			ok += r[i].results[k] == OTP_VERIFY_OK;
			used += r[i].results[k] == OTP_VERIFY_USED;
		}
		CHECK_INT(ok, 1);
		CHECK_INT(used, RACERS - 1);
	}
}

static void *race_limit(void *arg)
{
	struct racer *r = arg;
	struct otp_store *s = NULL;
	/* Everyone opens the brand-new file at once: migration races too. */
	pthread_barrier_wait(r->bar);
	r->open_rc = open_path(r->path, &s);
	pthread_barrier_wait(r->bar);
	if (r->open_rc)
		return NULL;
	struct otp_limit l = ct_make_limit("race", 3600000, 5);
	for (int i = 0; i < 3; i++) {
		int64_t retry;
		int rc = otp_store_limit_take(s, &l, 1, CT_T0, &retry);
		if (rc == 0)
			r->taken++;
		else if (rc == OTP_ELIMITED)
			r->limited++;
		else
			r->errors++;
	}
	otp_store_close(s);
	return NULL;
}

static void sq_race_limit(void)
{
	char path[128];
	name_file(path, sizeof path, "race-limit");
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, RACERS);
	struct racer r[RACERS];
	pthread_t t[RACERS];
	memset(r, 0, sizeof r);
	for (int i = 0; i < RACERS; i++) {
		r[i].path = path;
		r[i].bar = &bar;
		CHECK_INT(pthread_create(&t[i], NULL, race_limit, &r[i]), 0);
	}
	for (int i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	int taken = 0, limited = 0;
	for (int i = 0; i < RACERS; i++) {
		CHECK_INT(r[i].open_rc, 0);
		CHECK_INT(r[i].errors, 0);
		taken += r[i].taken;
		limited += r[i].limited;
	}
	CHECK_INT(taken, 5);
	CHECK_INT(limited, RACERS * 3 - 5);
}

/* Processes lock through the file system, not SQLite's in-process table:
 * race children too. Each exits with how many tokens it got. */
static void sq_race_processes(void)
{
	char path[128];
	name_file(path, sizeof path, "race-proc");
	struct otp_store *s;
	CHECK_INT(open_path(path, &s), 0);
	otp_store_close(s);
	pid_t kids[RACERS];
	for (int i = 0; i < RACERS; i++) {
		kids[i] = fork();
		CHECK(kids[i] >= 0);
		if (kids[i] > 0)
			continue;
		int taken = 0;
		if (open_path(path, &s) != 0)
			_exit(100);
		struct otp_limit l = ct_make_limit("race", 3600000, 5);
		for (int k = 0; k < 3; k++) {
			int64_t retry;
			int rc = otp_store_limit_take(s, &l, 1, CT_T0, &retry);
			if (rc == 0)
				taken++;
			else if (rc != OTP_ELIMITED)
				_exit(101);
		}
		otp_store_close(s);
		_exit(taken);
	}
	int taken = 0;
	for (int i = 0; i < RACERS; i++) {
		int status;
		CHECK_INT(waitpid(kids[i], &status, 0), kids[i]);
		CHECK(WIFEXITED(status));
		CHECK(WEXITSTATUS(status) <= 3);
		taken += WEXITSTATUS(status);
	}
	CHECK_INT(taken, 5);
}

/* ---- files ---- */

static void sq_reopen_keeps_state(void)
{
	char path[128];
	name_file(path, sizeof path, "reopen");
	struct otp_store *s;
	CHECK_INT(open_path(path, &s), 0);
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
	char path[128];
	name_file(path, sizeof path, "fresh");
	struct otp_store *s;
	CHECK_INT(open_path(path, &s), 0);
	otp_store_close(s);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	int64_t current = query_int(db, "PRAGMA user_version", NULL);
	CHECK(current >= 1);
	CHECK_INT(query_int(db,
			    "SELECT count(*) FROM sqlite_master WHERE type ="
			    " 'table' AND name IN ('codes', 'sessions',"
			    " 'limits', 'outbox')",
			    NULL),
		  4);
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
static void sq_purge_counts(void)
{
	struct otp_store *s;
	CHECK_INT(open_fresh(&s), 0);
	int64_t exp = CT_T0 + CT_TTL;
	struct otp_session_bind b = ct_make_bind(0x21, CT_T0 + 1000);
	struct otp_code_new c = ct_make_code(1, CT_P1, exp);
	CHECK_INT(ct_issue(s, &c, &b, CT_T0), 0);
	struct otp_limit l = ct_make_limit("k", 1000, 1);
	int64_t retry;
	CHECK_INT(otp_store_limit_take(s, &l, 1, CT_T0, &retry), 0);
	long removed = -1;
	CHECK_INT(otp_store_purge(s, CT_T0 + 999, &removed), 0);
	CHECK_INT(removed, 0);
	CHECK_INT(otp_store_purge(s, exp + CT_DAY, &removed), 0);
	CHECK_INT(removed, 2); /* session and limit; code and message stay */
	CHECK_INT(ct_get_state(s, c.id), OTP_MSG_QUEUED);
	CHECK_INT(otp_store_purge(s, exp + CT_DAY + 1, &removed), 0);
	CHECK_INT(removed, 2); /* code and message */
	CHECK_INT(otp_store_purge(s, exp + CT_DAY + 1, &removed), 0);
	CHECK_INT(removed, 0);
	otp_store_close(s);
}

static void sq_outbox_on_disk(void)
{
	char path[128];
	name_file(path, sizeof path, "disk");
	struct otp_store *s;
	CHECK_INT(open_path(path, &s), 0);
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
	char path[128];
	name_file(path, sizeof path, "busy");
	struct otp_store *s;
	CHECK_INT(open_path(path, &s), 0);
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

/* clang-format off */
static const struct harness_test tests[] = {
	CONTRACT_TESTS,
	TEST(sq_race_verify),
	TEST(sq_race_limit),
	TEST(sq_race_processes),
	TEST(sq_reopen_keeps_state),
	TEST(sq_schema_version),
	TEST(sq_open_errors),
	TEST(sq_purge_counts),
	TEST(sq_outbox_on_disk),
	TEST(sq_busy),
};
/* clang-format on */

static void remove_dir(void)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[512];
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	contract_open = open_fresh;
	int rc =
	    harness_run("store_sqlite", tests, sizeof tests / sizeof tests[0]);
	remove_dir();
	return rc;
}
