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
#include "outbox/deliver.h"
#include "outbox/handoff.h"
#include "outbox/settle.h"
#include "outbox/outbox_test.h"

#define BATCH	    4 /* messages claimed per round and worker */
#define WORKERS_MAX 64

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

/* The shortest lease that lets one message through. */
static int64_t min_lease(const struct otp_outbox_cfg *c)
{
	return otp_outbox_per_message(c) + 1000;
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

/* Sends the acks held now if they were held long enough (timed: a
 * worker's; a test's round holds them to its end), or if one of them
 * could not wait for the next message's longest try (its lease would run
 * out before): before each message. */
static void flush_due(const struct otp_outbox_cfg *c, const struct otp_place *p,
		      bool timed)
{
	size_t none;
	if (otp_settle_acks_due(p->acks,
				otp_clock_mono_ms() + otp_outbox_per_message(c),
				timed))
		(void)otp_settle_acks(p->acks, p->s, otp_clock_now_ms(),
				      p->stop, 0, NULL, 0, &none);
}

/* One round; with `live`, each message after the first gets a fresh `now`
 * and a message whose lease ran too low is left to the next claim.
 * *soonest comes down to the earliest retry this round scheduled. */
static int run_round(const struct otp_outbox_cfg *c, const struct otp_place *p,
		     int64_t now, bool live, const bool *stop, size_t *handled,
		     int64_t *soonest)
{
	struct otp_msg msgs[BATCH] = {0};
	size_t n = 0;
	int64_t start = otp_clock_mono_ms(), per = otp_outbox_per_message(c);

	*handled = 0;
	struct otp_store *s = p->s;
	/* The acks held ride with the claim: one store operation. */
	int rc = otp_settle_acks(p->acks, s, now, stop, c->lease_ms, msgs,
				 BATCH, &n);
	if (rc < 0 && n == 0)
		return rc;
	/* Every claimed message is handled, even after a store error: each
	 * one is settled on its own, and its lease covers a failed settle. One
	 * left unsent for want of lease goes again when the lease runs out. */
	for (size_t i = 0; i < n; i++) {
		int r = 0;
		if (live && i > 0)
			now = otp_clock_now_ms();
		flush_due(c, p, live);
		if (stop && __atomic_load_n(stop, __ATOMIC_RELAXED))
			r = otp_outbox_release(s, &msgs[i], now);
		else if (!live ||
			 otp_clock_mono_ms() - start + per < c->lease_ms)
			r = otp_outbox_deliver(c, p, &msgs[i], now,
					       start + c->lease_ms, soonest);
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
	struct otp_acks acks = {.n = 0};
	struct otp_place p = {s, cfg->drivers, NULL, 0, NULL, &acks};
	int rc = run_round(&c, &p, now, false, NULL, handled, &soonest);
	size_t none;
	int r = otp_settle_acks(&acks, s, now, NULL, 0, NULL, 0, &none);
	return rc < 0 ? rc : r;
}

/* Sends messages handed over in memory (handoff.h) as run_round sends a
 * claimed batch: each only while its lease leaves a message's time (else
 * the lease brings it back to a claim), and put back, due now, once the
 * pool is stopping. The first store error, or 0. */
static int run_handed(const struct otp_outbox_cfg *c, const struct otp_place *p,
		      struct otp_handed *h, size_t n, int64_t *soonest)
{
	int rc = 0, per = (int)otp_outbox_per_message(c);
	for (size_t i = 0; i < n; i++) {
		int r = 0;
		flush_due(c, p, true);
		int64_t now = otp_clock_now_ms();
		if (p->stop && __atomic_load_n(p->stop, __ATOMIC_RELAXED))
			r = otp_outbox_release(p->s, &h[i].m, now);
		else if (h[i].lease_end_mono - otp_clock_mono_ms() > per)
			r = otp_outbox_deliver(c, p, &h[i].m, now,
					       h[i].lease_end_mono, soonest);
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
static int turn(struct worker *w, const struct otp_place *at,
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
		w->next_claim =
		    otp_clock_mono_ms() + (*n == BATCH ? 0 : o->cfg.poll_ms);
	}
	if (soonest < w->due)
		w->due = soonest;
	return rc;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct otp_outbox *o = w->o;
	struct otp_acks acks = {.n = 0}; /* held to go together */
	const struct otp_place at = {w->store,		 w->set,   &o->br,
				     (size_t)(w - o->w), &o->stop, &acks};
	struct otp_handed handed[BATCH];
	size_t none;
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
		 * again at once, the acks held riding along. Otherwise they go
		 * now, and the worker sleeps until the next claim round, or
		 * the earliest retry it scheduled (others wake for their
		 * own). */
		bool idle = o->hq.len == 0 && o->kicks == 0 && n < BATCH;
		if (idle && acks.n && acks.send_us < OTP_ACK_FAST_US) {
			/* A fast gateway: more work within a moment takes
			 * these acks along. */
			wait_work(o, OTP_ACK_IDLE_MS);
			idle = o->hq.len == 0 && o->kicks == 0;
		}
		if (idle && acks.n) {
			pthread_mutex_unlock(&o->mu);
			(void)otp_settle_acks(&acks, w->store,
					      otp_clock_now_ms(), &o->stop, 0,
					      NULL, 0, &none);
			pthread_mutex_lock(&o->mu);
			idle = o->hq.len == 0 && o->kicks == 0;
		}
		if (idle) {
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
	pthread_mutex_unlock(&o->mu);
	(void)otp_settle_acks(&acks, w->store, otp_clock_now_ms(), &o->stop, 0,
			      NULL, 0, &none);
	pthread_mutex_lock(&o->mu);
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
	otp_breakers_init(&o->br, otp_outbox_per_message(&o->cfg));
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
