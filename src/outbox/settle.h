/* settle.h - how a try of a message ends in the store, for the delivery
 * workers (outbox.c; settle.c has the policy and the counters).
 */
#ifndef OTP_OUTBOX_SETTLE_H
#define OTP_OUTBOX_SETTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/phone.h"
#include "outbox/outbox.h"
#include "store/store.h"

/* What one message is, for its log lines. */
struct otp_note {
	char masked[OTP_PHONE_MAX];
	char attempt[16];
	const char *driver;
	char rid[OTP_ID_LEN + 1]; /* the request id's tag (cfg->id_tag) */
};

/* Each returns the store's answer; m->attempts is the claim's lease token,
 * so a stale claim settles nothing. */

/* The gateway took it. An ack the store fails is tried again with
 * doubling waits (50 ms to 1 s) until the monotonic time by_mono, a few
 * times only once *stop is set (stop may be NULL), so that the lease does
 * not run out and send the SMS again. */
int otp_settle_sent(struct otp_store *s, const struct otp_msg *m,
		    const struct otp_note *nt, int64_t now, int64_t by_mono,
		    const bool *stop);

/* Dead-lettered (OTP_MSG_FAILED) or expired (OTP_MSG_EXPIRED), logged with
 * why. */
int otp_settle_dead(struct otp_store *s, const struct otp_msg *m,
		    const struct otp_note *nt, enum otp_msg_state state,
		    const char *reason, int64_t now);

/* A transient failure of try m->attempts on driver d (of ndrivers): back
 * off on d, move to the next driver, or, after the last, go round again
 * from driver 0, until the code would have too little life left at the
 * next try, when it is expired instead. *soonest comes down to the retry's
 * due time. */
int otp_settle_retry(const struct otp_outbox_cfg *cfg, struct otp_store *s,
		     const struct otp_msg *m, const struct otp_note *nt,
		     size_t d, size_t ndrivers, const char *reason, int64_t now,
		     int64_t *soonest);

#endif
