/* clock.h - wall-clock time in milliseconds, and its ISO-8601 form.
 *
 * Only the edges of otpd read the clock (the HTTP layer per request, the
 * outbox worker per round); the engine and the stores take `now` as an
 * argument so that tests inject any time they like. Threads that wait on a
 * condition variable with a timeout take their deadline from here.
 */
#ifndef OTP_CORE_CLOCK_H
#define OTP_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t otp_clock_now_ms(void);

/* Monotonic milliseconds, for latencies and timeouts. */
int64_t otp_clock_mono_ms(void);
/* Monotonic nanoseconds, for latency histograms. */
int64_t otp_clock_mono_ns(void);

/* `ms` from now on clock `clk` (CLOCK_MONOTONIC, or CLOCK_REALTIME for a
 * condition variable on the default clock), as pthread_cond_timedwait
 * takes a deadline. */
struct timespec otp_clock_deadline(clockid_t clk, int64_t ms);

/* Writes "YYYY-MM-DDTHH:MM:SSZ" (20 chars + NUL) for ms since the epoch. */
#define OTP_ISO8601_LEN 21
void otp_clock_iso8601(int64_t ms, char out[OTP_ISO8601_LEN]);

/* Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" (UTC). 0, or -1 if it is not that. */
int otp_clock_parse_iso8601(const char *s, int64_t *ms);

#endif
