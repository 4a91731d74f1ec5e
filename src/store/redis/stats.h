/* stats.h - the counters of the Redis store's connections, for /metrics:
 * what every handle of the process did since it started (connections
 * made and failed, calls refused in a backoff, connections lost, idle ones
 * found closed, scripts loaded again after NOSCRIPT, calls and batches
 * of the shared connection), counted in conn.c on those events only, and
 * once a batch, never per command; and what the session cache's
 * tracker (tracking.c) did: subscriptions made and lost, session keys
 * heard of, flushes heard of, and whether it is subscribed now. Not here:
 * per-operation counts or latencies (the engine and the HTTP layer).
 */
#ifndef OTP_STORE_REDIS_STATS_H
#define OTP_STORE_REDIS_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* X(field): one counter each, in this order. */
#define OTP_REDIS_STATS(X)                                                     \
	X(connects)                                                            \
	X(connect_failures)                                                    \
	X(backoff_refusals)                                                    \
	X(lost)                                                                \
	X(stale_drops)                                                         \
	X(script_reloads)                                                      \
	X(pipe_calls)                                                          \
	X(pipe_batches)

struct otp_redis_stats {
#define OTP_REDIS_STAT_FIELD(name) uint64_t name;
	OTP_REDIS_STATS(OTP_REDIS_STAT_FIELD)
#undef OTP_REDIS_STAT_FIELD
};

/* A snapshot of the counters (each read on its own, not all at once). */
struct otp_redis_stats otp_redis_stats(void);

/* A batch of the shared connection (pipe.c) went out with `calls` calls. */
void otp_redis_stats_pipe(uint64_t calls);

#define OTP_REDIS_TRACKING_STATS(X)                                            \
	X(tracking_connects)                                                   \
	X(tracking_lost)                                                       \
	X(tracking_flushes)                                                    \
	X(invalidations)

struct otp_redis_tracking_stats {
#define OTP_REDIS_STAT_FIELD(name) uint64_t name;
	OTP_REDIS_TRACKING_STATS(OTP_REDIS_STAT_FIELD)
#undef OTP_REDIS_STAT_FIELD
	bool up; /* subscribed now: the cache is in use */
};

/* The same for the tracker. */
struct otp_redis_tracking_stats otp_redis_tracking_stats(void);

#endif
