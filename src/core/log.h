/* log.h - structured logs: one JSON object per line on stderr.
 *
 * Thread-safe: each line is built in memory and written with one write(2).
 * Callers pass already-safe values: phone numbers masked with otp_phone_mask,
 * never a code, a token, a secret or a request body.
 */
#ifndef OTP_CORE_LOG_H
#define OTP_CORE_LOG_H

#include <stdbool.h>

enum otp_log_level { OTP_LOG_DEBUG, OTP_LOG_INFO, OTP_LOG_WARN, OTP_LOG_ERROR };

void otp_log_set_level(enum otp_log_level lvl);
/* Parses "debug", "info", "warn", "error"; returns 0 or OTP_ETYPE. */
int otp_log_parse_level(const char *s, enum otp_log_level *out);

/* Logs `msg` with key/value string pairs, NULL-terminated:
 *   otp_log(OTP_LOG_INFO, "sent", "to", masked, "driver", "file", NULL);
 * A NULL value leaves its key out. Values are JSON-escaped. A key starting with
 * '#' takes its value as a raw JSON number (e.g. "#status", "200"); the '#' is
 * dropped. */
void otp_log(enum otp_log_level lvl, const char *msg, ...)
    __attribute__((sentinel));

/* Writes v in decimal into buf and returns where the number starts in it
 * (not buf itself): a '#' value without snprintf. */
#define OTP_LOG_NUM_LEN 21 /* "-9223372036854775808" + NUL */
const char *otp_log_num(char buf[OTP_LOG_NUM_LEN], long long v);

/* Repeated trouble (a store that is down, seen by every thread on every
 * try) logged once per interval: a static struct otp_log_every per call
 * site, and
 *   long n;
 *   if (otp_log_every_due(&site, now_ms, 10000, &n))
 *           otp_log(OTP_LOG_WARN, "store unavailable", "#repeated",
 *                   otp_log_num(buf, n), NULL);
 * The first occurrence is due at once; then at most one per interval, with
 * in *repeated how many were held back since the last line. Thread-safe
 * (atomics, no lock); now is passed in, so tests inject the clock. */
struct otp_log_every {
	_Atomic long long next_ms;
	_Atomic long held;
};
bool otp_log_every_due(struct otp_log_every *e, long long now_ms,
		       long long interval_ms, long *repeated);

/* The length of a line's "ts": "YYYY-MM-DDTHH:MM:SS.mmmZ", UTC. */
#define OTP_LOG_TIME_LEN 24

#endif
