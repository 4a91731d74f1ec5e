/* test_fiber.c - fibers park without holding their runner, wake from any
 * thread (a wake before the park is not lost), keep a slot of their own,
 * and a stop refuses what no fiber started. */
#include "core/fiber.h"
#include "fiber_hold.h"
#include "harness.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

/* For polling what other threads do, never to wait out a time. */
static void pause_ms(long ms)
{
	nanosleep(&(struct timespec){0, ms * 1000000L}, NULL);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* One parked fiber a slot; a thread wakes them in turn. */
struct waiter {
	struct otp_fiber *self;
	bool go, done, others;
	pthread_t runner;
	void *slot;
};

static void park_until_go(void *arg)
{
	struct waiter *w = arg;
	w->runner = pthread_self();
	*otp_fiber_local() = w; /* a slot of its own, kept across the park */
	pthread_mutex_lock(&mu);
	w->self = otp_fiber_self();
	w->others = otp_fiber_others_ready();
	while (!w->go)
		otp_fiber_park(w->self, &mu);
	w->slot = *otp_fiber_local();
	w->done = true;
	pthread_mutex_unlock(&mu);
}

static bool all_parked(struct waiter *w, int n)
{
	for (int i = 0; i < 400; i++) {
		pthread_mutex_lock(&mu);
		int k = 0;
		while (k < n && w[k].self)
			k++;
		pthread_mutex_unlock(&mu);
		if (k == n)
			return true;
		pause_ms(5);
	}
	return false;
}

/* Eight fibers on one runner all park at once (the runner is not held by
 * any of them), and each ends once woken, with its own slot. A first one
 * holds the runner until all are queued, so that the first sees the
 * others ready and the last none. */
static void park_and_wake(void)
{
	enum { N = 8 };
	struct waiter w[N] = {0};
	struct otp_fibers *fs = otp_fibers_start(1, N + 1, 64);
	CHECK(fiber_hold(fs));
	for (int i = 0; i < N; i++)
		CHECK(otp_fibers_post(fs, park_until_go, &w[i]));
	fiber_hold_release();
	CHECK(all_parked(w, N));
	CHECK(otp_fiber_self() == NULL); /* a plain thread */
	CHECK(otp_fiber_local() == NULL);
	CHECK(w[0].others); /* seven more were queued behind it */
	CHECK(!w[N - 1].others);
	for (int i = 0; i < N; i++) {
		pthread_mutex_lock(&mu);
		w[i].go = true;
		pthread_mutex_unlock(&mu);
		otp_fiber_wake(w[i].self);
	}
	otp_fibers_stop(fs, NULL);
	for (int i = 0; i < N; i++) {
		CHECK(w[i].done);
		CHECK(w[i].slot == &w[i]);
		CHECK(pthread_equal(w[i].runner, w[0].runner));
	}
	otp_fibers_free(fs);
	fiber_hold_done();
}

/* A wake that comes while the fiber is still running (before it parks)
 * makes its park return at once. */
static void wake_before_park(void *arg)
{
	int *rounds = arg;
	pthread_mutex_lock(&mu);
	otp_fiber_wake(otp_fiber_self());
	otp_fiber_park(otp_fiber_self(), &mu);
	(*rounds)++;
	pthread_mutex_unlock(&mu);
}

static void early_wake_is_kept(void)
{
	int rounds = 0;
	struct otp_fibers *fs = otp_fibers_start(1, 1, 64);
	CHECK(otp_fibers_post(fs, wake_before_park, &rounds));
	otp_fibers_stop(fs, NULL);
	CHECK_INT(rounds, 1);
	otp_fibers_free(fs);
}

/* More work than fibers waits for a free one; a stop hands what has not
 * started to drop (the daemon answers it 503), lets the started one end,
 * and refuses what is posted after it. */
static sem_t hold;
static atomic_int started, ran, dropped;
static void held(void *arg)
{
	(void)arg;
	atomic_fetch_add(&started, 1);
	while (sem_wait(&hold) != 0)
		;
	atomic_fetch_add(&ran, 1);
}

static void count_drop(void *arg)
{
	(void)arg;
	atomic_fetch_add(&dropped, 1);
}

static void *stopper(void *arg)
{
	otp_fibers_stop(arg, count_drop);
	return NULL;
}

static void stop_drops_unstarted(void)
{
	CHECK_INT(sem_init(&hold, 0, 0), 0);
	struct otp_fibers *fs = otp_fibers_start(1, 1, 64);
	for (int i = 0; i < 3; i++)
		CHECK(otp_fibers_post(fs, held, NULL));
	for (int i = 0; i < 400 && atomic_load(&started) < 1; i++)
		pause_ms(5);
	CHECK_INT(atomic_load(&started), 1); /* one fiber: one started */
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, stopper, fs), 0);
	for (int i = 0; i < 400 && atomic_load(&dropped) < 2; i++)
		pause_ms(5);
	CHECK_INT(atomic_load(&dropped), 2);
	CHECK(!otp_fibers_post(fs, held, NULL));
	sem_post(&hold); /* the started one ends; the stop returns */
	pthread_join(t, NULL);
	CHECK_INT(atomic_load(&ran), 1);
	CHECK_INT(atomic_load(&started), 1);
	otp_fibers_free(fs);
	sem_destroy(&hold);
}

static const struct harness_test tests[] = {
    TEST(park_and_wake),
    TEST(early_wake_is_kept),
    TEST(stop_drops_unstarted),
};
HARNESS_MAIN("fiber", tests)
