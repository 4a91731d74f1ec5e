/* breaker.h - which gateways of the delivery workers are hung, and what
 * happens to a message whose gateway is.
 *
 * A driver is hung while one of its calls has run OTP_BREAKER_HUNG_MS or
 * more (or half a call's longest wait, if that is less), and is marked for
 * OTP_BREAKER_HOLD_MS after such a call ended without sending. Meanwhile
 * no other worker calls it: its messages are passed on, to the next driver
 * of the list at once, or with one driver, a second later (the message
 * whose call hung goes on too); so one hung gateway never holds the whole
 * pool in its timeouts. When the mark runs out, the next call is the
 * probe; a call that sends clears the mark. One slot per worker and
 * driver; thread-safe (atomics).
 */
#ifndef OTP_OUTBOX_BREAKER_H
#define OTP_OUTBOX_BREAKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sms/sms.h"
#include "store/store.h"

#define OTP_BREAKER_HUNG_MS 2000
#define OTP_BREAKER_HOLD_MS 10000
#define OTP_BREAKER_SLOTS   64 /* workers at most */

struct otp_breakers {
	/* when worker w's call to driver d started (monotonic ms), or 0 */
	_Atomic int64_t started[OTP_SMS_DRIVERS_MAX][OTP_BREAKER_SLOTS];
	_Atomic int64_t until[OTP_SMS_DRIVERS_MAX]; /* marked hung until */
	int64_t hung_ms;
};

/* timeout_ms: a call's longest wait (the drivers' timeouts). */
void otp_breakers_init(struct otp_breakers *b, int64_t timeout_ms);

/* Before worker w calls driver d at now (monotonic ms): true, it calls and
 * then leaves; false, d is hung: pass the message on. */
bool otp_breaker_enter(struct otp_breakers *b, size_t d, size_t w, int64_t now);

/* After the call: whether it sent, and when it ended (monotonic ms).
 * True if the call hung (the driver is marked now). */
bool otp_breaker_leave(struct otp_breakers *b, size_t d, size_t w, bool sent,
		       int64_t now);

/* Passes a claimed message of hung driver d (of ndrivers) on, in the
 * store: the next driver, due now; with one driver, due in a second; the
 * try it was claimed for is not counted against d. *soonest comes down to
 * its due time. The store's answer. */
int otp_breaker_pass_on(struct otp_store *s, const struct otp_msg *m,
			const char *driver, size_t d, size_t ndrivers,
			int64_t now, int64_t *soonest);

#endif
