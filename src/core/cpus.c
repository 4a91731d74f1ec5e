/* cpus.c - the CPUs this process may run on (see cpus.h).
 *
 * Not sysconf(_SC_NPROCESSORS_ONLN): that counts the machine's, and a
 * process held to one core of two (taskset -c 0, as bench/run runs otpd)
 * would start two server threads that take turns on that core. A request
 * that becomes ready on the one waiting for its turn waits a scheduler slice:
 * /auth/check at 64 connections had a p99 of 4.4 ms with two threads on one
 * core and 0.7-0.9 ms with one, at the same rate (bench/ab check, 2 pairs).
 */
#include "core/cpus.h"

#include <sched.h>
#include <unistd.h>

unsigned otp_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0) {
		int n = CPU_COUNT(&set);
		if (n > 0)
			return (unsigned)n;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}
