/* slots.h - a fixed table of names, each given a slot the first time it is
 * counted, for counters kept per name in arrays (SMS drivers in
 * metrics.c, abuse rules in abuse/counters.c). A known name is found
 * without the lock; only a new one takes it. It stores the caller's
 * pointers, never a copy: the names must outlive the table (string
 * literals, the driver and rule tables). What is counted lives with the
 * caller.
 */
#ifndef OTP_CORE_SLOTS_H
#define OTP_CORE_SLOTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* The slot of name among the n of names, added under mu if new; -1 when
 * the table is full. Slots fill in order and are never given back. */
static inline int otp_slot_of(const char *_Atomic *names, int n,
			      pthread_mutex_t *mu, const char *name)
{
	for (int i = 0; i < n; i++) {
		const char *s = atomic_load(&names[i]);
		if (!s)
			break;
		if (strcmp(s, name) == 0)
			return i;
	}
	int got = -1;
	pthread_mutex_lock(mu);
	for (int i = 0; i < n && got < 0; i++) {
		const char *s = atomic_load(&names[i]);
		if (!s) {
			atomic_store(&names[i], name);
			got = i;
		} else if (strcmp(s, name) == 0) {
			got = i;
		}
	}
	pthread_mutex_unlock(mu);
	return got;
}

#endif
