/* outbox.c - the delivery workers: claim due messages, send, settle them.
 *
 * A few threads, each with its own store handle and its own driver set, run
 * rounds: take the messages requests handed over in memory (handoff.h:
 * their rows were written claimed, so no claim is made), and, when
 * notified of queued rows, at each poll, or at a retry's time, claim a
 * small batch of due messages under a lease; and for each
 * one either mark it expired (its code is dead, sending it would only
 * confuse), or unseal it into a stack buffer, hand it to its driver, wipe
 * the buffer, and ack, retry with backoff, fail over, or dead-letter it (see
 * outbox.h for the policy). Delivery is at least once: a worker that dies
 * between send and ack leaves a lease that runs out, and the message goes
 * again with the same idempotency key. An ack the store fails is tried
 * again until a second before the lease's end (settle.c), so only a store
 * down that long sends a message twice.
 *
 * Which try on which driver: the store keeps the message's driver index and
 * its total tries (which are also the lease token). Try k on the current
 * driver is ((tries - 1) mod max_attempts) + 1, so tries 1..P go to driver
 * 0, P+1..2P to driver 1, and so on; after the last driver the message goes
 * round again from driver 0, each wait now the capped backoff of its whole
 * count, for as long as its code lives (settle.c, otp_settle_retry).
 *
 * A store error is logged and the next round tries again; it never stops a
 * worker. Logs carry the masked phone and the request id, never the text.
 * Not here: sealing and rendering (the engine), gateways (src/sms/).
 */
#include "outbox/outbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/metrics.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/phone.h"
#include "engine/message.h"
#include "outbox/breaker.h"
#include "outbox/handoff.h"
#include "outbox/settle.h"
#include "outbox/outbox_test.h"

#define BATCH	    4	/* messages claimed per round and worker */
#define TEXT_MAX    512 /* unsealed message text, NUL included */
#define WORKERS_MAX 64
/* A failed ack is not tried again past its lease's end less this: the ack
 * itself, and the store's clock against ours. */
#define ACK_MARGIN_MS 1000

struct worker {
	struct otp_outbox *o;
	pthread_t thread;
	struct otp_store *store; /* this thread's own handle */
	struct otp_sms_set own;	 /* opened for this thread */
	struct otp_sms_set *set; /* &own, or the borrowed cfg.drivers */
	int64_t due;		 /* earliest retry it scheduled, or MAX */
	int64_t next_claim;	 /* monotonic: its next claim round, latest */
};

struct otp_outbox {
	struct otp_outbox_cfg cfg; /* defaults filled in */
	int n;			   /* workers running */
	struct worker *w;
	pthread_mutex_t mu; /* guards stop and kicks */
	pthread_cond_t cv;  /* on CLOCK_MONOTONIC */
	bool stop;
	int kicks;		/* notifications not yet taken by a worker */
	int running;		/* workers not yet out of their loop */
	struct otp_breakers br; /* hung gateways (breaker.h) */
	struct otp_handq hq;	/* messages handed over in memory */
};

/* One message at the drivers' worst case (connect and request timeouts),
 * with a margin for the store. A worker starts a message of its batch only
 * while that much of its lease is left, so a slow gateway never lets a
 * second worker claim what the first still sends. */
static int64_t per_message(const struct otp_outbox_cfg *c)
{
	int64_t t = c->sms_env.timeout_ms > 0 ? c->sms_env.timeout_ms : 10000;
	int64_t ct = c->sms_env.connect_timeout_ms > 0
			 ? c->sms_env.connect_timeout_ms
			 : 3000;
	return t + ct + 1000;
}

/* The shortest lease that lets one message through. */
static int64_t min_lease(const struct otp_outbox_cfg *c)
{
	return per_message(c) + 1000;
}

static void fill_defaults(const struct otp_outbox_cfg *in,
			  struct otp_outbox_cfg *out)
{
	*out = *in;
	if (out->lease_ms <= 0)
		out->lease_ms = 30000;
	if (out->lease_ms < min_lease(out))
		out->lease_ms = min_lease(out);
	if (out->max_attempts <= 0)
		out->max_attempts = 6;
	if (out->poll_ms <= 0)
		out->poll_ms = 1000;
	if (out->workers <= 0)
		out->workers = 4;
	if (out->workers > WORKERS_MAX)
		out->workers = WORKERS_MAX;
	if (out->drivers)
		out->workers = 1; /* a borrowed set is not shared */
}

/* Where a worker delivers: its store handle, its drivers, the pool's
 * hung-gateway marks with its slot in them (br NULL: none, for tests), and
 * the pool's stop flag (NULL for tests). */
