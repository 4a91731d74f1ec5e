/* stats.h - the SQLite backend's counters, for /metrics and diagnostics.
 *
 * The one thing the rest of otpd may ask of the backend outside the store
 * interface (store.h). Tests' hooks (the writer's gate, checkpoint tuning)
 * are not here: they are in sqlite_test.h.
 */
#ifndef OTP_STORE_SQLITE_STATS_H
#define OTP_STORE_SQLITE_STATS_H

#include "store/store.h"

struct otp_sqlite_stats {
	/* The handle's file, in this process (0 without a handle). */
	unsigned long ops;	   /* write operations ended */
	unsigned long batches;	   /* COMMITs (or batches lost to an error) */
	unsigned long commits;	   /* commits that wrote WAL frames */
	unsigned long checkpoints; /* PASSIVE checkpoints run */
	unsigned long truncates;   /* TRUNCATE checkpoints that succeeded */
	int wal_pages;		   /* frames in the WAL at the last commit */
	/* The whole process. */
	int writers;	   /* shared write connections open */
	int checkpointers; /* checkpointer threads alive */
};

/* Fills out with the counters of s's file and of the process. s may be
 * NULL, or a handle of another backend: then only the process's counts are
 * filled and the rest is 0. Thread-safe; takes the writer's lock briefly. */
void otp_sqlite_stats(struct otp_store *s, struct otp_sqlite_stats *out);

#endif
