/* settle.c - how a try of a message ends in the store (settle.h): sent
 * (its ack held to go with others and with the next claim), retried after
 * a backoff, failed over to the next driver, dead-lettered or
 * expired; the process-wide counters of each (otp_outbox_stats); and the
 * backoff itself. Not here: the try (outbox.c).
 */
#include "outbox/settle.h"

#include <sodium.h>
#include <stdio.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"

#include "core/log.h"
#include "outbox/outbox_test.h"

#define BACKOFF_CAP_MS 60000 /* no retry waits longer */

/* Process-wide, relaxed atomics: read by otp_outbox_stats(). */
static struct otp_outbox_stats stats;

/* Counts one settle the store took (rc == 0); returns rc. */
static int counted(int rc, uint64_t *counter)
{
	if (rc == 0)
		__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
	return rc;
}

struct otp_outbox_stats otp_outbox_stats(void)
{
	struct otp_outbox_stats out;
	__atomic_load(&stats.sent, &out.sent, __ATOMIC_RELAXED);
	__atomic_load(&stats.retries, &out.retries, __ATOMIC_RELAXED);
	__atomic_load(&stats.failovers, &out.failovers, __ATOMIC_RELAXED);
	__atomic_load(&stats.failed, &out.failed, __ATOMIC_RELAXED);
	__atomic_load(&stats.expired, &out.expired, __ATOMIC_RELAXED);
	return out;
}

#define ACK_WAIT_MS	   50	/* first wait before an ack is tried again */
#define ACK_WAIT_CAP_MS	   1000 /* no wait between two acks is longer */
#define ACK_TRIES_STOPPING 3	/* tries once the pool is stopping */

int64_t otp_settle_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void otp_settle_sent(struct otp_acks *q, const struct otp_msg *m,
		     const struct otp_note *nt, int64_t by_mono)
{
	if (q->n >= OTP_ACKS_MAX)
		return; /* the caller flushes first: its lease brings it back */
	if (q->n == 0)
		q->since_us = otp_settle_now_us();
	q->a[q->n] = (struct otp_ack){m->id, m->attempts, 0};
	q->nt[q->n] = *nt;
	q->by_mono[q->n++] = by_mono;
}

bool otp_settle_acks_due(const struct otp_acks *q, int64_t mono, bool timed)
{
	if (timed && q->n &&
	    (q->send_us >= OTP_ACK_FAST_US ||
	     otp_settle_now_us() - q->since_us >= OTP_ACK_AGE_US))
		return true;
	for (size_t i = 0; i < q->n; i++)
		if (q->by_mono[i] <= mono)
			return true;
	return false;
}

/* One try: 0 with each ack's answer in q, or the store's error. */
static int ack_try(struct otp_acks *q, struct otp_store *s, int64_t now,
		   int64_t lease_ms, struct otp_msg *out, size_t max,
		   size_t *nout)
{
	*nout = 0;
	if (q->n == 1 && max == 0) {
		int rc =
		    otp_store_outbox_ack(s, q->a[0].id, q->a[0].lease, now);
		if (rc < 0 && rc != OTP_ENOTFOUND)
			return rc;
		q->a[0].rc = rc;
		return 0;
	}
	return otp_store_outbox_ack_claim(s, q->a, q->n, now, lease_ms, out,
					  max, nout);
}

/* Keeps the acks that can still land before their by_mono after a wait of
 * `wait` ms; how many are left. */
static size_t keep_in_time(struct otp_acks *q, int64_t wait)
{
	size_t k = 0;
	int64_t at = otp_clock_mono_ms() + wait;
	for (size_t i = 0; i < q->n; i++)
		if (at < q->by_mono[i]) {
			q->a[k] = q->a[i];
			q->nt[k] = q->nt[i];
			q->by_mono[k++] = q->by_mono[i];
		}
	q->n = k;
	return k;
}

/* The gateway has these messages: an operation the store failed (Redis
 * restarting or frozen, SQLite busy or out of room) is tried again, with
 * doubling waits, each ack until its by_mono, since a lease that runs out
 * sends the SMS again. An ack answered OTP_ENOTFOUND at the first try is
 * a claim that is not ours any more; after a failed try, an earlier try
 * that did land (its answer was lost): before by_mono no one else can
 * hold the claim. */