struct place {
	struct otp_store *s;
	struct otp_sms_set *set;
	struct otp_breakers *br;
	size_t slot;
	const bool *stop;
};

/* lease_end: the monotonic time by which the claim's lease has run out at
 * the earliest (a failed ack is tried again until shortly before it). */
static int deliver(const struct otp_outbox_cfg *cfg, const struct place *p,
		   const struct otp_msg *m, int64_t now, int64_t lease_end,
		   int64_t *soonest)
{
	struct otp_store *s = p->s;
	struct otp_sms_set *set = p->set;
	struct otp_note nt;
	size_t d = m->driver < 0 ? 0 : (size_t)m->driver;
	if (d >= set->n)
		d = set->n - 1; /* the list got shorter since */
	struct otp_sms *drv = set->d[d];
	nt.driver = drv->ops->name;
	otp_phone_mask(m->to, nt.masked);
	snprintf(nt.attempt, sizeof nt.attempt, "%d", m->attempts);
	if (cfg->id_tag)
		cfg->id_tag(cfg->arg, m->request_id, nt.rid, sizeof nt.rid);
	else
		snprintf(nt.rid, sizeof nt.rid, "%s", m->request_id);

	if (now >= m->expires_ms) {
		otp_metrics_sms(nt.driver, OTP_M_SMS_expired);
		otp_metrics_sms_country(m->to, OTP_M_SMS_expired);
		return otp_settle_dead(s, m, &nt, OTP_MSG_EXPIRED,
				       "code expired", now);
	}

	char text[TEXT_MAX];
	int rc = cfg->unseal(cfg->arg, m, now, text, sizeof text);
	if (rc < 0) {
		sodium_memzero(text, sizeof text);
		char reason[64];
		snprintf(reason, sizeof reason, "unseal: %s", otp_err_code(rc));
		return otp_settle_dead(s, m, &nt, OTP_MSG_FAILED, reason, now);
	}
	text[sizeof text - 1] = '\0';

	struct otp_segments seg = {OTP_SMS_GSM7, 0, 0};
	otp_message_segments(text, strlen(text), &seg);
	char parts[16], token[OTP_SMS_TOKEN_MAX] = "";
	snprintf(parts, sizeof parts, "%d", seg.parts);
	if (cfg->dlr_token)
		cfg->dlr_token(cfg->arg, m->id, token, sizeof token);
	struct otp_sms_msg sm = {
	    .to = m->to,
	    .body = text,
	    .request_id = m->request_id,
	    .message_id = m->id,
	    /* One message per request id, and ids are random: the key (the
	     * id's tag) is unique across stores and the same on every try,
	     * driver and process. */
	    .idem_key = nt.rid,
	    .dlr_token = token,
	    .queued_ms = m->created_ms,
	    .ucs2 = seg.coding == OTP_SMS_UCS2,
	    .expires_ms = m->expires_ms,
	    .now_ms = now,
	};
	char reason[OTP_ERROR_TEXT_MAX] = "";
	if (p->br &&
	    !otp_breaker_enter(p->br, d, p->slot, otp_clock_mono_ms())) {
		sodium_memzero(text, sizeof text);
		return otp_breaker_pass_on(s, m, nt.driver, d, set->n, now,
					   soonest);
	}
	enum otp_sms_result res = otp_sms_send(drv, &sm, reason, sizeof reason);
	bool hung =
	    p->br && otp_breaker_leave(p->br, d, p->slot, res == OTP_SMS_SENT,
				       otp_clock_mono_ms());
	sodium_memzero(text, sizeof text);
	enum otp_m_sms st = res == OTP_SMS_SENT	   ? OTP_M_SMS_sent
			    : res == OTP_SMS_RETRY ? OTP_M_SMS_retry
						   : OTP_M_SMS_failed;
	otp_metrics_sms(nt.driver, st);
	otp_metrics_sms_country(m->to, st);

	switch (res) {
	case OTP_SMS_SENT:
		if (m->created_ms > 0)
			otp_metrics_sms_stage(
			    OTP_M_ACCEPTED, otp_clock_now_ms() - m->created_ms);
		rc = otp_settle_sent(s, m, &nt, now, lease_end - ACK_MARGIN_MS,
				     p->stop);
		otp_log(OTP_LOG_INFO, "sms sent", "to", nt.masked, "request",
			nt.rid, "driver", nt.driver, "#attempt", nt.attempt,
			"encoding", otp_sms_coding_name(seg.coding),
			"#segments", parts, NULL);
		return rc;
	case OTP_SMS_RETRY:
		if (hung && set->n > 1) /* the next driver now, no backoff */
			return otp_breaker_pass_on(s, m, nt.driver, d, set->n,
						   now, soonest);
		if (!reason[0])
			snprintf(reason, sizeof reason, "%s: try again",
				 nt.driver);
		return otp_settle_retry(cfg, s, m, &nt, d, set->n, reason, now,
					soonest);
	case OTP_SMS_FAILED:
	default:
		if (!reason[0])
			snprintf(reason, sizeof reason, "%s: refused",
				 nt.driver);
		return otp_settle_dead(s, m, &nt, OTP_MSG_FAILED, reason, now);
	}
}

