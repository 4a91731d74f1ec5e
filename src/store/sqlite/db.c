/* db.c - the SQLite backend's handle: open, close, ping, purge, the ops
 * table of store.h, and the statement helpers every domain file uses
 * (sqlite.h).
 *
 * Opening a handle opens its read connection, puts the file in WAL mode,
 * brings the schema to its version (schema.c), prepares every statement of
 * statements.h once and joins the file's shared writer (commit.c), which
 * prepares its own copy. The operations themselves live in one file per
 * domain: codes.c, sessions.c, limits.c, keys.c, outbox.c, signals.c,
 * blocks.c.
 */
#include "store/sqlite/sqlite.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/utf8.h"
#include "store/signal_window.h"
#include "store/sqlite/stats.h"

#define DAY_MS (24LL * 60 * 60 * 1000)

extern const struct otp_store_ops otp_store_sqlite_ops;

static const char *const sqls[ST_COUNT] = {
#define STMT_SQL_(name, sql) [ST_##name] = sql,
    STATEMENTS(STMT_SQL_)
#undef STMT_SQL_
};

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
	size_t n = otp_utf8_cut(error, OTP_ERROR_TEXT_MAX - 1);
	sqlite3_bind_text(st, i, error, (int)n, SQLITE_STATIC);
}

/* The array size of each text field letter of otp_sq_bind, or 0. */
static size_t field_max(char c)
{
	switch (c) {
	case 'd':
		return OTP_ID_LEN + 1;
	case 'p':
		return OTP_SEALED_PHONE_MAX;
	case 'k':
		return OTP_KEY_ID_LEN + 1;
	case 'N':
		return OTP_KEY_NAME_MAX;
	case 'l':
		return OTP_LIMIT_KEY_MAX;
	case 'x':
		return OTP_IDEM_KEY_MAX;
	case 'q':
		return OTP_PENDING_MAX;
	case 'o':
		return OTP_OWNER_MAX;
	case 'g':
		return OTP_SIGNAL_KEY_MAX;
	case 'w':
		return OTP_SIGNAL_MEMBER_MAX;
	case 'r':
		return OTP_BLOCK_RULE_MAX;
	case 'c':
		return OTP_CREDIT_MAX;
	default:
		return 0;
	}
}

int64_t otp_sq_vbind(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	int64_t first = 0;
	bool seen = false;
	for (int i = 1; *fmt; fmt++, i++) {
		switch (*fmt) {
		case 'i': {
			int64_t v = va_arg(ap, int64_t);
			if (!seen)
				first = v;
			seen = true;
			sqlite3_bind_int64(st, i, v);
			break;
		}
		case 'n':
			sqlite3_bind_int(st, i, va_arg(ap, int));
			break;
		case 'h':
			sqlite3_bind_blob(st, i, va_arg(ap, const void *),
					  OTP_HASH_LEN, SQLITE_STATIC);
			break;
		case 'm':
			sqlite3_bind_blob(st, i, va_arg(ap, const void *),
					  OTP_MAC_LEN, SQLITE_STATIC);
			break;
		case 't':
			sqlite3_bind_text(st, i, va_arg(ap, const char *), -1,
					  SQLITE_STATIC);
			break;
		case 'e':
			bind_error(st, i, va_arg(ap, const char *));
			break;
		case '_':
			break;
		default:
			bind_str(st, i, va_arg(ap, const char *),
				 field_max(*fmt));
			break;
		}
	}
	return first;
}

/* Binds the variadic arguments of the function it is in. */
#define BIND_ARGS(st, fmt)                                                     \
	do {                                                                   \
		va_list ap_;                                                   \
		va_start(ap_, fmt);                                            \
		otp_sq_vbind(st, fmt, ap_);                                    \
		va_end(ap_);                                                   \
	} while (0)

void otp_sq_bind(sqlite3_stmt *st, const char *fmt, ...)
{
	BIND_ARGS(st, fmt);
}

int otp_sq_step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : otp_sqlite_err(rc);
}

static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	otp_sq_done(st);
	return rc == SQLITE_DONE ? 0 : otp_sqlite_err(rc);
}

int otp_sq_exec(sqlite3_stmt *st, const char *fmt, ...)
{
	BIND_ARGS(st, fmt);
	return run(st);
}

int otp_sq_row(sqlite3_stmt *st, const char *fmt, ...)
{
	BIND_ARGS(st, fmt);
	int rc = otp_sq_step(st);
	if (rc != 1)
		otp_sq_done(st);
	return rc;
}

