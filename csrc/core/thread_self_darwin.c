/*
** The calling thread on macOS: its Mach thread port, which names it among
** the live threads of the task as a kernel tid does on Linux (and is
** reused after it exits, as a tid is), and the stack top libpthread
** records.
*/
#if defined(__APPLE__)
#include <pthread.h>

#include "thread_self.h"

/* A TSD read: cheap enough not to cache (a __thread would be a lazily
** allocated Mach-O thread-local). */
int mt_tid(void) { return (int)pthread_mach_thread_np(pthread_self()); }

char *mt_thread_stack_top(void) { return (char *)pthread_get_stackaddr_np(pthread_self()); }
#endif
