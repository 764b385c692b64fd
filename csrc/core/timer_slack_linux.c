/*
** Linux delays a thread's timed waits by up to its timer slack, 50 us by
** default: 1 ns is the smallest it takes.
*/
#if defined(__linux__)
#include <sys/prctl.h>

#include "timer_slack.h"

void timer_slack_min(void) { prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); }
#endif
