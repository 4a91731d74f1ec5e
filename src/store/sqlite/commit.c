/* commit.c - one shared write connection per SQLite file, with group
 * commit (see commit.h).
 *
 * A batch is the open transaction and the tickets of the operations that
 * ended in it and wait for its COMMIT. Threads count themselves in `waiting`
 * before they take the mutex; an operation that ends while that count is not
 * zero (and the batch is not full) hands the COMMIT to them and sleeps on
 * `committed` until a later operation of its batch commits and writes every
 * ticket's result. One that ends with nobody queued first yields the CPU
 * once with the mutex released (sched_yield: immediate when nothing else is
 * ready to run), so that request threads sharing its core can bring their
 * operations into the batch, then commits if nobody came. An operation on
 * a fiber (core/fiber.h: the wait pool's, http/waits.c) neither yields nor
 * sleeps its thread: while its runner has other work ready, or threads
 * queue here, it parks with its ticket marked (t->fiber) and leaves the
 * COMMIT to them; else it commits itself. A runner that runs out of work
 * commits the batches its parked fibers wait for (on_idle), and finish()
 * wakes every parked fiber of the batch it ends. With
 * synchronous=NORMAL in WAL, a COMMIT writes the WAL frames but does not
 * fsync; it is done with the mutex held, during which the next batch
 * gathers.
 *
 * It does not know the schema, its statements or what an operation does:
 * the domain files beside it do (sqlite.h), and what they keep for a batch
 * (its signal sums, sigbatch.h) they keep through the hooks it calls as
 * each operation and each batch ends (commit.h). Between two operations a
 * read may take the writer if it is free (read_begin). A registry entry belongs
 * to one process: a child of fork() does not inherit its parent's writers
 * (SQLite connections must not cross a fork), it opens its own.
 */
#include "store/sqlite/commit.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fiber.h"
#include "store/sqlite/sqlite_test.h"
#include "store/sqlite/err.h"
#include "store/sqlite/space.h"

#define BUSY_MS 5000
/* 16 MiB of page cache (negative: KiB); savepoints' journals in memory
 * (beyond 64 KiB they would spill to a temporary file). Verify's reads run
 * here (codes.c): 16 MiB holds every interior page of the codes and
 * sessions B-trees at 10^6 live codes, and the leaves' working set of a
 * big store does not fit 32 MiB either; at 10^5 live codes 16 and 32 MiB
 * verified at the same rate, 16 MiB less RSS. A 256 MiB mmap_size was
 * tried too: no gain on reads, more CPU per verify, and the file's pages
 * it touches count in RSS. */
#define WRITER_CACHE                                                           \
	"PRAGMA cache_size = -16384;"                                          \
	"PRAGMA temp_store = MEMORY;"

enum wst { W_BEGIN, W_COMMIT, W_ROLLBACK, W_SAVE, W_RELEASE, W_UNDO, W_N };

