/* sqlite_test.h - hooks of the SQLite backend that only tests use: never
 * called by otpd itself. Its counters are stats.h's.
 *
 * The writer of a file can be found and held open (its gate), the
 * checkpointer's thresholds lowered and waited on, and (faultvfs.c) a VFS
 * that fails chosen writes put under the next files opened.
 */
#ifndef OTP_STORE_SQLITE_TEST_H
#define OTP_STORE_SQLITE_TEST_H

#include <stdbool.h>

struct otp_sqlite_writer;
struct otp_sqlite_ckpt;

/* The writer of the file at path if this process has one open (no
 * reference is taken: valid while a handle on it is open), or NULL. */
struct otp_sqlite_writer *otp_sqlite_writer_peek(const char *path);

/* While the gate is closed, operations end as if a thread were queued
 * behind them, so they wait and their batch is not committed (up to
 * OTP_SQLITE_BATCH_MAX operations); opening it commits the batch. */
void otp_sqlite_writer_gate(struct otp_sqlite_writer *w, bool closed);

/* The writer's checkpointer. */
struct otp_sqlite_ckpt *otp_sqlite_writer_ckpt(struct otp_sqlite_writer *w);

/* Process-wide knobs: pages of WAL growth that trigger a PASSIVE checkpoint
 * (default 16000) and the idle period before a TRUNCATE one (default 1000
 * ms). Values <= 0 keep the current one. They apply to checkpointers started
 * afterwards. */
void otp_sqlite_ckpt_tune(int pages, int idle_ms);

/* Waits until at least `checkpoints` PASSIVE and `truncates` TRUNCATE
 * checkpoints have run, or timeout_ms has passed: true if they have. */
bool otp_sqlite_ckpt_wait(struct otp_sqlite_ckpt *c, unsigned long checkpoints,
			  unsigned long truncates, int timeout_ms);

/* The disk-full state of the writer's file (space.h): whether it is
 * marked full, and (check_now) the next look at the free space happens at
 * once instead of within 200 ms. space_fake makes every file's free space
 * `bytes` (the reserve's size is still the real file system's); < 0 goes
 * back to the real free space. */
bool otp_sqlite_writer_full(struct otp_sqlite_writer *w);
void otp_sqlite_writer_check_space(struct otp_sqlite_writer *w);
void otp_sqlite_space_fake(long long bytes);

/* The fault VFS (faultvfs.c, whose opening comment has the grammar of the
 * OTPD_TEST_SQLITE_FAULTS variable that black-box tests use instead). */
enum {
	OTP_FAULT_WRITE = 1, /* ops: xWrite */
	OTP_FAULT_SYNC = 2,  /* ops: xSync */
	OTP_FAULT_DB = 1,    /* files: the main database file */
	OTP_FAULT_WAL = 2,   /* files: its WAL */
};

struct otp_sqlite_fault {
	int ops;   /* OTP_FAULT_WRITE | OTP_FAULT_SYNC; 0 disarms */
	int files; /* OTP_FAULT_DB | OTP_FAULT_WAL */
	int after; /* the after-th matching call fails first (1 if < 1) */
	int times; /* that many fail from there; 0: every one while armed */
	int rc;	   /* SQLITE_FULL, or SQLITE_IOERR (the write or fsync kind) */
};

/* Makes the fault VFS SQLite's default: files opened afterwards go through
 * it (disarmed, it changes nothing). 0 or OTP_EINTERNAL. uninstall makes
 * the real VFS the default again and disarms; files open keep working. */
int otp_sqlite_fault_install(void);
void otp_sqlite_fault_uninstall(void);

/* Arms f (counting matching calls from 0 again), or disarms. Thread-safe. */
void otp_sqlite_fault_arm(const struct otp_sqlite_fault *f);
void otp_sqlite_fault_disarm(void);

/* Calls failed so far in this process. */
unsigned long otp_sqlite_fault_hits(void);

/* Parses the environment variable's grammar: 0 or OTP_EVALUE. */
int otp_sqlite_fault_parse(const char *spec, struct otp_sqlite_fault *out);

#endif
