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

/* Acks a worker holds to send together (otp_settle_acks): the messages the
 * gateway took, each with its claim's token, its log note, and the
 * monotonic time by which its ack must have landed (its lease's end less a
 * margin). An ack that dies with the process sends its SMS again (same
 * idempotency key), so acks are held only while the gateway is fast (the
 * last send took under OTP_ACK_FAST_US; else each goes before the next
 * send, as if unbatched), and at most OTP_ACK_AGE_US after the first: a
 * crash doubles at most what a worker sent in that time. An idle worker
 * waits OTP_ACK_IDLE_MS for more work before it sends what it holds. */
#define OTP_ACKS_MAX	16
#define OTP_ACK_FAST_US 200
#define OTP_ACK_AGE_US	2000
#define OTP_ACK_IDLE_MS 1
struct otp_acks {
	struct otp_ack a[OTP_ACKS_MAX];
	struct otp_note nt[OTP_ACKS_MAX];
	int64_t by_mono[OTP_ACKS_MAX];
	size_t n;
	int64_t since_us; /* monotonic µs: when the first held was added */
	int64_t send_us;  /* how long the worker's last send took, µs */
};

/* Monotonic µs, for timing a send into q->send_us. */
int64_t otp_settle_now_us(void);

/* The gateway took m: its ack joins q (room for it: the caller flushes a
 * full q first). */
void otp_settle_sent(struct otp_acks *q, const struct otp_msg *m,
		     const struct otp_note *nt, int64_t by_mono);

/* Whether the acks of q must go now (before the next send): with timed,
 * held OTP_ACK_AGE_US, or the last send took OTP_ACK_FAST_US or more;
 * always, if one must land before the monotonic time `mono`. */
bool otp_settle_acks_due(const struct otp_acks *q, int64_t mono, bool timed);

/* Sends the acks of q in one store operation (outbox_ack for one alone,
 * outbox_ack_claim for more), with a claim of up to max messages into out
 * (*nout of them; max 0: no claim; no acks: outbox_claim). An operation the
 * store fails is tried again, acks alone, with doubling waits (50 ms to
 * 1 s), each ack until its by_mono, a few times only once *stop is set
 * (stop may be NULL), so that a lease does not run out and send the SMS
 * again. q is empty after. 0, or the store's error. */
int otp_settle_acks(struct otp_acks *q, struct otp_store *s, int64_t now,
		    const bool *stop, int64_t lease_ms, struct otp_msg *out,
		    size_t max, size_t *nout);

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
