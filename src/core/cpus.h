/* cpus.h - how many CPUs this process may run on: the cores its threads
 * and malloc arenas are sized by.
 */
#ifndef OTP_CORE_CPUS_H
#define OTP_CORE_CPUS_H

/* The CPUs in the calling thread's affinity mask (taskset, systemd's
 * CPUAffinity=, a cpuset), or the online CPUs if the mask cannot be read;
 * at least 1. Call it before narrowing a thread's own mask. */
unsigned otp_cpus(void);

#endif
