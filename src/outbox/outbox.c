/* outbox.c - the delivery worker: claims due messages, sends, settles them.
 *
 * One thread with its own store handle runs rounds: claim up to a batch of
 * due messages under a lease, and for each one either mark it expired (its
 * code is dead, sending it would only confuse), or unseal it into a stack
 * buffer, hand it to the driver, wipe the buffer, and ack, retry with backoff
 * or dead-letter it. Delivery is at least once: a worker that dies between
 * send and ack leaves a lease that runs out, and the message goes again.
 *
 * A store error is logged and the next round tries again; it never stops the
 * worker. Logs carry the masked phone and the request id, never the text.
 * Not here: sealing and rendering (the engine), gateways (src/sms/).
 */
#include "outbox/outbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/phone.h"
#include "engine/message.h"

#define BATCH	       16    /* messages claimed per round */
#define TEXT_MAX       512   /* unsealed message text, NUL included */
#define BACKOFF_CAP_MS 60000 /* no retry waits longer */

struct otp_outbox {
	struct otp_outbox_cfg cfg; /* defaults filled in */
	struct otp_store *store;   /* the worker thread's own handle */
	pthread_t thread;
	pthread_mutex_t mu; /* guards stop and kicked */
	pthread_cond_t cv;  /* on CLOCK_MONOTONIC */
	bool stop;
	bool kicked;
};

static void fill_defaults(const struct otp_outbox_cfg *in,
			  struct otp_outbox_cfg *out)
{
	*out = *in;
	if (out->lease_ms <= 0)
		out->lease_ms = 30000;
	if (out->max_attempts <= 0)
		out->max_attempts = 8;
	if (out->poll_ms <= 0)
		out->poll_ms = 1000;
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
static int dead_letter(struct otp_store *s, const struct otp_msg *m,
		       const char *masked, enum otp_msg_state state,
		       const char *reason, const char *attempt, int64_t now)
{
	/* m->attempts is the claim's lease token: a stale claim settles
	 * nothing. */
	int rc =
	    otp_store_outbox_fail(s, m->id, m->attempts, state, reason, now);
	otp_log(state == OTP_MSG_EXPIRED ? OTP_LOG_INFO : OTP_LOG_ERROR,
		state == OTP_MSG_EXPIRED ? "sms expired" : "sms dead-lettered",
		"to", masked, "request_id", m->request_id, "reason", reason,
		"#attempt", attempt, NULL);
	return rc;
}

/* Delivers one claimed message and settles it in the store. Returns 0 or
 * the store's error from settling it (the lease then brings it back). */
static int deliver(const struct otp_outbox_cfg *cfg, struct otp_store *s,
		   const struct otp_msg *m, int64_t now)
{
	char masked[OTP_PHONE_MAX], attempt[16];
	const char *driver = cfg->sms->ops->name;
	otp_phone_mask(m->to, masked);
	snprintf(attempt, sizeof attempt, "%d", m->attempts);

	if (now >= m->expires_ms)
		return dead_letter(s, m, masked, OTP_MSG_EXPIRED,
				   "code expired", attempt, now);

	char text[TEXT_MAX];
	int rc = cfg->unseal(cfg->arg, m, text, sizeof text);
	if (rc < 0) {
		sodium_memzero(text, sizeof text);
		char reason[64];
		snprintf(reason, sizeof reason, "unseal: %s", otp_err_code(rc));
		return dead_letter(s, m, masked, OTP_MSG_FAILED, reason,
				   attempt, now);
	}
	text[sizeof text - 1] = '\0';

	struct otp_sms_msg sm = {
	    .to = m->to,
	    .body = text,
	    .request_id = m->request_id,
	    .message_id = m->id,
	    .now_ms = now,
	};
	struct otp_segments seg = {OTP_SMS_GSM7, 0, 0};
	otp_message_segments(text, strlen(text), &seg);
	char parts[16];
	snprintf(parts, sizeof parts, "%d", seg.parts);
	char reason[OTP_ERROR_TEXT_MAX] = "";
	enum otp_sms_result res =
	    otp_sms_send(cfg->sms, &sm, reason, sizeof reason);
	sodium_memzero(text, sizeof text);

	switch (res) {
	case OTP_SMS_SENT:
		rc = otp_store_outbox_ack(s, m->id, m->attempts, now);
		otp_log(OTP_LOG_INFO, "sms sent", "to", masked, "request_id",
			m->request_id, "driver", driver, "#attempt", attempt,
			"encoding", otp_sms_coding_name(seg.coding),
			"#segments", parts, NULL);
		return rc;
	case OTP_SMS_RETRY: {
		if (!reason[0])
			snprintf(reason, sizeof reason, "%s: try again",
				 driver);
		if (m->attempts >= cfg->max_attempts)
			return dead_letter(s, m, masked, OTP_MSG_FAILED, reason,
					   attempt, now);
		int64_t wait = otp_outbox_backoff(cfg, m->attempts);
		char in[24];
		snprintf(in, sizeof in, "%lld", (long long)wait);
		/* Same driver for now; failover picks another one. */
		rc = otp_store_outbox_retry(s, m->id, m->attempts, now + wait,
					    m->driver, reason, now);
		otp_log(OTP_LOG_WARN, "sms retry", "to", masked, "request_id",
			m->request_id, "driver", driver, "reason", reason,
			"#attempt", attempt, "#retry_in_ms", in, NULL);
		return rc;
	}
	case OTP_SMS_FAILED:
	default:
		if (!reason[0])
			snprintf(reason, sizeof reason, "%s: refused", driver);
		return dead_letter(s, m, masked, OTP_MSG_FAILED, reason,
				   attempt, now);
	}
}

int otp_outbox_round(const struct otp_outbox_cfg *cfg, struct otp_store *s,
		     int64_t now, size_t *handled)
{
	struct otp_outbox_cfg c;
	struct otp_msg msgs[BATCH] = {0};
	size_t n = 0;

	*handled = 0;
	if (!cfg->sms || !cfg->unseal)
		return OTP_EINTERNAL;
	fill_defaults(cfg, &c);
	int rc = otp_store_outbox_claim(s, now, c.lease_ms, msgs, BATCH, &n);
	if (rc < 0)
		return rc;
	/* Every claimed message is handled, even after a store error: each
	 * one is settled on its own, and its lease covers a failed settle. */
	for (size_t i = 0; i < n; i++) {
		int r = deliver(&c, s, &msgs[i], now);
		if (r < 0 && rc == 0)
			rc = r;
		otp_msg_deinit(&msgs[i]);
	}
	*handled = n;
	return rc;
}

/* Waits until notified, stopped, or poll_ms passed. */
static void wait_kick(struct otp_outbox *o)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += o->cfg.poll_ms / 1000;
	ts.tv_nsec += (long)(o->cfg.poll_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!o->stop && !o->kicked)
		if (pthread_cond_timedwait(&o->cv, &o->mu, &ts) == ETIMEDOUT)
			break;
}

