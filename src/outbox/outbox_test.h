/* outbox_test.h - the outbox's hooks for tests, not for otpd itself.
 *
 * A round driven by the test's own clock and store handle, and the retry
 * delay arithmetic, so that tests/unit/outbox/test_outbox.c needs no worker
 * threads or sleeps. The workers themselves are in outbox.h.
 */
#ifndef OTP_OUTBOX_OUTBOX_TEST_H
#define OTP_OUTBOX_OUTBOX_TEST_H

#include "outbox/outbox.h"

/* One round on the caller's thread, store and cfg->drivers (for tests):
 * claims what is due at `now` and handles it. *handled gets the number of
 * messages. */
int otp_outbox_round(const struct otp_outbox_cfg *cfg, struct otp_store *s,
		     int64_t now, size_t *handled);

/* Delay before the next try after try number `attempt` (1-based) on a
 * driver: backoff_ms * 2^(attempt-1), capped at 60 s, with up to 20 %
 * jitter taken off. */
int64_t otp_outbox_backoff(const struct otp_outbox_cfg *cfg, int attempt);

#endif
