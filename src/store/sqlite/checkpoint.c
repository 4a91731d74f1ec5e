/* checkpoint.c - a background WAL checkpointer for one SQLite file.
 *
 * See checkpoint.h. The thread sleeps on a condition variable: the
 * write connection's WAL hook wakes it when the WAL has grown by `pages`
 * frames since the last checkpoint, and a timed wait of `idle_ms` tells it
 * the file has gone quiet. PASSIVE copies what it can without taking any
 * lock a writer needs; the writer then restarts the WAL from its start by
 * itself once every frame is copied and no reader still needs them. TRUNCATE
 * (when idle only) takes the write lock, so it is tried with no busy handler
 * and simply skipped if anybody holds it. A full disk (urge) gets a TRUNCATE
 * at once, with the writer held between two batches: it gives the WAL's
 * space back. The WAL's threshold follows the free space (space.h),
 * checked at most once per idle period. It decides nothing else: which
 * connection writes, and when commits happen, is commit.c's job.
 */
#include "store/sqlite/checkpoint.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/thread.h"
#include "store/sqlite/space.h"
#include "store/sqlite/sqlite_test.h"

struct otp_sqlite_ckpt {
	sqlite3 *db;
	pthread_t thread;
	pthread_mutex_t mu;  /* guards all below */
	pthread_cond_t wake; /* to the thread: work or stop */
	pthread_cond_t ran;  /* from the thread: a checkpoint ran */
	void (*hold)(void *, bool);
	void *hold_arg;
	bool stop;
	int pages, idle_ms;
	int wal_pages;	      /* frames in the WAL at the last commit */
	int mark;	      /* frames the last checkpoint had copied */
	bool dirty;	      /* a commit since the last TRUNCATE */
	bool urged;	      /* a full disk: TRUNCATE now */
	char *path;	      /* for the free space */
	sqlite3_file *dbfile; /* db's database file, for a flush of ours */
	int page_size, max_pages;
	long long capped_ms; /* when pages was last fitted to the space */
	struct otp_sqlite_ckpt_stats stats;
};

/* 16000 frames (64 MiB of WAL at 4 KiB pages) between PASSIVE
 * checkpoints: each copies a page once however often the WAL holds it, and
 * the fsync after it writes each dirty page once. Wrong-code verifies of
 * random codes in a store of 10^6 (the bench's scale row) ran 14,524 req/s
 * at 4000 frames and 15,205 at 16000, p99 13-17 ms against 10-12 ms (5
 * alternated pairs); 32000 gained nothing more, and 10^3 codes were within
 * noise. A full disk caps it (space.h). */
static atomic_int tune_pages = 16000, tune_idle_ms = 1000;
static atomic_int live;

void otp_sqlite_ckpt_tune(int pages, int idle_ms)
{
	if (pages > 0)
		atomic_store(&tune_pages, pages);
	if (idle_ms > 0)
		atomic_store(&tune_idle_ms, idle_ms);
}

int otp_sqlite_ckpt_live(void)
{
	return atomic_load(&live);
}

static bool due(const struct otp_sqlite_ckpt *c)
{
	return c->wal_pages - c->mark >= c->pages;
}

/* Frames committed that the last checkpoint, which copied `copied`, left
 * behind (none if the WAL has restarted since). */
static int behind(struct otp_sqlite_ckpt *c, int copied)
{
	pthread_mutex_lock(&c->mu);
	int n = c->wal_pages - copied;
	pthread_mutex_unlock(&c->mu);
	return n;
}

/* PASSIVE rounds while more than CATCH_UP frames were committed since the
 * last one: each copies what the one before left, so they shrink while the
 * copy outruns the commits. */
#define CATCH_UP	128
#define CATCH_UP_ROUNDS 4
static int catch_up(struct otp_sqlite_ckpt *c, int *log, int *ckpt)
{
	int rc = SQLITE_OK;
	for (int i = 0; rc == SQLITE_OK && i < CATCH_UP_ROUNDS &&
			behind(c, *ckpt) > CATCH_UP;
	     i++)
		rc = sqlite3_wal_checkpoint_v2(
		    c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, log, ckpt);
	return rc;
}

