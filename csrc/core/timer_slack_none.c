/*
** Platforms with no per-thread timer slack to lower (macOS coalesces
** timers by QoS class; the watchdog runs at the default one).
*/
#if !defined(__linux__)
#include "timer_slack.h"

void timer_slack_min(void) {}
#endif
