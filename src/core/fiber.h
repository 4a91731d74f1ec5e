/* fiber.h - work that waits without holding a thread: each piece of posted
 * work runs on a fiber (a stack of its own, ucontext) on one of a few runner
 * threads, and a wait that knows fibers (a store COMMIT) parks the fiber
 * instead of sleeping the thread, so that the runner goes on with the next
 * piece of work in the meantime.
 *
 * A fiber stays on the runner it started on (a thread-local's address taken
 * before a park stays right after it), and runs until it parks or returns:
 * fibers of one runner never run at once, so state they share without a
 * lock (a thread's caches) is only at risk across a park. Code that parks
 * must not hold a lock across it other than the one it hands to park.
 */
#ifndef OTP_CORE_FIBER_H
#define OTP_CORE_FIBER_H

#include <pthread.h>
#include <stdbool.h>

struct otp_fibers;
struct otp_fiber;

/* Starts `runners` threads that run at most `max` fibers in all, each
 * with a stack of stack_kib KiB. Aborts when out of memory. */
struct otp_fibers *otp_fibers_start(unsigned runners, unsigned max,
				    unsigned stack_kib);

/* Queues fn(arg) to run on a fiber; false (nothing queued) once stopping. */
bool otp_fibers_post(struct otp_fibers *fs, void (*fn)(void *), void *arg);

/* Refuses new work, hands what no fiber has started to drop(arg) (if
 * drop is set: else it runs too), lets every started fiber run to its end,
 * then joins the runners. */
void otp_fibers_stop(struct otp_fibers *fs, void (*drop)(void *arg));
void otp_fibers_free(struct otp_fibers *fs);

/* The calling fiber, or NULL on a plain thread. */
struct otp_fiber *otp_fiber_self(void);

/* Parks the calling fiber: unlocks mu, lets the runner go on, and returns
 * with mu locked again once otp_fiber_wake(self) was called (a wake before
 * the park is not lost). The caller loops on its own condition. */
void otp_fiber_park(struct otp_fiber *self, pthread_mutex_t *mu);

/* Makes f runnable again (from any thread or fiber). */
void otp_fiber_wake(struct otp_fiber *f);

/* Whether the calling fiber's runner has other fibers or work ready to run
 * now: a COMMIT can wait for them to join it. */
bool otp_fiber_others_ready(void);

/* The calling fiber's own pointer slot (NULL on a plain thread): what a
 * thread keeps in a thread-specific key, a fiber keeps here. free_local,
 * if set, is called on every fiber's slot at otp_fibers_free. */
void **otp_fiber_local(void);
void otp_fibers_set_local_free(void (*free_local)(void *));

/* Adds a hook a runner calls before it sleeps (its fibers are all parked or
 * done): the place to commit, or send, what parked fibers wait for. At most
 * 4 hooks a process; adding one twice adds it once. Any thread. */
void otp_fibers_add_idle(void (*idle)(void));

#endif