/* Puts a claimed message back, due now, untried on its driver: otpd is
 * stopping, and another process (or this one restarted) sends it. */
static int release(struct otp_store *s, const struct otp_msg *m, int64_t now)
{
	return otp_store_outbox_retry(s, m->id, m->attempts, now,
				      m->driver < 0 ? 0 : m->driver,
				      "otpd stopping", now);
}

/* One round; with `live`, each message after the first gets a fresh `now`
 * and a message whose lease ran too low is left to the next claim.
 * *soonest comes down to the earliest retry this round scheduled. */
static int run_round(const struct otp_outbox_cfg *c, const struct place *p,
		     int64_t now, bool live, const bool *stop, size_t *handled,
		     int64_t *soonest)
{
	struct otp_msg msgs[BATCH] = {0};
	size_t n = 0;
	int64_t start = otp_clock_mono_ms(), per = per_message(c);

	*handled = 0;
	struct otp_store *s = p->s;
	int rc = otp_store_outbox_claim(s, now, c->lease_ms, msgs, BATCH, &n);
	if (rc < 0)
		return rc;
	/* Every claimed message is handled, even after a store error: each
	 * one is settled on its own, and its lease covers a failed settle. One
	 * left unsent for want of lease goes again when the lease runs out. */
	for (size_t i = 0; i < n; i++) {
		int r = 0;
		if (live && i > 0)
			now = otp_clock_now_ms();
		if (stop && __atomic_load_n(stop, __ATOMIC_RELAXED))
			r = release(s, &msgs[i], now);
		else if (!live ||
			 otp_clock_mono_ms() - start + per < c->lease_ms)
			r = deliver(c, p, &msgs[i], now, start + c->lease_ms,
				    soonest);
		if (r < 0 && rc == 0)
			rc = r;
		otp_msg_deinit(&msgs[i]);
	}
	*handled = n;
	return rc;
}

int otp_outbox_round(const struct otp_outbox_cfg *cfg, struct otp_store *s,
		     int64_t now, size_t *handled)
{
	struct otp_outbox_cfg c;
	int64_t soonest = INT64_MAX;
	*handled = 0;
	if (!cfg->drivers || cfg->drivers->n == 0 || !cfg->unseal)
		return OTP_EINTERNAL;
	fill_defaults(cfg, &c);
	struct place p = {s, cfg->drivers, NULL, 0, NULL};
	return run_round(&c, &p, now, false, NULL, handled, &soonest);
}

/* Sends messages handed over in memory (handoff.h) as run_round sends a
 * claimed batch: each only while its lease leaves a message's time (else
 * the lease brings it back to a claim), and put back, due now, once the
 * pool is stopping. The first store error, or 0. */
static int run_handed(const struct otp_outbox_cfg *c, const struct place *p,
		      struct otp_handed *h, size_t n, int64_t *soonest)
{
	int rc = 0, per = (int)per_message(c);
	for (size_t i = 0; i < n; i++) {
		int r = 0;
		int64_t now = otp_clock_now_ms();
		if (p->stop && __atomic_load_n(p->stop, __ATOMIC_RELAXED))
			r = release(p->s, &h[i].m, now);
		else if (h[i].lease_end_mono - otp_clock_mono_ms() > per)
			r = deliver(c, p, &h[i].m, now, h[i].lease_end_mono,
				    soonest);
		if (r < 0 && rc == 0)
			rc = r;
		otp_msg_deinit(&h[i].m);
	}
	return rc;
}

/* Waits until there is work (a kick, a handed message), stop, or `ms`
 * passed. */
static void wait_work(struct otp_outbox *o, int64_t ms)
{
	struct timespec ts = otp_clock_deadline(CLOCK_MONOTONIC, ms);
	while (!o->stop && o->kicks == 0 && o->hq.len == 0)
		if (pthread_cond_timedwait(&o->cv, &o->mu, &ts) == ETIMEDOUT)
			break;
}

/* One turn of a worker, without the pool's lock: the handed messages it
 * took, then a claim round if one is due (claim, or the poll period is
 * over, or a retry it scheduled has come). *n gets the claimed count. */