int otp_settle_acks(struct otp_acks *q, struct otp_store *s, int64_t now,
		    const bool *stop, int64_t lease_ms, struct otp_msg *out,
		    size_t max, size_t *nout)
{
	*nout = 0;
	if (q->n == 0)
		return max ? otp_store_outbox_claim(s, now, lease_ms, out, max,
						    nout)
			   : 0;
	int rc = ack_try(q, s, now, lease_ms, out, max, nout);
	int64_t wait = ACK_WAIT_MS;
	int tries = 1;
	size_t dummy;
	while (rc < 0 && rc != OTP_ENOTFOUND) {
		if (keep_in_time(q, wait) == 0 ||
		    (stop && __atomic_load_n(stop, __ATOMIC_RELAXED) &&
		     tries >= ACK_TRIES_STOPPING))
			break;
		struct timespec ts = {(time_t)(wait / 1000),
				      (long)(wait % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		wait = wait * 2 > ACK_WAIT_CAP_MS ? ACK_WAIT_CAP_MS : wait * 2;
		rc = ack_try(q, s, now, 0, NULL, 0, &dummy);
		tries++;
		for (size_t i = 0; rc == 0 && i < q->n; i++) {
			if (q->a[i].rc == OTP_ENOTFOUND)
				q->a[i].rc = 0;
			static struct otp_log_every retried;
			long held;
			char nbuf[OTP_LOG_NUM_LEN], tbuf[OTP_LOG_NUM_LEN];
			if (otp_log_every_due(&retried, otp_clock_mono_ms(),
					      10000, &held))
				otp_log(OTP_LOG_WARN,
					"sms ack failed, then landed", "to",
					q->nt[i].masked, "request",
					q->nt[i].rid, "#tries",
					otp_log_num(tbuf, tries), "#repeated",
					otp_log_num(nbuf, held), NULL);
		}
	}
	for (size_t i = 0; rc == 0 && i < q->n; i++) {
		counted(q->a[i].rc, &stats.sent);
		if (q->a[i].rc < 0)
			rc = q->a[i].rc; /* not ours any more */
	}
	q->n = 0;
	return rc;
}

int64_t otp_outbox_backoff(const struct otp_outbox_cfg *cfg, int attempt)
{
	int64_t d = cfg->backoff_ms > 0 ? cfg->backoff_ms : 1000;
	/* Doubling stops at the cap, so no attempt count can overflow. */
	for (int i = 1; i < attempt && d < BACKOFF_CAP_MS; i++)
		d *= 2;
	if (d > BACKOFF_CAP_MS)
		d = BACKOFF_CAP_MS;
	/* Jitter spreads the retries of a batch that failed together. */
	return d - (int64_t)randombytes_uniform((uint32_t)(d / 5) + 1);
}

/* Dead-letters m, logging why. Returns the store's answer. */
int otp_settle_dead(struct otp_store *s, const struct otp_msg *m,
		    const struct otp_note *nt, enum otp_msg_state state,
		    const char *reason, int64_t now)
{
	/* m->attempts is the claim's lease token: a stale claim settles
	 * nothing. */
	int rc = counted(
	    otp_store_outbox_fail(s, m->id, m->attempts, state, reason, now),
	    state == OTP_MSG_EXPIRED ? &stats.expired : &stats.failed);
	otp_log(state == OTP_MSG_EXPIRED ? OTP_LOG_INFO : OTP_LOG_ERROR,
		state == OTP_MSG_EXPIRED ? "sms expired" : "sms dead-lettered",
		"to", nt->masked, "request", nt->rid, "driver", nt->driver,
		"reason", reason, "#attempt", nt->attempt, NULL);
	return rc;
}

/* The wait before the try after try m->attempts (k on its driver): the
 * doubling per driver on the first pass over the list, then the capped
 * backoff of the whole count, so that later passes spread over what is left
 * of the code's life. */
static int64_t next_wait(const struct otp_outbox_cfg *cfg,
			 const struct otp_msg *m, int k, size_t ndrivers)
{
	bool first_pass = m->attempts <= cfg->max_attempts * (int)ndrivers;
	return otp_outbox_backoff(cfg, first_pass ? k : m->attempts);
}

/* A transient failure of try m->attempts on driver d: back off on d, move
 * to the next driver, or, after the last, go round again from driver 0 --
 * until the code would have too little life left at the next try, when the
 * message is expired rather than failed. */
int otp_settle_retry(const struct otp_outbox_cfg *cfg, struct otp_store *s,
		     const struct otp_msg *m, const struct otp_note *nt,
		     size_t d, size_t ndrivers, const char *reason, int64_t now,
		     int64_t *soonest)
{
	int per = cfg->max_attempts;
	int k = (m->attempts - 1) % per + 1; /* try on this driver */
	char in[24], why[OTP_ERROR_TEXT_MAX];
	int rc;

	if (k == per && d + 1 < ndrivers) {
		rc = counted(otp_store_outbox_retry(s, m->id, m->attempts, now,
						    (int)d + 1, reason, now),
			     &stats.failovers);
		if (rc == 0)
			*soonest = now;
		snprintf(in, sizeof in, "%zu", d + 1);
		otp_log(OTP_LOG_WARN, "sms failover", "to", nt->masked,
			"request", nt->rid, "driver", nt->driver, "reason",
			reason, "#attempt", nt->attempt, "#next_driver", in,
			NULL);
		return rc;
	}
	size_t next = k == per ? 0 : d; /* the last driver: round again */
	int64_t wait = next_wait(cfg, m, k, ndrivers);
	if (m->expires_ms - (now + wait) < OTP_OUTBOX_USEFUL_MS) {
		snprintf(why, sizeof why,
			 "%.200s (the code expires before the next "
			 "try)",
			 reason);
		return otp_settle_dead(s, m, nt, OTP_MSG_EXPIRED, why, now);
	}
	snprintf(in, sizeof in, "%lld", (long long)wait);
	rc = counted(otp_store_outbox_retry(s, m->id, m->attempts, now + wait,
					    (int)next, reason, now),
		     &stats.retries);
	if (rc == 0 && now + wait < *soonest)
		*soonest = now + wait;
	otp_log(OTP_LOG_WARN, "sms retry", "to", nt->masked, "request", nt->rid,
		"driver", nt->driver, "reason", reason, "#attempt", nt->attempt,
		"#retry_in_ms", in, NULL);
	return rc;
}
