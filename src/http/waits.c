/* waits.c - the wait pool: where the handlers of routes marked OTP_R_WAITS
 * run while their connections are suspended.
 *
 * A send, a verify or a logout waits for its store operation's COMMIT (or
 * an upstream's answer, or a delivery report's wait); on the server's
 * threads, one a core, those waits would hold the thread that also serves
 * /auth/check, and a COMMIT could cover at most one operation a thread. Here
 * the server suspends such a request's connection (it holds no server
 * thread), queues it, and the pool runs the dispatch (auth, parse, guard,
 * handler) and resumes the connection with the answer. No answer goes out
 * before its handler returned: a 200 still means committed.
 *
 * Two kinds of worker, chosen by the server's cfg.fibers and the route:
 * - fibers (core/fiber.h), n of them on one runner thread a CPU, for a
 *   store whose waits park a fiber (SQLite's COMMIT: store/sqlite/commit.c;
 *   a Redis round trip: store/redis/pipe.c). A request waiting for its
 *   COMMIT or its replies holds no thread: the runner goes on with the next
 *   one, whose operation joins the same batch, and commits (or writes the
 *   batch) once it has nothing else to run; no thread sleeps and wakes a
 *   request.
 * - threads, n of them, for everything else: an upstream call, an
 *   OTP_R_REMOTE route (a delivery report that sleeps for its ack), and
 *   every route with --fibers false. With many requests in flight, many
 *   are inside the store at once, so the SQLite writer's group commit puts
 *   all of them into one COMMIT, and each Redis round trip carries
 *   several.
 *
 * The queues are unbounded in count but not in memory: each entry is a
 * request that libmicrohttpd holds already (the connection limit bounds
 * them). Not here: suspension and resumption (server.c), what a handler
 * does (src/handlers/).
 */
#include "http/internal.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/cpus.h"
#include "core/fiber.h"
#include "core/thread.h"

struct otp_http_waits {
	pthread_mutex_t mu;
	pthread_cond_t ready;
	struct ctx *head, **tail;
	bool stop;
	unsigned n;
	pthread_t *th;
	struct otp_fibers *fibers; /* NULL: threads only */
};

/* A handler that defers on its own answers later itself. */
static void run_one(void *arg)
{
	struct ctx *c = arg;
	if (!otp_http_dispatch(c))
		otp_req_finish(&c->r, 0);
}

/* Not started by the stop: answered 503 (the daemon is stopping). */
static void refuse(void *arg)
{
	struct ctx *c = arg;
	otp_req_finish(&c->r, OTP_EBUSY);
}

static void *run(void *arg)
{
	struct otp_http_waits *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->ready, &w->mu);
		if (w->stop)
			break;
		struct ctx *c = w->head;
		w->head = c->wait_next;
		if (!w->head)
			w->tail = &w->head;
		pthread_mutex_unlock(&w->mu);
		run_one(c);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct otp_http_waits *otp_http_waits_start(unsigned n, bool fibers)
{
	struct otp_http_waits *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->ready, NULL);
	w->tail = &w->head;
	/* A fiber's stack holds what a thread's would (below). */
	if (fibers)
		w->fibers = otp_fibers_start(otp_cpus(), n, 256);
	w->th = calloc(n, sizeof *w->th);
	if (!w->th)
		abort();
	/* Their stacks hold a handler's frames and SQLite's or hiredis's
	 * below: 256 KiB is ample, and n of them stay cheap. */
	for (; w->n < n; w->n++)
		otp_thread_start(&w->th[w->n], run, w, 256);
	return w;
}

void otp_http_waits_post(struct otp_http_waits *w, struct ctx *c)
{
	c->wait_next = NULL;
	if (w->fibers && !(c->r.route->flags & OTP_R_REMOTE)) {
		/* After the stop: a kept-alive connection's request. */
		if (!otp_fibers_post(w->fibers, run_one, c))
			otp_req_finish(&c->r, OTP_EBUSY);
		return;
	}
	pthread_mutex_lock(&w->mu);
	if (w->stop) { /* a kept-alive connection's request after the stop */
		pthread_mutex_unlock(&w->mu);
		otp_req_finish(&c->r, OTP_EBUSY);
		return;
	}
	*w->tail = c;
	w->tail = &c->wait_next;
	pthread_cond_signal(&w->ready);
	pthread_mutex_unlock(&w->mu);
}

void otp_http_waits_stop(struct otp_http_waits *w)
{
	if (!w)
		return;
	/* The fibers' requests end, then the threads'; what neither took is
	 * answered 503. */
	otp_fibers_stop(w->fibers, refuse);
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->ready);
	pthread_mutex_unlock(&w->mu);
	for (unsigned i = 0; i < w->n; i++)
		pthread_join(w->th[i], NULL);
	/* What no thread took is answered 503 (the daemon is stopping). */
	for (struct ctx *c = w->head, *next; c; c = next) {
		next = c->wait_next;
		otp_req_finish(&c->r, OTP_EBUSY);
	}
	w->head = NULL;
}

void otp_http_waits_free(struct otp_http_waits *w)
{
	if (!w)
		return;
	otp_fibers_free(w->fibers);
	pthread_cond_destroy(&w->ready);
	pthread_mutex_destroy(&w->mu);
	free(w->th);
	free(w);
}
