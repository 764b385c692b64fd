/*
** The CPU time of a thread, readable from any thread: what lua.cpuTime()
** and the cpuLimit of a call measure. One implementation per platform
** (cputime_posix.c: pthread_getcpuclockid; cputime_darwin.c: Mach).
*/
#ifndef MTINT_CPUTIME_H
#define MTINT_CPUTIME_H

#include <stdint.h>

/* A thread's CPU clock, as a number that fits an atomic (a clockid_t or a
** Mach thread port); 0 when the platform cannot name it. */
typedef uint64_t mt_cpuclock;

/* The calling thread's clock. */
mt_cpuclock cpuclock_self(void);

/* CPU time in ns of the thread behind `c` (user + system); 0 when unknown
** (also once the thread has exited). */
uint64_t cpuclock_ns(mt_cpuclock c);

/* The calling thread's CPU time in ns, the cheapest way the platform has. */
uint64_t cpuclock_self_ns(void);

#endif
