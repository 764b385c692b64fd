/*
** The signal that carries a kick to the thread that owns a universe
** (kick.c's "Signals"). One implementation per platform:
**
** - kick_signal_linux.c: rt_tgsigqueueinfo to the owner's kernel thread id,
**   the universe's handle as the signal's payload;
** - kick_signal_posix.c: pthread_kill, which carries no payload, with a
**   pending word per thread (macOS; on Linux with `zig build -Dkick=posix`,
**   so that it is tested here).
**
** Both end in kick_received(u), in the handler, on the thread the signal
** reached; kick.c decides there whether that thread may arm.
*/
#ifndef MTINT_KICK_SIGNAL_H
#define MTINT_KICK_SIGNAL_H

#include <stdint.h>

#include "internal.h"

/* Installs the handler on a free signal; once per process. No signal
** free: kicks are never sent (the watchdog cannot re-arm either). */
void kick_signal_setup(void);

/* On the thread that now owns `u` (mt_universe_open, mt_universe_adopt),
** after owner_tid and owner_thread are set: lets the thread receive kicks
** and records where they go. */
void kick_signal_attach(mt_universe *u);

/* Sends one kick for `u` (whose handle is `handle`) to its owner thread;
** the caller has just set u->signal_pending. 0 when nothing was sent (no
** signal, the thread is gone, the queue is full): the caller clears
** signal_pending and the next kick retries. */
int kick_signal_send(mt_universe *u, uint64_t handle);

/* kick.c: a kick signal for `u` arrived at this thread (from a handler,
** `u` validated as open). Clears signal_pending; arms when this thread
** runs `u`. */
void kick_received(mt_universe *u);

#endif
