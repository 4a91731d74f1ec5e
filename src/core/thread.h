/* thread.h - starting a part's worker thread with a small stack, and
 * stopping one: set its stop flag under its lock, wake it, wait for it to
 * end. What the worker does, and how it waits (a deadline from
 * core/clock.h), is its part's business.
 */
#ifndef OTP_CORE_THREAD_H
#define OTP_CORE_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

/* Starts fn(arg) on *t with a stack of stack_kib KiB instead of the
 * default 8 MiB (a pool of many threads then stays cheap); aborts if it
 * cannot. */
static inline void otp_thread_start(pthread_t *t, void *(*fn)(void *),
				    void *arg, size_t stack_kib)
{
	pthread_attr_t a;
	if (pthread_attr_init(&a) != 0 ||
	    pthread_attr_setstacksize(&a, stack_kib * 1024) != 0 ||
	    pthread_create(t, &a, fn, arg) != 0)
		abort();
	pthread_attr_destroy(&a);
}

/* Sets *stop under mu, signals cv and joins t. */
static inline void otp_thread_stop(pthread_mutex_t *mu, pthread_cond_t *cv,
				   bool *stop, pthread_t t)
{
	pthread_mutex_lock(mu);
	*stop = true;
	pthread_cond_signal(cv);
	pthread_mutex_unlock(mu);
	pthread_join(t, NULL);
}

#endif
