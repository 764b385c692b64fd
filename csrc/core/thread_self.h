/*
** The calling thread as the kernel knows it: its id and where its stack
** ends. One implementation per platform (thread_self_linux.c: gettid and
** pthread_getattr_np; thread_self_darwin.c: the Mach port and
** pthread_get_stackaddr_np). Exported: the version libraries note the
** thread that runs a drop-in state with it (csrc/lua/runner.c).
*/
#ifndef MTINT_THREAD_SELF_H
#define MTINT_THREAD_SELF_H

#include "mtint_core.h"

/* An id of the calling thread, unique among the live threads of the
** process (a kernel id, not pthread_self(): glibc hands a finished
** thread's pthread_t to the next thread it creates); never 0. Cached per
** thread; normal code only (not async-signal-safe). */
MT_EXPORT int mt_tid(void);

/* The highest address of the calling thread's stack (its stack grows
** down from there), or NULL when the platform does not say. */
MT_EXPORT char *mt_thread_stack_top(void);

#endif
