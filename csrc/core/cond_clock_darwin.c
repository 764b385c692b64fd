/*
** Monotonic condition variables on macOS, which has no
** pthread_condattr_setclock: a wait for the time left, measured on
** mt_now_ns()'s clock (pthread_cond_timedwait_relative_np does not follow
** the wall clock either).
*/
#if defined(__APPLE__)
#include <errno.h>
#include <time.h>

#include "cond_clock.h"
#include "mtint_core.h"

void cond_init_monotonic(pthread_cond_t *c) { pthread_cond_init(c, NULL); }

int cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline_ns) {
  uint64_t now = mt_now_ns();
  if (now >= deadline_ns) return ETIMEDOUT;
  uint64_t left = deadline_ns - now;
  struct timespec wait = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
  return pthread_cond_timedwait_relative_np(c, m, &wait) == ETIMEDOUT ? ETIMEDOUT : 0;
}
#endif
