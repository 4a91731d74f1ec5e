/* store_timing.h - the store decorator that times every operation for
 * /metrics (otpd_store_operation_duration_seconds{op}).
 *
 * It wraps the backend's handle innermost, so that it times the backend
 * (SQLite's writer queue and commit, a Redis round trip), not the session
 * cache above it. It changes no argument and no answer. Thread-safety: a
 * handle is one thread's, as every store handle; the counts go to
 * core/metrics.h's per-thread shards.
 */
#ifndef OTP_STORE_TIMING_H
#define OTP_STORE_TIMING_H

#include "store/store.h"

/* Names the operations for core/metrics.h; once, before the first
 * wrap. */
void otp_store_timing_init(void);
/* otp_store_wrap_opens's wrapper (arg unused): s wrapped. */
struct otp_store *otp_store_timed(struct otp_store *s, void *arg);

#endif