static int turn(struct worker *w, const struct place *at,
		struct otp_handed *handed, size_t nh, bool claim, size_t *n)
{
	struct otp_outbox *o = w->o;
	int64_t soonest = INT64_MAX;
	int rc = nh ? run_handed(&o->cfg, at, handed, nh, &soonest) : 0;
	*n = 0;
	if (w->due <= otp_clock_now_ms()) {
		w->due = INT64_MAX; /* that retry is being claimed now */
		claim = true;
	}
	if (claim || otp_clock_mono_ms() >= w->next_claim) {
		int r = run_round(&o->cfg, at, otp_clock_now_ms(), true,
				  &o->stop, n, &soonest);
		if (r < 0 && rc == 0)
			rc = r;
		/* A full batch: more may be due, claim again at once. */
		w->next_claim = otp_clock_mono_ms() +
				(*n == BATCH ? 0 : o->cfg.poll_ms);
	}
	if (soonest < w->due)
		w->due = soonest;
	return rc;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct otp_outbox *o = w->o;
	const struct place at = {w->store, w->set, &o->br, (size_t)(w - o->w),
				 &o->stop};
	struct otp_handed handed[BATCH];
	pthread_mutex_lock(&o->mu);
	while (!o->stop) {
		size_t nh = otp_handq_take(&o->hq, handed, BATCH), n;
		bool claim = o->kicks > 0; /* new rows were queued */
		if (claim)
			o->kicks--;
		pthread_mutex_unlock(&o->mu);

		int rc = turn(w, &at, handed, nh, claim, &n);
		static struct otp_log_every round_failed;
		long held;
		char nbuf[OTP_LOG_NUM_LEN];
		if (rc < 0 &&
		    otp_log_every_due(&round_failed, otp_clock_mono_ms(), 10000,
				      &held))
			otp_log(OTP_LOG_WARN, "outbox round failed", "error",
				otp_err_code(rc), "store", w->store->ops->name,
				"#repeated", otp_log_num(nbuf, held), NULL);

		pthread_mutex_lock(&o->mu);
		/* More handed, a kick, or a full batch (more may be due): go
		 * again at once. Otherwise sleep until the next claim round,
		 * or the earliest retry this worker scheduled (others wake
		 * for their own). */
		if (o->hq.len == 0 && o->kicks == 0 && n < BATCH) {
			int64_t ms = w->next_claim - otp_clock_mono_ms();
			if (w->due != INT64_MAX) {
				int64_t left = w->due - otp_clock_now_ms();
				if (left < ms)
					ms = left;
			}
			if (ms > 0)
				wait_work(o, ms);
		}
	}
	/* Handed messages no worker took go back to the store, due now. */
	size_t nh;
	while ((nh = otp_handq_take(&o->hq, handed, BATCH)) > 0) {
		pthread_mutex_unlock(&o->mu);
		int64_t soonest = INT64_MAX;
		(void)run_handed(&o->cfg, &at, handed, nh, &soonest);
		pthread_mutex_lock(&o->mu);
	}
	o->running--;
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

/* Store handle and drivers for one worker. 0, the store's error, or
 * OTP_ETYPE with a reason in err. */
static int worker_open(struct otp_outbox *o, struct worker *w, char *err,
		       size_t errlen)
{
	w->o = o;
	w->due = INT64_MAX;
	int rc = otp_store_open(o->cfg.store_url, &w->store);
	if (rc < 0) {
		snprintf(err, errlen, "cannot open the store for delivery: %s",
			 otp_err_message(rc));
		return rc;
	}
	if (o->cfg.drivers) {
		w->set = o->cfg.drivers;
		return 0;
	}
	rc = otp_sms_set_open(o->cfg.sms_list, &o->cfg.sms_env, &w->own, err,
			      errlen);
	if (rc < 0) {
		otp_store_close(w->store);
		w->store = NULL;
		return rc;
	}
	w->set = &w->own;
	return 0;
}

static void worker_close(struct worker *w)
{
	otp_sms_set_close(&w->own);
	otp_store_close(w->store);
}

static void stop_workers(struct otp_outbox *o)
{
	pthread_mutex_lock(&o->mu);
	__atomic_store_n(&o->stop, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
	/* Each round in hand finishes its batch: its messages are settled
	 * rather than left to wait out their leases. */
	for (int i = 0; i < o->n; i++)
		pthread_join(o->w[i].thread, NULL);
	for (int i = 0; i < o->n; i++)
		worker_close(&o->w[i]);
	o->n = 0;
}

int otp_outbox_start(struct otp_outbox **out, const struct otp_outbox_cfg *cfg,
		     char *err, size_t errlen)
{
	pthread_condattr_t ca;
	int rc = OTP_EINTERNAL;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if ((!cfg->drivers && !cfg->sms_list) || !cfg->unseal)
		return OTP_EINTERNAL;
	if (sodium_init() < 0)
		return OTP_EINTERNAL;
	struct otp_outbox *o = calloc(1, sizeof *o);
	if (!o)
		abort();
	fill_defaults(cfg, &o->cfg);
	otp_breakers_init(&o->br, per_message(&o->cfg));
	otp_handq_init(&o->hq);
	o->w = calloc((size_t)o->cfg.workers, sizeof *o->w);
	if (!o->w)
		abort();

	if (pthread_mutex_init(&o->mu, NULL) != 0)
		goto fail_mutex;
	if (pthread_condattr_init(&ca) != 0)
		goto fail_condattr;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&o->cv, &ca) != 0)
		goto fail_cond;
	pthread_condattr_destroy(&ca);
	for (int i = 0; i < o->cfg.workers; i++) {
		struct worker *w = &o->w[i];
		rc = worker_open(o, w, err, errlen);
		if (rc < 0)
			goto fail_workers;
		pthread_mutex_lock(&o->mu);
		o->running++;
		pthread_mutex_unlock(&o->mu);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			pthread_mutex_lock(&o->mu);
			o->running--;
			pthread_mutex_unlock(&o->mu);
			worker_close(w);
			rc = OTP_EINTERNAL;
			snprintf(err, errlen, "cannot start a delivery thread");
			goto fail_workers;
		}
		o->n++;
	}
	*out = o;
	return 0;