/* Runs one checkpoint with the lock dropped; returns SQLite's code and the
 * frames it found copied. A PASSIVE one then catches up with the writer
 * held between two batches: only a transaction that starts when the whole
 * WAL is copied writes the WAL from its start again, over pages that are in
 * the OS's cache already, instead of growing the file for ever. SQLite
 * flushes the database file only in a checkpoint that reaches the WAL's
 * end, so that flush would carry every page the rounds before copied (all
 * of a threshold's frames, 20 ms of a batch's wait on this machine's disk):
 * the rounds and flushes of ours run first, without the hold, and what
 * is left under it is a few frames and two short fsyncs. */
static int checkpoint(struct otp_sqlite_ckpt *c, int mode, int *copied)
{
	int log = 0, ckpt = 0;
	pthread_mutex_unlock(&c->mu);
	int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, mode, &log, &ckpt);
	if (rc == SQLITE_OK && mode == SQLITE_CHECKPOINT_PASSIVE && c->hold) {
		rc = catch_up(c, &log, &ckpt);
		/* Flush what is copied, copy what came meanwhile, until what
		 * is copied and not flushed is a few frames: on a big file a
		 * flush of scattered pages takes long enough for many. */
		for (int i = 0;
		     rc == SQLITE_OK && c->dbfile && i < CATCH_UP_ROUNDS; i++) {
			int flushed = ckpt;
			if (c->dbfile->pMethods->xSync(
				c->dbfile,
				SQLITE_SYNC_NORMAL | SQLITE_SYNC_DATAONLY) !=
			    SQLITE_OK)
				break;
			rc = catch_up(c, &log, &ckpt);
			if (ckpt - flushed <= CATCH_UP)
				break;
		}
		if (rc == SQLITE_OK) {
			c->hold(c->hold_arg, true);
			rc = sqlite3_wal_checkpoint_v2(c->db, NULL, mode, &log,
						       &ckpt);
			c->hold(c->hold_arg, false);
		}
	}
	pthread_mutex_lock(&c->mu);
	*copied = ckpt;
	return rc;
}

/* The disk is full: copy the whole WAL and truncate it now, holding the
 * writer between two batches so that no commit keeps it from the end. */
static void truncate_now(struct otp_sqlite_ckpt *c)
{
	c->urged = false;
	pthread_mutex_unlock(&c->mu);
	int log = 0, ckpt = 0;
	if (c->hold)
		c->hold(c->hold_arg, true);
	int rc = sqlite3_wal_checkpoint_v2(
	    c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &ckpt);
	if (c->hold)
		c->hold(c->hold_arg, false);
	pthread_mutex_lock(&c->mu);
	if (rc == SQLITE_OK) {
		c->wal_pages = c->mark = 0;
		c->stats.truncates++;
	}
	c->stats.checkpoints++;
	pthread_cond_broadcast(&c->ran);
}

/* The threshold: never more WAL than a quarter of the free space. */
static void fit(struct otp_sqlite_ckpt *c)
{
	long long now = otp_clock_mono_ms();
	if (now - c->capped_ms < c->idle_ms)
		return;
	c->capped_ms = now;
	c->pages =
	    otp_sqlite_space_wal_cap(c->path, c->page_size, c->max_pages);
}

static void *run(void *arg)
{
	struct otp_sqlite_ckpt *c = arg;
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		fit(c);
		if (c->urged) {
			truncate_now(c);
			continue;
		}
		if (due(c)) {
			int copied;
			int rc =
			    checkpoint(c, SQLITE_CHECKPOINT_PASSIVE, &copied);
			/* Busy or failed: wait for another `pages` frames
			 * rather than spin on the same ones. */
			c->mark = rc == SQLITE_OK && copied > 0 ? copied
								: c->wal_pages;
			c->stats.checkpoints++;
			pthread_cond_broadcast(&c->ran);
			continue;
		}
		unsigned long seen = c->stats.commits;
		struct timespec ts =
		    otp_clock_deadline(CLOCK_MONOTONIC, c->idle_ms);
		int rc = 0;
		while (!c->stop && !due(c) && !c->urged && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&c->wake, &c->mu, &ts);
		if (c->stop || rc != ETIMEDOUT || !c->dirty ||
		    c->stats.commits != seen)
			continue;
		int copied;
		if (checkpoint(c, SQLITE_CHECKPOINT_TRUNCATE, &copied) ==
			SQLITE_OK &&
		    c->stats.commits == seen) {
			c->wal_pages = c->mark = 0;
			c->dirty = false;
			c->stats.truncates++;
			pthread_cond_broadcast(&c->ran);
		}
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Frees a checkpointer whose thread is not running (any more). */
static void release(struct otp_sqlite_ckpt *c)
{
	pthread_cond_destroy(&c->ran);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->mu);
	sqlite3_close(c->db);
	free(c->path);
	free(c);
}

