/* pipe.c - the process's shared connection to one Redis (see pipe.h): the
 * registry of one per URL, the callers' queue, and the lead: the caller
 * that writes a batch and hands every reply to its caller.
 *
 * A call lives on its caller's stack: queued under the lock, woken by its
 * own semaphore when its replies are in (or its error is known), or to
 * lead the next batch; never touched by another thread after its answer.
 * The connection is used by one leader at a time (busy, under the lock;
 * the hand-off is a semaphore: each leader sees the last one's writes).
 * A call made on a fiber (core/fiber.h) waits by parking it, not on a
 * semaphore, and does not lead while its runner has other work ready: it
 * leaves the batch open for the calls that work is about to make, so that
 * one round trip carries every request the runner has in hand. The last
 * of them leads, or the runner does (on_idle) once it has nothing left to
 * run.
 * Not here: connecting, the stall, the timeouts and what an error reply
 * means (conn.c), what the commands are (the domain files).
 */
#include "store/redis/pipe.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/fiber.h"
#include "store/redis/conn.h"
#include "store/redis/stats.h"

struct call {
	const char *buf;
	size_t len;
	int n; /* replies expected */
	bool wrote;
	bool lead; /* woken to write the next batch, not with an answer */
	redisReply **rep;
	int rc;
	sem_t done;		 /* a thread's wait */
	struct otp_fiber *fiber; /* or the fiber that parks for it */
	atomic_bool answered;	 /* the fiber's: rc is in */
	struct call *next;
};

struct otp_redis_pipe {
	struct otp_redis_pipe *next; /* in the registry */
	char *url;
	int users;	       /* under the registry's lock */
	struct otp_redis conn; /* the leader's alone */
	pthread_mutex_t mu;
	struct call *head, **tail; /* under mu */
	bool busy; /* under mu: a leader is writing or reading */
	atomic_bool reset;
	atomic_bool sha_ok;
	char sha[OTP_RS_COUNT][41]; /* written once, before sha_ok */
};

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct otp_redis_pipe *registry;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A child of fork() must not write on its parent's socket: it makes its
 * own connections. */
static void forget_all(void)
{
	registry = NULL;
	pthread_mutex_init(&registry_mu, NULL);
}

static void set_atfork(void)
{
	pthread_atfork(NULL, NULL, forget_all);
}

/* Wakes c: to its answer, or to lead. */
static void wake(struct call *c)
{
	struct otp_fiber *f = c->fiber;
	if (!f) {
		sem_post(&c->done); /* c may be gone from here on */
		return;
	}
	if (!c->lead)
		atomic_store(&c->answered, true); /* c may be gone from here */
	otp_fiber_wake(f);
}

/* c's answer; the leader's own call is not waiting for it. */
static void finish(struct call *c, int rc, const struct call *self)
{
	c->rc = rc;
	if (c != self)
		wake(c);
}

/* Answers rc to every call from c on. */
static void finish_all(struct call *c, int rc, const struct call *self)
{
	while (c) {
		struct call *next = c->next;
		finish(c, rc, self);
		c = next;
	}
}

/* Fails every call from c on whose commands left without an answer:
 * one that wrote may have run (OTP_EOUTCOME), a read is unavailable. */
static void fail_from(struct call *c, const struct call *self)
{
	while (c) {
		struct call *next = c->next;
		finish(c, c->wrote ? OTP_EOUTCOME : OTP_EUNAVAIL, self);
		c = next;
	}
}

/* One batch: ready, write every call's commands, read each call's
 * replies in turn and wake it. */
static void run(struct otp_redis_pipe *p, struct call *batch,
		const struct call *self)
{
	struct otp_redis *r = &p->conn;
	if (atomic_exchange(&p->reset, false))
		otp_redis_wire_drop(r);
	int rc = otp_redis_wire_ready(r);
	if (rc) {
		finish_all(batch, rc, self);
		return;
	}
	if (!atomic_load(&p->sha_ok)) {
		memcpy(p->sha, r->sha, sizeof p->sha);
		atomic_store(&p->sha_ok, true);
	}
	uint64_t calls = 0;
	for (struct call *c = batch; c; c = c->next, calls++)
		otp_redis_wire_append(r, c->buf, c->len);
	otp_redis_stats_pipe(calls);
	int64_t since = otp_clock_mono_ms();
	if ((rc = otp_redis_wire_write(r)) != 0) {
		/* Not all left: none is known to have run. */
		finish_all(batch, OTP_EUNAVAIL, self);
		return;
	}
	for (struct call *c = batch, *next; c; c = next) {
		next = c->next;
		int i = 0;
		while (i < c->n && rc == 0)
			if ((rc = otp_redis_wire_read(r, &c->rep[i], since)) ==
			    0)
				i++;
		if (rc == 0) {
			finish(c, 0, self);
			continue;
		}
		while (i > 0)
			freeReplyObject(c->rep[--i]);
		fail_from(c, self);
		return;
	}
}

