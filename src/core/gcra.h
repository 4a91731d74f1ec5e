/* gcra.h - the generic cell rate algorithm in integer milliseconds.
 *
 * A limit of `burst` events then one per `interval_ms` is kept as a single
 * number per key, the theoretical arrival time (TAT). Pure arithmetic: the
 * stores keep the TAT, this decides. No floating point, no clock reads.
 */
#ifndef OTP_CORE_GCRA_H
#define OTP_CORE_GCRA_H

#include <stdbool.h>
#include <stdint.h>

struct otp_gcra {
	int64_t interval_ms; /* emission interval T; <= 0 means no limit */
	int64_t burst;	     /* events allowed at once, >= 1 */
};

/* Decides one event at `now` given the stored `tat` (0 if none).
 * Allowed: returns true and sets *new_tat (store it; it expires at *new_tat).
 * Refused: returns false and sets *retry_ms, how long until one is allowed
 * (> 0); the stored TAT must then stay as it was. */
static inline bool otp_gcra_take(const struct otp_gcra *g, int64_t tat,
				 int64_t now, int64_t *new_tat,
				 int64_t *retry_ms)
{
	if (g->interval_ms <= 0) {
		*new_tat = now;
		return true;
	}
	int64_t burst = g->burst < 1 ? 1 : g->burst;
	int64_t tau = g->interval_ms * (burst - 1);
	if (tat < now)
		tat = now;
	int64_t allow_at = tat - tau;
	if (now < allow_at) {
		*retry_ms = allow_at - now;
		return false;
	}
	*new_tat = tat + g->interval_ms;
	return true;
}

/* Retry-After seconds for a refusal of retry_ms: rounded up, at least 1. */
static inline int64_t otp_gcra_retry_s(int64_t retry_ms)
{
	int64_t s = (retry_ms + 999) / 1000;
	return s < 1 ? 1 : s;
}

#endif
