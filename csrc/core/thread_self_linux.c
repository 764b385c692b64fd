/*
** The calling thread on Linux (glibc and musl): the kernel's thread id,
** which is also where a kick signal is sent (kick_signal_linux.c), and
** the stack bounds glibc and musl record for every thread.
*/
#if defined(__linux__)
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "thread_self.h"

static __thread int cached_tid;

int mt_tid(void) {
  if (cached_tid == 0) cached_tid = (int)syscall(SYS_gettid);
  return cached_tid;
}

char *mt_thread_stack_top(void) {
  pthread_attr_t attr;
  void *addr;
  size_t size;
  char *top = NULL;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return NULL;
  if (pthread_attr_getstack(&attr, &addr, &size) == 0) top = (char *)addr + size;
  pthread_attr_destroy(&attr);
  return top;
}
#endif
