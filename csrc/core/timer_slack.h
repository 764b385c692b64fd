/*
** Timer slack: how late the kernel may end a timed wait to batch wake-ups.
** One implementation per platform (timer_slack_linux.c: prctl, 50 us by
** default there; timer_slack_none.c: platforms without such a knob).
*/
#ifndef MTINT_TIMER_SLACK_H
#define MTINT_TIMER_SLACK_H

/* Makes the calling thread's timed waits end as close to their deadline
** as the platform allows (the watchdog's). */
void timer_slack_min(void);

#endif