static void *worker(void *arg)
{
	struct otp_outbox *o = arg;
	pthread_mutex_lock(&o->mu);
	while (!o->stop) {
		o->kicked = false;
		pthread_mutex_unlock(&o->mu);

		size_t n = 0;
		int rc =
		    otp_outbox_round(&o->cfg, o->store, otp_clock_now_ms(), &n);
		if (rc < 0)
			otp_log(OTP_LOG_WARN, "outbox round failed", "error",
				otp_err_code(rc), "store", o->store->ops->name,
				NULL);

		pthread_mutex_lock(&o->mu);
		/* A full batch means more may be due: go again at once. */
		if (n < BATCH)
			wait_kick(o);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

int otp_outbox_start(struct otp_outbox **out, const struct otp_outbox_cfg *cfg)
{
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (!cfg->sms || !cfg->unseal)
		return OTP_EINTERNAL;
	if (sodium_init() < 0)
		return OTP_EINTERNAL;
	struct otp_outbox *o = calloc(1, sizeof *o);
	if (!o)
		abort();
	fill_defaults(cfg, &o->cfg);

	rc = otp_store_open(cfg->store_url, &o->store);
	if (rc < 0)
		goto fail_store;
	rc = OTP_EINTERNAL;
	if (pthread_mutex_init(&o->mu, NULL) != 0)
		goto fail_mutex;
	if (pthread_condattr_init(&ca) != 0)
		goto fail_condattr;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&o->cv, &ca) != 0)
		goto fail_cond;
	if (pthread_create(&o->thread, NULL, worker, o) != 0)
		goto fail_thread;
	pthread_condattr_destroy(&ca);
	*out = o;
	return 0;

fail_thread:
	pthread_cond_destroy(&o->cv);
fail_cond:
	pthread_condattr_destroy(&ca);
fail_condattr:
	pthread_mutex_destroy(&o->mu);
fail_mutex:
	otp_store_close(o->store);
fail_store:
	free(o);
	return rc;
}

void otp_outbox_notify(struct otp_outbox *o)
{
	pthread_mutex_lock(&o->mu);
	o->kicked = true;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

void otp_outbox_stop(struct otp_outbox *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->mu);
	o->stop = true;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
	/* The round in hand finishes its batch: its messages are settled
	 * rather than left to wait out their leases. */
	pthread_join(o->thread, NULL);
	otp_store_close(o->store);
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