static const char *const wsql[W_N] = {
    [W_BEGIN] = "BEGIN IMMEDIATE", [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",	   [W_SAVE] = "SAVEPOINT op",
    [W_RELEASE] = "RELEASE op",	   [W_UNDO] = "ROLLBACK TO op",
};

struct otp_sqlite_writer {
	struct otp_sqlite_writer *next; /* in the registry */
	char *path;			/* the registry's key */
	pid_t pid;
	int refs; /* under reg_mu */

	sqlite3 *db;
	sqlite3_stmt *st[W_N];
	void *user;
	const struct otp_sqlite_writer_hooks *hooks;
	struct otp_sqlite_ckpt *ckpt;
	struct otp_sqlite_space *space;

	atomic_int waiting;		 /* threads about to take mu */
	pthread_mutex_t mu;		 /* the connection and all below */
	pthread_cond_t committed;	 /* a batch ended */
	bool in_tx;			 /* the batch's transaction is open */
	int nops;			 /* operations ended in this batch */
	struct otp_sqlite_ticket *batch; /* those waiting for its COMMIT */
	unsigned long ops, batches;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct otp_sqlite_writer *reg;
static atomic_int live;

int otp_sqlite_writer_live(void)
{
	return atomic_load(&live);
}

static int finish(struct otp_sqlite_writer *w, int lost);

/* A runner with nothing left to run (fiber.h): the batches its parked
 * fibers wait for are committed now, unless threads queue to join them
 * (the last of those commits). */
static void on_idle(void)
{
	pthread_mutex_lock(&reg_mu);
	for (struct otp_sqlite_writer *w = reg; w; w = w->next) {
		if (atomic_load(&w->waiting) > 0)
			continue;
		pthread_mutex_lock(&w->mu);
		bool parked = false;
		for (struct otp_sqlite_ticket *t = w->batch; t; t = t->next)
			parked |= t->fiber != NULL;
		if (parked && w->in_tx)
			finish(w, 0);
		pthread_mutex_unlock(&w->mu);
	}
	pthread_mutex_unlock(&reg_mu);
}

static int step(struct otp_sqlite_writer *w, enum wst i)
{
	int rc = sqlite3_step(w->st[i]);
	sqlite3_reset(w->st[i]);
	return rc == SQLITE_DONE ? 0 : otp_sqlite_err(rc);
}

static int on_wal(void *arg, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	otp_sqlite_ckpt_note(arg, pages);
	return SQLITE_OK;
}

/* The checkpointer's hold (checkpoint.h): the writer between two
 * batches. An open batch is waited out: its waiters wait for an operation
 * that is queued on the mutex already. */
static void hold(void *arg, bool on)
{
	struct otp_sqlite_writer *w = arg;
	if (!on) {
		pthread_mutex_unlock(&w->mu);
		return;
	}
	pthread_mutex_lock(&w->mu);
	while (w->in_tx)
		pthread_cond_wait(&w->committed, &w->mu);
}

/* The same file may be named many ways; its real path is the key when it
 * has one (the file exists: the caller has opened it). */
static char *key_of(const char *path)
{
	char *k = realpath(path, NULL);
	if (!k)
		k = strdup(path);
	if (!k)
		abort();
	return k;
}

/* This process's writer of the file `key`, or NULL; reg_mu held. */
static struct otp_sqlite_writer *find(const char *key, pid_t pid)
{
	struct otp_sqlite_writer *w;
	for (w = reg; w; w = w->next)
		if (w->pid == pid && strcmp(w->path, key) == 0)
			break;
	return w;
}

static void destroy(struct otp_sqlite_writer *w)
{
	otp_sqlite_ckpt_stop(w->ckpt);
	otp_sqlite_space_close(w->space);
	if (w->hooks->fini && w->user)
		w->hooks->fini(w->user);
	for (int i = 0; i < W_N; i++)
		sqlite3_finalize(w->st[i]);
	sqlite3_close(w->db);
	pthread_cond_destroy(&w->committed);
	pthread_mutex_destroy(&w->mu);
	free(w->path);
	free(w);
}

static int create(char *key, const struct otp_sqlite_writer_hooks *hooks,
		  struct otp_sqlite_writer **out)
{
	struct otp_sqlite_writer *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	w->path = key;
	w->pid = getpid();
	w->refs = 1;
	w->hooks = hooks;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->committed, NULL);
	/* NOMUTEX: w->mu serialises every use. */
	int rc = sqlite3_open_v2(
	    key, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	int err = OTP_EINTERNAL;
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(w->db, 1);
	sqlite3_busy_timeout(w->db, BUSY_MS);
	/* Checkpoints are the checkpointer's: off here, before the hook
	 * (setting this pragma would replace the hook). The states' CHECK
	 * constraints (schema.c) are not run: each "state IN (...)" built a
	 * temporary index at every insert or update of a code or message
	 * (~4 % of a send); the writer writes states from the names' tables
	 * only, and every read refuses a state it does not know. */
	rc = sqlite3_exec(w->db,
			  "PRAGMA synchronous = NORMAL;"
			  "PRAGMA wal_autocheckpoint = 0;"
			  "PRAGMA ignore_check_constraints = ON;" WRITER_CACHE,
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err = otp_sqlite_err(rc);
		goto fail;
	}
	for (int i = 0; i < W_N; i++) {
		rc = sqlite3_prepare_v3(w->db, wsql[i], -1,
					SQLITE_PREPARE_PERSISTENT, &w->st[i],
					NULL);
		if (rc != SQLITE_OK) {
			err = otp_sqlite_err(rc);
			goto fail;
		}
	}
	otp_sqlite_space_open(key, &w->space);
	err = otp_sqlite_ckpt_start(key, hold, w, &w->ckpt);
	if (err)
		goto fail;
	sqlite3_wal_hook(w->db, on_wal, w->ckpt);
	err = hooks->init(w->db, &w->user);
	if (err)
		goto fail;
	atomic_fetch_add(&live, 1);
	*out = w;
	return 0;
fail:
	destroy(w); /* NULLs are no-ops */
	return err;
}

int otp_sqlite_writer_get(const char *path,
			  const struct otp_sqlite_writer_hooks *hooks,
			  struct otp_sqlite_writer **out)
{
	*out = NULL;
	otp_fibers_add_idle(on_idle);
	char *key = key_of(path);
	pid_t pid = getpid();
	pthread_mutex_lock(&reg_mu);
	struct otp_sqlite_writer *w = find(key, pid);
	int err = 0;
	if (w) {
		w->refs++;
		free(key);
	} else {
		/* Under reg_mu, so two first handles open one writer. */
		err = create(key, hooks, &w);
		if (err == 0) {
			w->next = reg;
			reg = w;
		}
	}
	pthread_mutex_unlock(&reg_mu);
	if (err == 0)
		*out = w;
	return err;
}

void otp_sqlite_writer_put(struct otp_sqlite_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&reg_mu);
	bool last = --w->refs == 0;
	if (last) {
		struct otp_sqlite_writer **p = &reg;
		while (*p != w)
			p = &(*p)->next;
		*p = w->next;
	}
	pthread_mutex_unlock(&reg_mu);
	if (last) {
		atomic_fetch_sub(&live, 1);
		destroy(w);
	}
}

/* A write met a full disk: the file is marked full (space.h) and the
 * checkpointer truncates the WAL into the room the reserve left. */
static int note_full(struct otp_sqlite_writer *w, int rc)
{
	if (rc == OTP_EFULL) {
		otp_sqlite_space_hit(w->space);
		otp_sqlite_ckpt_urge(w->ckpt);
	}
	return rc;
}

static void op_end(struct otp_sqlite_writer *w, bool kept)
{
	if (w->hooks->op_end)
		w->hooks->op_end(w->user, kept);
}

static void batch_clear(struct otp_sqlite_writer *w)
{
	if (w->hooks->clear)
		w->hooks->clear(w->user);
}

/* What an error that rolled the whole batch back fails its operations
 * with: the store out of reach or full, or else an internal error. */
static int lost_as(int rc)
{
	return rc == OTP_EUNAVAIL || rc == OTP_EFULL ? rc : OTP_EINTERNAL;
}

/* Ends the batch with the mutex held: commits it (unless lost, i.e. an
 * error has rolled the transaction back already) and gives every waiting
 * ticket its result. Returns the batch's error, or 0. */
static int finish(struct otp_sqlite_writer *w, int lost)
{
	int rc = lost;
	if (!rc) {
		if (w->hooks->flush)
			rc = w->hooks->flush(w->user);
		if (!rc)
			rc = step(w, W_COMMIT);
		/* Some errors (I/O, full disk) have rolled back already. */
		if (rc && !sqlite3_get_autocommit(w->db))
			step(w, W_ROLLBACK);
		note_full(w, rc);
	}
	batch_clear(w);
	for (struct otp_sqlite_ticket *t = w->batch, *next; t; t = next) {
		next = t->next; /* a woken fiber may reuse its ticket */
		if (rc)
			t->rc = rc;
		struct otp_fiber *f = t->fiber;
		t->fiber = NULL;
		t->done = true;
		if (f)
			otp_fiber_wake(f);
	}
	w->batch = NULL;
	w->nops = 0;
	w->in_tx = false;
	w->batches++;
	pthread_cond_broadcast(&w->committed);
	return rc;
}

int otp_sqlite_writer_end(struct otp_sqlite_writer *w,
			  struct otp_sqlite_ticket *t, int rc)
{
	w->ops++;
	note_full(w, rc);
	if (t->first && rc) {
		/* Alone in its transaction: roll it all back; the batch is
		 * empty again (nobody could join while we held the mutex). */
		if (!sqlite3_get_autocommit(w->db))
			step(w, W_ROLLBACK);
		op_end(w, false);
		batch_clear(w);
		w->in_tx = false;
		w->nops = 0;
		pthread_mutex_unlock(&w->mu);
		return rc;
	}
	if (rc == 0 && !t->first)
		rc = step(w, W_RELEASE);
	if (rc && !sqlite3_get_autocommit(w->db)) {
		step(w, W_UNDO);
		step(w, W_RELEASE);
	}
	op_end(w, rc == 0 && !sqlite3_get_autocommit(w->db));
	w->nops++;
	if (sqlite3_get_autocommit(w->db)) {
		/* An error rolled the whole transaction back: the batch's
		 * earlier work is gone with it. */
		if (!rc)
			rc = OTP_EINTERNAL;
		finish(w, lost_as(rc));
	} else if (w->nops < OTP_SQLITE_BATCH_MAX) {
		t->rc = rc;
		t->done = false;
		t->next = w->batch;
		w->batch = t;
		struct otp_fiber *f = otp_fiber_self();
		if (f) {
			/* On a fiber: while its runner has others ready to
			 * run, or threads queue here, one of them (or the
			 * runner, once it has nothing else: on_idle) commits;
			 * the fiber parks meanwhile, holding no thread. */
			if (otp_fiber_others_ready() ||
			    atomic_load(&w->waiting) > 0) {
				t->fiber = f;
				while (!t->done)
					otp_fiber_park(f, &w->mu);
			} else {
				finish(w, 0);
			}
			rc = t->rc;
			pthread_mutex_unlock(&w->mu);
			return rc;
		}
		if (atomic_load(&w->waiting) == 0) {
			/* Nobody queued yet: let threads that are ready to
			 * run (on this core, when the server is pinned to
			 * one) reach the writer and join the batch first. */
			pthread_mutex_unlock(&w->mu);
			sched_yield();
			pthread_mutex_lock(&w->mu);
		}
		/* Those queued will commit: the last of them does. */
		while (!t->done && atomic_load(&w->waiting) > 0)
			pthread_cond_wait(&w->committed, &w->mu);
		if (!t->done)
			finish(w, 0);
		rc = t->rc;
	} else {
		int crc = finish(w, 0);
		if (crc)
			rc = crc;
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int otp_sqlite_writer_begin(struct otp_sqlite_writer *w,
			    struct otp_sqlite_ticket *t, void **user)
{
	*user = NULL;
	/* A full disk refuses what would grow the data, before it queues. */
	if (t->grows && otp_sqlite_space_is_full(w->space))
		return OTP_EFULL;
	atomic_fetch_add(&w->waiting, 1);
	pthread_mutex_lock(&w->mu);
	atomic_fetch_sub(&w->waiting, 1);
	int rc;
	t->first = !w->in_tx;
	if (t->first) {
		/* A new batch: nobody is in it yet, so the transaction itself
		 * undoes this operation alone; no savepoint needed. */
		rc = step(w, W_BEGIN);
		if (rc) {
			pthread_mutex_unlock(&w->mu);
			return rc;
		}
		w->in_tx = true;
	} else {
		rc = step(w, W_SAVE);
		if (rc)
			return otp_sqlite_writer_end(w, t, rc);
	}
	*user = w->user;
	return 0;
}

bool otp_sqlite_writer_read_begin(struct otp_sqlite_writer *w, void **user)
{
	if (pthread_mutex_trylock(&w->mu) != 0)
		return false;
	*user = w->user;
	return true;
}

int otp_sqlite_writer_read_end(struct otp_sqlite_writer *w, int rc)
{
	/* Some errors (I/O, memory) roll the whole transaction back. */
	if (w->in_tx && sqlite3_get_autocommit(w->db))
		finish(w, lost_as(rc));
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void otp_sqlite_writer_stats(struct otp_sqlite_writer *w,
			     struct otp_sqlite_writer_stats *out)
{
	pthread_mutex_lock(&w->mu);
	out->ops = w->ops;
	out->batches = w->batches;
	pthread_mutex_unlock(&w->mu);
	otp_sqlite_ckpt_stats(w->ckpt, &out->ckpt);
}

bool otp_sqlite_writer_full(struct otp_sqlite_writer *w)
{
	return otp_sqlite_space_is_full(w->space);
}

void otp_sqlite_writer_check_space(struct otp_sqlite_writer *w)
{
	otp_sqlite_space_check_now(w->space);
}

struct otp_sqlite_ckpt *otp_sqlite_writer_ckpt(struct otp_sqlite_writer *w)
{
	return w->ckpt;
}

struct otp_sqlite_writer *otp_sqlite_writer_peek(const char *path)
{
	char *key = key_of(path);
	pid_t pid = getpid();
	pthread_mutex_lock(&reg_mu);
	struct otp_sqlite_writer *w = find(key, pid);
	pthread_mutex_unlock(&reg_mu);
	free(key);
	return w;
}

void otp_sqlite_writer_gate(struct otp_sqlite_writer *w, bool closed)
{
	if (closed) {
		atomic_fetch_add(&w->waiting, 1);
		return;
	}
	pthread_mutex_lock(&w->mu);
	/* Those that waited for the gate wait for nobody else now. */
	if (atomic_fetch_sub(&w->waiting, 1) == 1 && w->batch)
		finish(w, 0);
	pthread_mutex_unlock(&w->mu);
}
