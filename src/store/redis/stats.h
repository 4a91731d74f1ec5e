/* stats.h - the counters of the Redis store's connections, for /metrics:
 * what every handle of the process did since it started (connections
 * made and failed, calls refused in a backoff, connections lost, idle ones
 * found closed, scripts loaded again after NOSCRIPT). Counted in conn.c
 * on those events only, never per command. Not here: per-operation counts
 * or latencies (the engine and the HTTP layer).
 */
#ifndef OTP_STORE_REDIS_STATS_H
#define OTP_STORE_REDIS_STATS_H

#include <stdint.h>

/* X(field): one counter each, in this order. */
#define OTP_REDIS_STATS(X)                                                     \
	X(connects)                                                            \
	X(connect_failures)                                                    \
	X(backoff_refusals)                                                    \
	X(lost)                                                                \
	X(stale_drops)                                                         \
	X(script_reloads)

struct otp_redis_stats {
#define OTP_REDIS_STAT_FIELD(name) uint64_t name;
	OTP_REDIS_STATS(OTP_REDIS_STAT_FIELD)
#undef OTP_REDIS_STAT_FIELD
};

/* A snapshot of the counters (each read on its own, not all at once). */
struct otp_redis_stats otp_redis_stats(void);

#endif
