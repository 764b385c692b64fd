/*
** Monotonic condition variables through POSIX: the clock is an attribute
** of the condition variable, and the deadline an absolute time on it.
*/
#if !defined(__APPLE__)
#include <errno.h>
#include <time.h>

#include "cond_clock.h"

void cond_init_monotonic(pthread_cond_t *c) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(c, &attr);
  pthread_condattr_destroy(&attr);
}

int cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline_ns) {
  struct timespec until = {(time_t)(deadline_ns / 1000000000u), (long)(deadline_ns % 1000000000u)};
  return pthread_cond_timedwait(c, m, &until) == ETIMEDOUT ? ETIMEDOUT : 0;
}
#endif
