/* sigbatch.h - the signal counts the writer's open batch adds, summed in
 * memory and written once each before its COMMIT (one UPSERT a key and
 * hour for the whole batch, not one a send).
 *
 * Every send of a batch adds to the same few keys (its region, prefix,
 * address, network, "everything"): written one by one, those UPSERTs were
 * 9 % of a send. An operation's adds are staged while it runs; kept when
 * it ends well (merged into the batch's sums), dropped when it is undone.
 * flush writes the sums inside the batch's transaction just before its
 * COMMIT (commit.h's hooks), so a failed COMMIT loses them with the rest,
 * and the batch's reads on the writer add them in (pending), so nothing
 * reads as missing while it waits. What does not fit (more keys than a
 * batch sums, or an operation adding more than it stages) is written at
 * once, as before: add returns false and the caller writes it.
 *
 * Only the writer's connection has one; one thread uses it at a time (the
 * writer's mutex). Not here: the SQL (signals.c), when a batch commits
 * (commit.c).
 */
#ifndef OTP_STORE_SQLITE_SIGBATCH_H
#define OTP_STORE_SQLITE_SIGBATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct otp_sq_sigbatch;

/* Hours one key's sums span at most (pending's out needs room for them). */
#define OTP_SQ_SIGBATCH_HOURS 4

/* One key's sum for one hour (and the day holding it). */
struct otp_sq_sigsum {
	int64_t hour, day;
	int64_t n[OTP_SIG_COUNTERS];
};

struct otp_sq_sigbatch *otp_sq_sigbatch_new(void);
void otp_sq_sigbatch_free(struct otp_sq_sigbatch *b);

/* Stages n for key in the running operation: true, or false when it does
 * not fit (the caller writes it at once). */
bool otp_sq_sigbatch_add(struct otp_sq_sigbatch *b, const char *key,
			 int64_t hour, int64_t day,
			 const int64_t n[OTP_SIG_COUNTERS]);

/* The running operation ended: its staged adds join the batch's sums if
 * kept, else they are dropped. */
void otp_sq_sigbatch_op_end(struct otp_sq_sigbatch *b, bool kept);

/* The batch's sums for key into out (room for max): how many. */
int otp_sq_sigbatch_pending(const struct otp_sq_sigbatch *b, const char *key,
			    struct otp_sq_sigsum *out, int max);

/* Calls write(arg, key, sum) for each sum of the batch until one fails:
 * 0 or that error. */
int otp_sq_sigbatch_each(const struct otp_sq_sigbatch *b,
			 int (*write)(void *arg, const char *key,
				      const struct otp_sq_sigsum *sum),
			 void *arg);

/* The batch ended (committed or not): empty again. */
void otp_sq_sigbatch_clear(struct otp_sq_sigbatch *b);

#endif
