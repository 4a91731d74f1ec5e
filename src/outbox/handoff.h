/* handoff.h - the delivery workers' in-memory queue of messages handed
 * over by the requests that committed them (handoff.c), so that a worker
 * sends them without claiming them in the store.
 *
 * A send reserves a place before its store operation (which then writes
 * its message already claimed, under a lease), puts the message in after
 * the operation has committed, or gives the place back if it did not. The
 * queue has a fixed size: with no place free the send writes its message
 * queued, and a worker claims it as before. The row in the store stays the
 * crash-safe record: a message lost with the process goes again when its
 * lease runs out. Not thread-safe: the pool's mutex guards it (outbox.c).
 */
#ifndef OTP_OUTBOX_HANDOFF_H
#define OTP_OUTBOX_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Messages waiting for a worker at most (each ~250 bytes with its body). */
#define OTP_HANDOFF_MAX 512

struct otp_handed {
	struct otp_msg m;	/* as a claim would return it (attempts 1) */
	int64_t lease_end_mono; /* when its lease runs out, monotonic ms */
};

struct otp_handq {
	struct otp_handed *e; /* OTP_HANDOFF_MAX of them, a ring */
	size_t head, len;     /* the oldest, and how many are in */
	size_t held;	      /* places reserved and not yet filled */
};

void otp_handq_init(struct otp_handq *q);
/* Frees what is left (those messages wait out their leases). */
void otp_handq_deinit(struct otp_handq *q);
/* A place for one message: false if every place is taken or held. */
bool otp_handq_reserve(struct otp_handq *q);
/* Gives a reserved place back. */
void otp_handq_cancel(struct otp_handq *q);
/* Fills a reserved place with m (its body moves into the queue: m's is
 * NULL after). */
void otp_handq_put(struct otp_handq *q, struct otp_msg *m,
		   int64_t lease_end_mono);
/* Takes up to max messages, oldest first, into out (their bodies the
 * caller's now); how many. */
size_t otp_handq_take(struct otp_handq *q, struct otp_handed *out, size_t max);

#endif