int otp_sqlite_ckpt_start(const char *path, void (*hold)(void *, bool),
			  void *hold_arg, struct otp_sqlite_ckpt **out)
{
	*out = NULL;
	struct otp_sqlite_ckpt *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->hold = hold;
	c->hold_arg = hold_arg;
	c->pages = c->max_pages = atomic_load(&tune_pages);
	c->idle_ms = atomic_load(&tune_idle_ms);
	c->path = strdup(path);
	if (!c->path)
		abort();
	c->capped_ms = -c->idle_ms;
	/* No busy handler: PASSIVE never waits, TRUNCATE is skipped if the
	 * file is in use. */
	if (sqlite3_open_v2(path, &c->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		goto fail_open;
	/* A connection learns the file is in WAL mode, and opens the WAL,
	 * on its first read; a checkpoint before that does nothing. */
	if (sqlite3_exec(c->db, "SELECT 1 FROM sqlite_schema LIMIT 1", NULL,
			 NULL, NULL) != SQLITE_OK)
		goto fail_open;
	/* The connection's own descriptor, through its VFS: a second one of
	 * ours, once closed, would drop the process's POSIX locks on the
	 * file, SQLite's included. */
	if (sqlite3_file_control(c->db, "main", SQLITE_FCNTL_FILE_POINTER,
				 &c->dbfile) != SQLITE_OK ||
	    !c->dbfile || !c->dbfile->pMethods)
		c->dbfile = NULL;
	c->page_size = 4096;
	sqlite3_stmt *ps = NULL;
	if (sqlite3_prepare_v2(c->db, "PRAGMA page_size", -1, &ps, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(ps) == SQLITE_ROW)
		c->page_size = sqlite3_column_int(ps, 0);
	sqlite3_finalize(ps);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->wake, &ca);
	pthread_cond_init(&c->ran, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&c->thread, NULL, run, c) != 0)
		goto fail_thread;
	atomic_fetch_add(&live, 1);
	*out = c;
	return 0;
fail_thread:
	release(c);
	return OTP_EINTERNAL;
fail_open:
	sqlite3_close(c->db);
	free(c->path);
	free(c);
	return OTP_EINTERNAL;
}

void otp_sqlite_ckpt_stop(struct otp_sqlite_ckpt *c)
{
	if (!c)
		return;
	otp_thread_stop(&c->mu, &c->wake, &c->stop, c->thread);
	atomic_fetch_sub(&live, 1);
	release(c);
}

void otp_sqlite_ckpt_note(struct otp_sqlite_ckpt *c, int pages)
{
	pthread_mutex_lock(&c->mu);
	c->stats.commits++;
	c->dirty = true;
	if (pages < c->wal_pages)
		c->mark = 0; /* the WAL restarted from its start */
	c->wal_pages = pages;
	if (due(c))
		pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->mu);
}

void otp_sqlite_ckpt_urge(struct otp_sqlite_ckpt *c)
{
	pthread_mutex_lock(&c->mu);
	c->urged = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->mu);
}

void otp_sqlite_ckpt_stats(struct otp_sqlite_ckpt *c,
			   struct otp_sqlite_ckpt_stats *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->stats;
	out->wal_pages = c->wal_pages;
	pthread_mutex_unlock(&c->mu);
}

bool otp_sqlite_ckpt_wait(struct otp_sqlite_ckpt *c, unsigned long checkpoints,
			  unsigned long truncates, int timeout_ms)
{
	struct timespec ts = otp_clock_deadline(CLOCK_MONOTONIC, timeout_ms);
	pthread_mutex_lock(&c->mu);
	int rc = 0;
	while ((c->stats.checkpoints < checkpoints ||
		c->stats.truncates < truncates) &&
	       rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&c->ran, &c->mu, &ts);
	bool ok = c->stats.checkpoints >= checkpoints &&
		  c->stats.truncates >= truncates;
	pthread_mutex_unlock(&c->mu);
	return ok;
}
