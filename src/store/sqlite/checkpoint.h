/* checkpoint.h - a background WAL checkpointer for one SQLite file.
 *
 * The shared write connection of a file (commit.c) runs with SQLite's
 * automatic checkpoints off, so that no commit of a request pays for copying
 * the WAL into the database. It tells the checkpointer the WAL's size after
 * each commit instead; the checkpointer's thread, on its own connection, runs
 * a PASSIVE checkpoint (which never blocks a writer) each time the WAL has
 * grown by a threshold of pages, and a TRUNCATE one once the file has seen no
 * commit for an idle period, so a quiet WAL goes back to zero bytes.
 *
 * Only this thread reads a clock (to time its idle wait); nothing of the
 * store's logic does. Thread-safety: note() may be called from any thread;
 * start/stop by the owner of the writer only.
 */
#ifndef OTP_STORE_SQLITE_CHECKPOINT_H
#define OTP_STORE_SQLITE_CHECKPOINT_H

#include <stdbool.h>

struct otp_sqlite_ckpt;

/* Counters since start (stats.h reads them). */
struct otp_sqlite_ckpt_stats {
	unsigned long commits;	   /* commits that wrote WAL frames */
	unsigned long checkpoints; /* PASSIVE checkpoints run */
	unsigned long truncates;   /* TRUNCATE checkpoints that succeeded */
	int wal_pages;		   /* frames in the WAL at the last commit */
};

/* Opens its own connection to path and starts the thread: 0, or
 * OTP_EINTERNAL. hold(hold_arg, true), if given, must return once no write
 * transaction of the process is open and none can start until
 * hold(hold_arg, false). */
int otp_sqlite_ckpt_start(const char *path, void (*hold)(void *, bool),
			  void *hold_arg, struct otp_sqlite_ckpt **out);

/* Stops the thread (joins it), closes its connection and frees c. NULL is a
 * no-op. */
void otp_sqlite_ckpt_stop(struct otp_sqlite_ckpt *c);

/* A commit left `pages` frames in the WAL (a sqlite3_wal_hook's number). */
void otp_sqlite_ckpt_note(struct otp_sqlite_ckpt *c, int pages);

/* A write met a full disk: a TRUNCATE checkpoint at once (holding the
 * writer between two batches), so the WAL's space goes back to the disk. */
void otp_sqlite_ckpt_urge(struct otp_sqlite_ckpt *c);

void otp_sqlite_ckpt_stats(struct otp_sqlite_ckpt *c,
			   struct otp_sqlite_ckpt_stats *out);

/* Checkpointer threads alive in this process. Tests' hooks (tuning,
 * waiting) are sqlite_test.h's. */
int otp_sqlite_ckpt_live(void);

#endif
