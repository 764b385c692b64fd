/*
** Condition variables whose timed waits follow the monotonic clock of
** mt_now_ns(), so that deadlines do not move with the wall clock. One
** implementation per platform (cond_clock_posix.c: a CLOCK_MONOTONIC
** condition attribute; cond_clock_darwin.c: macOS has no
** pthread_condattr_setclock, but waits for a relative time).
*/
#ifndef MTINT_COND_CLOCK_H
#define MTINT_COND_CLOCK_H

#include <pthread.h>
#include <stdint.h>

/* pthread_cond_init for a condition variable waited on with cond_wait_until. */
void cond_init_monotonic(pthread_cond_t *c);

/* pthread_cond_timedwait until mt_now_ns() reaches `deadline_ns`: 0 when
** woken (maybe spuriously), ETIMEDOUT once the deadline has passed. */
int cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline_ns);

#endif