/* self leads: writes every call queued (its own among them) as one
 * batch, then hands the lead to the first call queued meanwhile, if any,
 * and returns with its own answer. */
static void lead(struct otp_redis_pipe *p, struct call *self)
{
	pthread_mutex_lock(&p->mu);
	struct call *batch = p->head;
	p->head = NULL;
	p->tail = &p->head;
	pthread_mutex_unlock(&p->mu);
	run(p, batch, self);
	pthread_mutex_lock(&p->mu);
	struct call *next = p->head;
	if (next)
		next->lead = true;
	else
		p->busy = false;
	pthread_mutex_unlock(&p->mu);
	if (next)
		wake(next);
}

/* A runner with nothing left to run: each pipe's batch that its fibers
 * left open (no leader yet) goes now, led by the runner itself. */
static void on_idle(void)
{
	pthread_mutex_lock(&registry_mu);
	for (struct otp_redis_pipe *p = registry; p; p = p->next) {
		pthread_mutex_lock(&p->mu);
		bool go = p->head && !p->busy;
		if (go)
			p->busy = true;
		pthread_mutex_unlock(&p->mu);
		if (go)
			lead(p, NULL);
	}
	pthread_mutex_unlock(&registry_mu);
}

/* On a fiber: queues c and waits for its answer, or to lead, or (while
 * its runner has other work ready and nobody leads) leaves the batch open
 * for that work's calls. Returns whether it leads now. */
static bool fiber_wait(struct otp_redis_pipe *p, struct call *c)
{
	pthread_mutex_lock(&p->mu);
	*p->tail = c;
	p->tail = &c->next;
	bool leader = !p->busy && !otp_fiber_others_ready();
	if (leader) {
		p->busy = true;
	} else {
		while (!c->lead && !atomic_load(&c->answered))
			otp_fiber_park(c->fiber, &p->mu);
		leader = c->lead;
	}
	pthread_mutex_unlock(&p->mu);
	return leader;
}

int otp_redis_pipe_call(struct otp_redis_pipe *p, const char *buf, size_t len,
			redisReply **rep, int n, bool wrote)
{
	struct call c = {.buf = buf,
			 .len = len,
			 .n = n,
			 .wrote = wrote,
			 .rep = rep,
			 .fiber = otp_fiber_self()};
	if (c.fiber) {
		if (fiber_wait(p, &c))
			lead(p, &c);
		return c.rc;
	}
	sem_init(&c.done, 0, 0);
	pthread_mutex_lock(&p->mu);
	*p->tail = &c;
	p->tail = &c.next;
	bool leader = !p->busy;
	p->busy = true;
	pthread_mutex_unlock(&p->mu);
	if (!leader) {
		while (sem_wait(&c.done) != 0)
			; /* EINTR */
		leader = c.lead;
	}
	if (leader)
		lead(p, &c);
	sem_destroy(&c.done);
	return c.rc;
}

void otp_redis_pipe_sha(struct otp_redis_pipe *p, char (*sha)[41])
{
	if (atomic_load(&p->sha_ok))
		memcpy(sha, p->sha, sizeof p->sha);
}

void otp_redis_pipe_reset(struct otp_redis_pipe *p)
{
	atomic_store(&p->reset, true);
}

static void pipe_free(struct otp_redis_pipe *p)
{
	otp_redis_deinit(&p->conn);
	pthread_mutex_destroy(&p->mu);
	free(p->url);
	free(p);
}

static struct otp_redis_pipe *pipe_new(const char *url)
{
	struct otp_redis_pipe *p = calloc(1, sizeof *p);
	if (!p || !(p->url = strdup(url)))
		abort();
	pthread_mutex_init(&p->mu, NULL);
	p->tail = &p->head;
	if (otp_redis_init(&p->conn, url) != 0) {
		pipe_free(p);
		return NULL;
	}
	return p;
}

struct otp_redis_pipe *otp_redis_pipe_get(const char *url)
{
	pthread_once(&atfork_once, set_atfork);
	otp_fibers_add_idle(on_idle);
	pthread_mutex_lock(&registry_mu);
	struct otp_redis_pipe *p = registry;
	while (p && strcmp(p->url, url) != 0)
		p = p->next;
	if (!p && (p = pipe_new(url)) != NULL) {
		p->next = registry;
		registry = p;
	}
	if (p)
		p->users++;
	pthread_mutex_unlock(&registry_mu);
	return p;
}

void otp_redis_pipe_put(struct otp_redis_pipe *p)
{
	pthread_mutex_lock(&registry_mu);
	bool last = --p->users == 0;
	if (last) {
		struct otp_redis_pipe **at = &registry;
		while (*at != p)
			at = &(*at)->next;
		*at = p->next;
	}
	pthread_mutex_unlock(&registry_mu);
	if (last) /* its users' calls are over: nothing is in flight */
		pipe_free(p);
}
