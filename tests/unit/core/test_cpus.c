/* test_cpus.c - otpd sizes its server threads and malloc arenas by the CPUs
 * it may run on, not by the machine's: under `taskset -c 0` one. */
#include "core/cpus.h"
#include "harness.h"

#include <sched.h>

static void counts_the_affinity_mask(void)
{
	cpu_set_t all, one;
	CHECK_INT(sched_getaffinity(0, sizeof all, &all), 0);
	CHECK_INT((int)otp_cpus(), CPU_COUNT(&all));
	int first = 0;
	while (!CPU_ISSET(first, &all))
		first++;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	CHECK_INT(sched_setaffinity(0, sizeof one, &one), 0);
	CHECK_INT((int)otp_cpus(), 1);
	CHECK_INT(sched_setaffinity(0, sizeof all, &all), 0);
	CHECK_INT((int)otp_cpus(), CPU_COUNT(&all));
}

static const struct harness_test tests[] = {
    TEST(counts_the_affinity_mask),
};
HARNESS_MAIN("cpus", tests)
