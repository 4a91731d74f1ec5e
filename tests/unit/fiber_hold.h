/* fiber_hold.h - for the tests of fibers: a first piece of work that holds
 * its runner until fiber_hold_release, so that everything posted after it
 * is queued before any of it runs (each then sees the others ready, and a
 * batch forms the same way every run). One hold at a time. */
#ifndef OTP_TEST_FIBER_HOLD_H
#define OTP_TEST_FIBER_HOLD_H

#include <semaphore.h>
#include <stdbool.h>

#include "core/fiber.h"

static sem_t fiber_hold_sem;

static void fiber_hold_run(void *arg)
{
	(void)arg;
	while (sem_wait(&fiber_hold_sem) != 0)
		; /* EINTR */
}

/* Posts the hold on fs (which needs a fiber for it); false if it failed. */
static inline bool fiber_hold(struct otp_fibers *fs)
{
	return sem_init(&fiber_hold_sem, 0, 0) == 0 &&
	       otp_fibers_post(fs, fiber_hold_run, NULL);
}

static inline void fiber_hold_release(void)
{
	sem_post(&fiber_hold_sem);
}

/* Once fs has stopped. */
static inline void fiber_hold_done(void)
{
	sem_destroy(&fiber_hold_sem);
}

#endif
