/* thread.h - stopping a part's worker thread: set its stop flag under its
 * lock, wake it, wait for it to end. What the worker does, and how it waits
 * (a deadline from core/clock.h), is its part's business.
 */
#ifndef OTP_CORE_THREAD_H
#define OTP_CORE_THREAD_H

#include <pthread.h>
#include <stdbool.h>

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
