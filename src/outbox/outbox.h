/* outbox.h - delivery workers: from the store's outbox to an SMS driver.
 *
 * A request commits a code and its sealed message in one transaction and
 * returns; a worker thread claims due messages under a lease, unseals them,
 * hands them to the driver, and acks, retries with exponential backoff and
 * jitter, or dead-letters them. A message claimed by a process that died is
 * claimed again once its lease runs out, so a crash loses nothing. A message
 * whose code has expired is not sent (marked expired).
 *
 * Not here: rendering the text (the engine seals the rendered text) and the
 * gateways' protocols (src/sms/).
 */
#ifndef OTP_OUTBOX_OUTBOX_H
#define OTP_OUTBOX_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "sms/sms.h"
#include "store/store.h"

struct otp_outbox_cfg {
	const char *store_url; /* the worker opens its own handle */
	struct otp_sms *sms;   /* borrowed; used by the worker thread only */
	/* Writes the message text of m, NUL-terminated, into text (cap bytes).
	 * Returns 0 or a negative OTP_E* (the message is then dead-lettered).
	 * The worker wipes text after use. */
	int (*unseal)(void *arg, const struct otp_msg *m, char *text,
		      size_t cap);
	void *arg;
	int64_t lease_ms;   /* how long a claim holds; default 30000 */
	int max_attempts;   /* tries before dead letter; default 8 */
	int64_t backoff_ms; /* first retry delay; doubles, capped at 60 s */
	int64_t poll_ms;    /* idle wake-up period; default 1000 */
};

struct otp_outbox;

/* Starts one worker thread. Returns 0, or the store's error. */
int otp_outbox_start(struct otp_outbox **out, const struct otp_outbox_cfg *cfg);
/* Wakes the worker now: new messages were committed. Thread-safe. */
void otp_outbox_notify(struct otp_outbox *o);
/* Finishes the message in hand, stops the thread, frees everything. */
void otp_outbox_stop(struct otp_outbox *o);

/* One round on the caller's thread and store (for tests): claims what is
 * due at `now` and handles it. *handled gets the number of messages. */
int otp_outbox_round(const struct otp_outbox_cfg *cfg, struct otp_store *s,
		     int64_t now, size_t *handled);

/* Delay before retry number `attempt` (1-based): backoff_ms * 2^(attempt-1),
 * capped at 60 s, with up to 20 % jitter taken off. */
int64_t otp_outbox_backoff(const struct otp_outbox_cfg *cfg, int attempt);

#endif