int otp_sq_get(struct otp_store *s, enum stmt i, otp_sq_copy_fn *copy,
	       void *out, const char *fmt, ...)
{
	sqlite3_stmt *st = otp_sq_rd(s, i);
	BIND_ARGS(st, fmt);
	int rc = otp_sq_step(st);
	if (rc == 1)
		rc = copy(st, out);
	else if (rc == 0)
		rc = OTP_ENOTFOUND;
	otp_sq_done(st);
	return rc;
}

int otp_sq_read_begin(struct otp_store *s)
{
	return otp_sq_exec(otp_sq_rd(s, ST_READ_BEGIN), "");
}

int otp_sq_read_end(struct otp_store *s, int rc)
{
	/* A read-only transaction has nothing to keep: an error ends it
	 * the same way. */
	int end = otp_sq_exec(otp_sq_rd(s, rc ? ST_ROLLBACK : ST_COMMIT), "");
	return rc ? rc : end;
}

void otp_sq_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

int otp_sq_state(sqlite3_stmt *st, int col, const char *const *names,
		 size_t count)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	for (int i = 0; t && (size_t)i < count; i++)
		if (strcmp(t, names[i]) == 0)
			return i;
	return -1;
}

/* A statement that changed no row: which error that is, if any. */
static int check_hit(struct conn *q, enum sq_want want, int64_t id)
{
	if (want == SQ_ANY || sqlite3_changes(q->db) > 0)
		return 0;
	if (want == SQ_HIT)
		return OTP_ENOTFOUND;
	int rc = otp_sq_row(q->st[ST_MSG_EXISTS], "i", id);
	if (rc == 1) {
		otp_sq_done(q->st[ST_MSG_EXISTS]);
		return OTP_EGONE;
	}
	return rc == 0 ? OTP_ENOTFOUND : rc;
}

int otp_sq_write(struct otp_store *s, enum stmt i, enum sq_want want,
		 const char *fmt, ...)
{
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	int rc = otp_sq_begin(h, &q);
	if (rc)
		return rc;
	va_list ap;
	va_start(ap, fmt);
	int64_t id = otp_sq_vbind(q->st[i], fmt, ap);
	va_end(ap);
	rc = run(q->st[i]);
	if (rc == 0)
		rc = check_hit(q, want, id);
	return otp_sq_end(h, rc);
}

/* Finalizes what was prepared on c and closes it; NULLs are no-ops. */
static void conn_close(struct conn *c)
{
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
}

/* A read connection prepares a statement at its first use, not all of
 * them at open: a handle is a thread's (the wait pool has one a thread),
 * and it reads with a few of the statements while the writer runs all the
 * others; each prepared statement costs ~4 KiB, ~210 KiB for all of them
 * on every thread. The writer has prepared every one against this schema
 * at open, so only memory can fail here: as for any allocation, abort. */
