/* deliver.h - one try of one message, for the delivery workers
 * (deliver.c; the rounds and threads that call it are outbox.c's).
 */
#ifndef OTP_OUTBOX_DELIVER_H
#define OTP_OUTBOX_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outbox/breaker.h"
#include "outbox/outbox.h"
#include "outbox/settle.h"

/* Where a worker delivers: its store handle, its drivers, the pool's
 * hung-gateway marks with its slot in them (br NULL: none, for tests), the
 * pool's stop flag (NULL for tests), and the acks it holds (settle.h). */
struct otp_place {
	struct otp_store *s;
	struct otp_sms_set *set;
	struct otp_breakers *br;
	size_t slot;
	const bool *stop;
	struct otp_acks *acks;
};

/* One message at the drivers' worst case (connect and request timeouts),
 * with a margin for the store. A worker starts a message only while that
 * much of its lease is left, so a slow gateway never lets a second worker
 * claim what the first still sends. */
int64_t otp_outbox_per_message(const struct otp_outbox_cfg *c);

/* Tries m at `now` and settles it; a sent one's ack joins p->acks (those
 * held are sent first when it is full). lease_end: the monotonic time by
 * which the claim's lease has run out at the earliest. 0, or the store's
 * error from settling it (the lease then brings it back). */
int otp_outbox_deliver(const struct otp_outbox_cfg *cfg,
		       const struct otp_place *p, const struct otp_msg *m,
		       int64_t now, int64_t lease_end, int64_t *soonest);

/* Puts a claimed message back, due now, untried on its driver: otpd is
 * stopping, and another process (or this one restarted) sends it. */
int otp_outbox_release(struct otp_store *s, const struct otp_msg *m,
		       int64_t now);

#endif
