/* commit.h - one shared write connection per SQLite file, with group
 * commit.
 *
 * Every store handle of a process on one file writes through one writer: a
 * connection found in a process-wide registry by the file's path, opened by
 * the first handle and closed with the last one (refcounted). An operation
 * runs under the writer's mutex inside a savepoint of one long transaction
 * (BEGIN IMMEDIATE) that several operations share: when an operation ends
 * while other threads queue for the writer, it leaves the COMMIT to the last
 * of them and waits for it; so N concurrent operations cost one COMMIT. An
 * operation's caller gets its answer only once that COMMIT is done; a failed
 * operation is rolled back to its savepoint alone; a failed COMMIT fails every
 * operation of its batch. Other processes on the file just queue on SQLite's
 * write lock (busy timeout), as before. Called on a fiber (core/fiber.h),
 * end parks the fiber instead of sleeping its thread while it waits for
 * the COMMIT, so that its runner can bring more operations into the batch.
 *
 * The writer also owns the file's background checkpointer
 * (checkpoint.h): SQLite's automatic checkpoints are off on it.
 * Reads outside a write operation do not come here: they stay on the
 * handle's own connection. Statements are the caller's: `init` prepares them
 * on the new connection, and `fini` frees them.
 */
#ifndef OTP_STORE_SQLITE_COMMIT_H
#define OTP_STORE_SQLITE_COMMIT_H

#include <sqlite3.h>
#include <stdbool.h>

#include "store/sqlite/checkpoint.h"

struct otp_sqlite_writer;

/* One operation's place in a batch: caller's storage, from begin to end. */
struct otp_sqlite_ticket {
	struct otp_sqlite_ticket *next;
	int rc;
	bool done;
	bool first; /* opened the transaction: no savepoint of its own */
	bool grows; /* the caller's: the operation adds data (a send), so a
		     * full disk refuses it (space.h) */
	struct otp_fiber *fiber; /* parked on its COMMIT, or NULL: a thread */
};

/* At most this many operations share one COMMIT. */
#define OTP_SQLITE_BATCH_MAX 64

/* What the writer calls: init(db, &user) once its connection is open
 * (user data for the operations: commit.c knows nothing of it), fini(user)
 * before it closes, op_end(user, kept) as each operation ends (kept: its
 * work stays in the batch), flush(user) inside the batch's transaction just
 * before its COMMIT (an error fails the whole batch), and clear(user) once
 * a batch has ended, committed or not. Only init is required. */
struct otp_sqlite_writer_hooks {
	int (*init)(sqlite3 *db, void **user);
	void (*fini)(void *user);
	void (*op_end)(void *user, bool kept);
	int (*flush)(void *user);
	void (*clear)(void *user);
};

/* Finds the writer of the file at path (which must exist) or opens one with
 * hooks (which must outlive it). Returns 0, or OTP_EINTERNAL (or init's
 * error). Thread-safe. */
int otp_sqlite_writer_get(const char *path,
			  const struct otp_sqlite_writer_hooks *hooks,
			  struct otp_sqlite_writer **out);

/* Drops a reference; the last one stops the checkpointer, calls fini and
 * closes the connection. No operation may be running on it. */
void otp_sqlite_writer_put(struct otp_sqlite_writer *w);

/* Starts an operation: takes the writer, opens the batch's transaction if
 * none is open, and a savepoint. Returns 0 with the init's user data in
 * *user: the caller runs its statements, then calls end. Or returns an error
 * (e.g. OTP_EUNAVAIL: another process held the file past the busy timeout;
 * OTP_EFULL: t->grows and the disk is full):
 * then the operation is over and end must not be called. */
int otp_sqlite_writer_begin(struct otp_sqlite_writer *w,
			    struct otp_sqlite_ticket *t, void **user);

/* Ends the operation: keeps its work if rc is 0, rolls it back alone
 * otherwise, and returns once its batch is committed: rc, or the COMMIT's
 * error (then none of the batch's work is kept). */
int otp_sqlite_writer_end(struct otp_sqlite_writer *w,
			  struct otp_sqlite_ticket *t, int rc);

/* A read on the writer's connection, between two operations, if it is
 * free: read_begin takes the writer only if nobody holds it (no ticket: it
 * neither joins nor waits for a batch) and gives its connection in *user,
 * or returns false at once (a batch's statements or its COMMIT are
 * running: read elsewhere). read_end gives it back and returns rc. The
 * reads see the open batch's work before its COMMIT, so only a read whose
 * answer may count what is about to commit goes here (the rules' counters,
 * abuse_read): for it, the writer's page cache, which its own commits
 * keep, and no snapshot of its own. A read error that rolled the batch
 * back fails the batch's operations. */
bool otp_sqlite_writer_read_begin(struct otp_sqlite_writer *w, void **user);
int otp_sqlite_writer_read_end(struct otp_sqlite_writer *w, int rc);

/* Whether the file is marked full (space.h): operations whose ticket
 * grows then end at begin with OTP_EFULL. Rechecks the free space at most
 * every 200 ms, and clears the mark when it has come back. */
bool otp_sqlite_writer_full(struct otp_sqlite_writer *w);

/* Its counters (stats.h reads them). */
struct otp_sqlite_writer_stats {
	unsigned long ops;     /* operations ended */
	unsigned long batches; /* COMMITs (or batches lost to an error) */
	struct otp_sqlite_ckpt_stats ckpt;
};
void otp_sqlite_writer_stats(struct otp_sqlite_writer *w,
			     struct otp_sqlite_writer_stats *out);
/* Writers open in this process. */
int otp_sqlite_writer_live(void);

/* Tests' hooks are sqlite_test.h's. */

#endif
