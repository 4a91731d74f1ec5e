/* limiter.h - request-rate limits kept in this process's memory.
 *
 * A fixed-size, sharded hash table of GCRA cells (one TAT per key), deciding
 * with core/gcra.h exactly as a store's limit_take does: same answers, same
 * retry times. It is for the per-IP and per-API-key limits that run on every
 * request, where a store write per request would cost more than the request.
 * It is not for the per-phone limits: those guard the SMS bill and must hold
 * across processes, so they stay in the store, inside the issue transaction.
 *
 * Counts are per process: N otpd processes behind a load balancer let one key
 * make up to N times the rate (--limit-scope store keeps one shared count).
 *
 * Memory is bounded: `cells` cells, allocated once. When a key is new and its
 * shard has no free cell, the cell whose TAT is the smallest is reused: a
 * fully refilled one (TAT <= now) first, which loses nothing, else the one
 * nearest to refilled, which loses the least. A key that is being limited
 * (its TAT at least a burst ahead of now) is thus reused only once every
 * other cell of its shard is as deep in debt, so a flood of fresh addresses,
 * each owing one interval, cannot wipe a limited key's state; it would take
 * about a full burst per cell of the shard. Keys are spread over shards by a
 * keyed hash (SipHash, random key per process), so which keys share a shard
 * cannot be chosen from outside.
 *
 * Thread-safe: one mutex per shard. No clock is read: `now` is passed in.
 */
#ifndef OTP_ENGINE_LIMITER_H
#define OTP_ENGINE_LIMITER_H

#include <stddef.h>
#include <stdint.h>

#include "core/gcra.h"

struct otp_limiter;

/* A table of about `cells` cells (rounded up to a whole number of shards);
 * aborts if out of memory. */
struct otp_limiter *otp_limiter_new(size_t cells);
void otp_limiter_free(struct otp_limiter *l);

/* Takes one event for `key` (a NUL-terminated string of any length; keys
 * agreeing in their first OTP_LIMITER_KEY_MAX - 1 bytes and in their hash
 * share a cell) at `now`. Returns 0, or OTP_ELIMITED with *retry_ms > 0,
 * leaving the key's state as it was. A rate with interval_ms <= 0 always
 * allows and keeps no cell. */
int otp_limiter_take(struct otp_limiter *l, const char *key,
		     const struct otp_gcra *rate, int64_t now,
		     int64_t *retry_ms);

/* Cells in use (for tests and metrics). */
size_t otp_limiter_used(struct otp_limiter *l);

#define OTP_LIMITER_KEY_MAX 56

#endif