fail_workers:
	stop_workers(o);
	pthread_cond_destroy(&o->cv);
	goto fail_condattr;
fail_cond:
	pthread_condattr_destroy(&ca);
fail_condattr:
	pthread_mutex_destroy(&o->mu);
fail_mutex:
	otp_handq_deinit(&o->hq);
	free(o->w);
	free(o);
	return rc;
}

void otp_outbox_notify(struct otp_outbox *o)
{
	pthread_mutex_lock(&o->mu);
	if (o->kicks < o->n)
		o->kicks++;
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

bool otp_outbox_reserve(struct otp_outbox *o, int64_t *lease_ms)
{
	pthread_mutex_lock(&o->mu);
	bool ok = !o->stop && otp_handq_reserve(&o->hq);
	pthread_mutex_unlock(&o->mu);
	*lease_ms = ok ? o->cfg.lease_ms : 0;
	return ok;
}

void otp_outbox_hand(struct otp_outbox *o, struct otp_msg *m,
		     int64_t lease_until)
{
	/* Its lease on our monotonic clock, from now on. */
	int64_t end = otp_clock_mono_ms() + (lease_until - otp_clock_now_ms());
	pthread_mutex_lock(&o->mu);
	otp_handq_put(&o->hq, m, end);
	pthread_cond_signal(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

void otp_outbox_cancel(struct otp_outbox *o)
{
	pthread_mutex_lock(&o->mu);
	otp_handq_cancel(&o->hq);
	pthread_mutex_unlock(&o->mu);
}

/* Stops the workers and waits up to ms for each to settle the message in
 * hand. Returns false if one is still in a gateway's send at the deadline:
 * it is left running (its message keeps its lease) and o stays allocated
 * for it, since the process is about to exit. */
static bool stop_by(struct otp_outbox *o, int64_t ms)
{
	struct timespec ts = otp_clock_deadline(CLOCK_MONOTONIC, ms);
	pthread_mutex_lock(&o->mu);
	__atomic_store_n(&o->stop, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&o->cv);
	while (o->running > 0)
		if (pthread_cond_timedwait(&o->cv, &o->mu, &ts) == ETIMEDOUT)
			break;
	int left = o->running;
	pthread_mutex_unlock(&o->mu);
	if (left == 0)
		return true;
	char nbuf[16];
	snprintf(nbuf, sizeof nbuf, "%d", left);
	otp_log(OTP_LOG_WARN,
		"delivery workers still sending at the drain deadline; their "
		"messages wait out their leases",
		"#workers", nbuf, NULL);
	return false;
}

void otp_outbox_stop_within(struct otp_outbox *o, int64_t ms)
{
	if (!o || !stop_by(o, ms))
		return;
	otp_outbox_stop(o);
}

void otp_outbox_stop(struct otp_outbox *o)
{
	if (!o)
		return;
	stop_workers(o);
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	otp_handq_deinit(&o->hq);
	free(o->w);
	free(o);
}