sqlite3_stmt *otp_sq_rd_prepare(struct conn *c, enum stmt i)
{
	if (sqlite3_prepare_v3(c->db, sqls[i], -1, SQLITE_PREPARE_PERSISTENT,
			       &c->st[i], NULL) != SQLITE_OK)
		abort();
	return c->st[i];
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

/* The writer's hooks (commit.h): its connection gets its own copy of the
 * statements and the batch's signal sums (sigbatch.h); the writer closes
 * the connection itself. */
static int writer_init(sqlite3 *db, void **user)
{
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->db = db;
	c->sb = otp_sq_sigbatch_new();
	*user = c;
	return prepare_all(c);
}

static void writer_fini(void *user)
{
	struct conn *c = user;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	otp_sq_sigbatch_free(c->sb);
	free(c);
}

static void writer_op_end(void *user, bool kept)
{
	otp_sq_sigbatch_op_end(((struct conn *)user)->sb, kept);
}

static int writer_flush(void *user)
{
	return otp_sq_signals_flush(user);
}

static void writer_clear(void *user)
{
	otp_sq_sigbatch_clear(((struct conn *)user)->sb);
}

static const struct otp_sqlite_writer_hooks writer_hooks = {
    .init = writer_init,
    .fini = writer_fini,
    .op_end = writer_op_end,
    .flush = writer_flush,
    .clear = writer_clear,
};

static void close_db(struct otp_store *s)
{
	struct sq *h = otp_sq_cast(s);
	conn_close(&h->rd);
	otp_sqlite_writer_put(h->w);
	free(h);
}

static int open_db(const char *arg, struct otp_store **out)
{
	*out = NULL;
	if (!arg || !*arg || !sqlite3_threadsafe() || sodium_init() < 0 ||
	    otp_sq_faults_from_env() != 0)
		return OTP_EINTERNAL;
	struct sq *h = calloc(1, sizeof *h);
	if (!h)
		abort();
	h->base.ops = &otp_store_sqlite_ops;
	/* Before SQLite makes it 0644; its -wal and -shm take its mode. */
	if (otp_sq_create_private(arg) != 0) {
		free(h);
		return OTP_EINTERNAL;
	}
	/* NOMUTEX: a handle belongs to one thread at a time (store.h). */
	int rc = sqlite3_open_v2(arg, &h->rd.db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
				 NULL);
	int err = OTP_EINTERNAL;
	if (rc != SQLITE_OK)
		goto fail_setup;
	sqlite3_extended_result_codes(h->rd.db, 1);
	sqlite3_busy_timeout(h->rd.db, OTP_SQ_BUSY_MS);
	err = otp_sq_set_wal(h->rd.db);
	if (err)
		goto fail_setup;
	err = otp_sq_migrate(h->rd.db);
	if (err)
		goto fail_setup;
	/* After the migration: the writer prepares against the schema. */
	err = otp_sqlite_writer_get(arg, &writer_hooks, &h->w);
	if (err)
		goto fail_setup;
	/* The read connection reads the schema now, so that a first use
	 * later has nothing to read. */
	rc = sqlite3_prepare_v3(h->rd.db, sqls[ST_SESSION_GET], -1,
				SQLITE_PREPARE_PERSISTENT,
				&h->rd.st[ST_SESSION_GET], NULL);
	if (rc != SQLITE_OK) {
		err = otp_sqlite_err(rc);
		goto fail_setup;
	}
	*out = &h->base;
	return 0;
fail_setup:
	close_db(&h->base); /* NULLs are no-ops */
	return err;
}

int otp_sq_ping(struct otp_store *s)
{
	/* Readable, but sends are refused: /readyz says why. */
	if (otp_sqlite_writer_full(otp_sq_cast(s)->w))
		return OTP_EFULL;
	int rc = otp_sq_row(otp_sq_rd(s, ST_PING), "");
	if (rc == 1)
		otp_sq_done(otp_sq_rd(s, ST_PING));
	return rc == 1 ? 0 : rc < 0 ? rc : OTP_EINTERNAL;
}

int otp_sq_purge(struct otp_store *s, int64_t now, long *removed)
{
	static const struct {
		enum stmt st;
		int64_t grace_ms;
	} steps[] = {
	    {ST_PURGE_MSGS, DAY_MS}, {ST_PURGE_CODES, DAY_MS}, /* codes.msg */
	    {ST_PURGE_IDEM, 0},	     {ST_PURGE_SESSIONS, 0},
	    {ST_PURGE_LIMITS, 0},    {ST_PURGE_BLOCKS, OTP_BLOCK_KEPT_MS},
	};
	struct sq *h = otp_sq_cast(s);
	struct conn *q;
	long count = 0;
	*removed = 0;
	int rc = otp_sq_begin(h, &q);
	if (rc)
		return rc;
	for (size_t i = 0; i < OTP_SQ_COUNT(steps) && !rc; i++) {
		rc = otp_sq_exec(q->st[steps[i].st], "i",
				 now - steps[i].grace_ms);
		count += rc ? 0 : sqlite3_changes(q->db);
	}
	if (rc == 0)
		rc = otp_sq_signals_purge_in_tx(q, now, &count);
	rc = otp_sq_end(h, rc);
	if (rc == 0)
		*removed = count;
	return rc;
}

void otp_sqlite_stats(struct otp_store *s, struct otp_sqlite_stats *out)
{
	memset(out, 0, sizeof *out);
	out->writers = otp_sqlite_writer_live();
	out->checkpointers = otp_sqlite_ckpt_live();
	if (!s || s->ops != &otp_store_sqlite_ops)
		return;
	struct otp_sqlite_writer_stats w;
	otp_sqlite_writer_stats(otp_sq_cast(s)->w, &w);
	out->ops = w.ops;
	out->batches = w.batches;
	out->commits = w.ckpt.commits;
	out->checkpoints = w.ckpt.checkpoints;
	out->truncates = w.ckpt.truncates;
	out->wal_pages = w.ckpt.wal_pages;
}

const struct otp_store_ops otp_store_sqlite_ops = {
    .name = "sqlite",
    .scheme = "sqlite:",
    .form = "sqlite:PATH",
    .check = otp_store_sqlite_check,
    .home = otp_store_sqlite_home,
    .version = 2,
    .caps = OTP_STORE_CAP_ONE_PROCESS | OTP_STORE_CAP_FILE |
	    OTP_STORE_CAP_VERIFY_SESSION | OTP_STORE_CAP_FIBERS,
    .open = open_db,
    .lock = otp_store_sqlite_lock,
    .backup = otp_store_sqlite_backup,
    .close = close_db,
#define OTP_SQ_FIELD_(op, params, args) .op = otp_sq_##op,
    OTP_STORE_OPS(OTP_SQ_FIELD_)
#undef OTP_SQ_FIELD_
};
