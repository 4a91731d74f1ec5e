/* outbox.h - delivery workers: from the store's outbox to the SMS drivers.
 *
 * A request commits a code and its sealed message in one transaction and
 * returns; a small pool of worker threads, each with its own store handle
 * and its own driver handles, claims due messages under a lease, unseals
 * them, hands them to the message's driver, and settles them:
 *   sent                 -> ack (state sent; a delivery report may follow),
 *                           held to go with the worker's other acks and its
 *                           next claim, in one store operation
 *   transient failure    -> retry on the same driver after a backoff
 *                           (backoff_ms doubling, capped at 60 s, minus up
 *                           to 20 % jitter); after max_attempts tries on a
 *                           driver, the next driver of the list at once;
 *                           after the last one, round again from the first
 *                           at the capped backoff of the whole count: the
 *                           tries spread over the code's life, and stop,
 *                           state expired, once the next one would leave
 *                           the code under OTP_OUTBOX_USEFUL_MS to live
 *   permanent failure    -> dead letter with the gateway's reason
 *   code expired         -> not sent; state expired
 * A message its request handed over in memory (otp_outbox_reserve) is sent
 * the same way, without a claim: its row was written claimed.
 * A message claimed by a process that died is claimed again once its lease
 * runs out, so a crash loses nothing; delivery is at least once, and every
 * try carries the same idempotency key (the request id) so that a gateway
 * can drop a repeat whose first outcome was unknown. A lease is at least one
 * message at the drivers' timeouts, and a worker starts a message only while
 * that much of its lease is left, so a slow gateway never makes a live claim
 * look dead.
 *
 * Not here: rendering the text (the engine seals the rendered text) and the
 * gateways' protocols (src/sms/).
 */
#ifndef OTP_OUTBOX_OUTBOX_H
#define OTP_OUTBOX_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sms/sms.h"
#include "store/store.h"

/* A code with less life than this at a retry is not worth sending: the
 * user could hardly type it in time. */
#define OTP_OUTBOX_USEFUL_MS 15000

struct otp_outbox_cfg {
	const char *store_url; /* each worker opens its own handle */
	/* Drivers, in failover order: each worker opens its own set from
	 * sms_list (the --sms value) with sms_env. Or, for tests, a borrowed
	 * set used by a single worker. */
	const char *sms_list;
	struct otp_sms_env sms_env;
	struct otp_sms_set *drivers;
	/* Writes the message text of m as sent at `now`, NUL-terminated, into
	 * text (cap bytes). Returns 0 or a negative OTP_E* (the message is then
	 * dead-lettered). The worker wipes text after use. */
	int (*unseal)(void *arg, const struct otp_msg *m, int64_t now,
		      char *text, size_t cap);
	/* Optional: the delivery-report token of message id into out. */
	void (*dlr_token)(void *arg, int64_t id, char *out, size_t cap);
	/* Optional: a keyed tag of request id `id` into out (16 hex digits):
	 * what log lines and the gateways' idempotency keys carry instead of
	 * the id. NULL: the id itself. */
	void (*id_tag)(void *arg, const char *id, char *out, size_t cap);
	void *arg;
	int workers;	    /* delivery threads; default 4 */
	int64_t lease_ms;   /* how long a claim holds; default 30000, at least
			       the timeouts + 2 s */
	int max_attempts;   /* tries per driver and pass; default 6 */
	int64_t backoff_ms; /* first retry delay; doubles, capped at 60 s */
	int64_t poll_ms;    /* idle wake-up period; default 1000 */
};

struct otp_outbox;

/* Starts the workers. Returns 0, or the store's error, or OTP_ETYPE with a
 * reason in err when the drivers cannot be opened. */
int otp_outbox_start(struct otp_outbox **out, const struct otp_outbox_cfg *cfg,
		     char *err, size_t errlen);
/* Wakes a worker now: new messages were committed. Thread-safe. */
void otp_outbox_notify(struct otp_outbox *o);

/* A message handed to the workers in memory (handoff.h), thread-safe:
 * before its store operation a send reserves a place (false: none free,
 * or stopping; its message is then written queued, and notify wakes a
 * claim), the operation writes the message claimed for *lease_ms, and
 * once it has committed, hand gives the message (as a claim would return
 * it; its body moves to the pool) and the lease's end on the wall clock;
 * an operation that failed, or wrote nothing, cancels instead. */
bool otp_outbox_reserve(struct otp_outbox *o, int64_t *lease_ms);
void otp_outbox_hand(struct otp_outbox *o, struct otp_msg *m,
		     int64_t lease_until);
void otp_outbox_cancel(struct otp_outbox *o);
/* Lets each worker finish the message in hand (the rest of its batch goes
 * back, due now), stops them, frees all. */
void otp_outbox_stop(struct otp_outbox *o);
/* The same, bounded: a worker still in a gateway's send after ms is left
 * to it (the process is exiting; its message keeps its lease), and o is
 * then not freed. For SIGTERM's drain. */
void otp_outbox_stop_within(struct otp_outbox *o, int64_t ms);

/* What the delivery workers of this process did since it started (every
 * outbox together), for /metrics: messages acked as sent, retries on the
 * same driver, moves to the next driver, dead letters, and messages whose
 * code expired before they went. Each counts a settle the store took. */
struct otp_outbox_stats {
	uint64_t sent, retries, failovers, failed, expired;
};
struct otp_outbox_stats otp_outbox_stats(void);

/* Test hooks (one round on the caller's thread, the backoff arithmetic):
 * src/outbox/outbox_test.h. */

#endif
