/*
** Thread CPU clocks through POSIX: pthread_getcpuclockid names a clock
** that clock_gettime reads from any thread of the process.
*/
#if !defined(__APPLE__)
#include <pthread.h>
#include <time.h>

#include "cputime.h"

/* A clockid_t is a (negative on Linux) int: kept bit for bit. */
mt_cpuclock cpuclock_self(void) {
  clockid_t id;
  if (pthread_getcpuclockid(pthread_self(), &id) != 0) return 0;
  return (mt_cpuclock)(uint32_t)id;
}

static uint64_t read_clock(clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t cpuclock_ns(mt_cpuclock c) { return c == 0 ? 0 : read_clock((clockid_t)(uint32_t)c); }

uint64_t cpuclock_self_ns(void) { return read_clock(CLOCK_THREAD_CPUTIME_ID); }
#endif
