/*
** The stack that Lua runs on (csrc/core/stack.h): deep recursion fits, a
** callback runs on the thread's own stack and may enter the mtint stack
** again, signal handlers run there, trimming gives pages back, and an
** overflow faults in the guard instead of writing past it.
**
** Usage: stack_test [seconds] (the argument is ignored: no stress here).
*/
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "stack.h"

/* Sanitizers report the guard test's overflow at length: skipped there. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SKIP_GUARD 1
#endif
#endif

#define SIZE ((size_t)128 << 20) /* ASan makes frames larger */

static mt_stack *s;
static char *thread_lo, *thread_hi; /* the test thread's own stack */

static int on_thread_stack(const void *p) { return (const char *)p >= thread_lo && (const char *)p < thread_hi; }

/* Recurses `levels` times with 4 KiB frames; returns a checksum. */
static __attribute__((noinline)) long deep(int levels) {
  volatile char frame[4096];
  memset((char *)frame, levels & 0x7f, sizeof frame);
  long below = levels > 0 ? deep(levels - 1) : 0;
  return below + frame[levels % 4096];
}

typedef struct {
  int levels;
  long sum;
  size_t room_top, room_deep;
  const void *inner_frame, *outer_frame, *again_frame;
  int handled_on_stack;
} ctx;

static void recurse(void *p) {
  ctx *c = p;
  int here;
  c->inner_frame = &here;
  c->sum = deep(c->levels);
}

static volatile const void *handler_frame;

static void on_signal(int signo) {
  (void)signo;
  int here;
  handler_frame = &here;
}

static void again(void *p) {
  ctx *c = p;
  int here;
  c->again_frame = &here;
}

static void outside(void *p) {
  ctx *c = p;
  int here;
  c->outer_frame = &here;
  CHECK(mt_stack_room(s) == SIZE_MAX); /* not on it now */
  mt_stack_run(s, again, c);           /* enters it again, below the waiting frames */
}

static void inside(void *p) {
  ctx *c = p;
  int here;
  c->inner_frame = &here;
  c->room_top = mt_stack_room(s);
  raise(SIGUSR1);
  c->handled_on_stack = handler_frame != NULL && !on_thread_stack((const void *)handler_frame);
  mt_stack_outside(s, outside, c);
}

/* Pages in memory between 1 and 40 MiB below `top`. */
static size_t resident_below(const void *top) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t hi = ((uintptr_t)top - ((size_t)1 << 20)) & ~(uintptr_t)(page - 1);
  uintptr_t lo = hi - ((size_t)39 << 20);
  size_t n = (hi - lo) / page, count = 0;
  unsigned char *vec = malloc(n);
  if (vec == NULL || mincore((void *)lo, hi - lo, vec) != 0) {
    free(vec);
    return (size_t)-1;
  }
  for (size_t i = 0; i < n; i++) count += vec[i] & 1;
  free(vec);
  return count;
}

#ifndef SKIP_GUARD
static void overflow(void *p) {
  (void)p;
  deep(1 << 30); /* 4 TiB of frames: must stop at the guard */
}
#endif

int main(void) {
  pthread_attr_t attr;
  pthread_getattr_np(pthread_self(), &attr);
  void *addr;
  size_t size;
  pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  thread_lo = addr;
  thread_hi = (char *)addr + size;
  signal(SIGUSR1, on_signal);

  s = mt_stack_new(SIZE);
  CHECK(s != NULL);
  if (s == NULL) return 1;
  CHECK(mt_stack_room(s) == SIZE_MAX);

  /* 48 MiB of frames: far more than any worker thread's stack. */
  ctx c = {.levels = 12 * 1024};
  mt_stack_run(s, recurse, &c);
  long expected = 0;
  for (int l = 0; l <= c.levels; l++) expected += l & 0x7f;
  CHECK(c.sum == expected);
  CHECK(!on_thread_stack(c.inner_frame));
  /* Committed as touched; trimming gives it back. */
  size_t before = resident_below(c.inner_frame);
  mt_stack_trim(s);
  size_t after = resident_below(c.inner_frame);
  CHECK(before != (size_t)-1 && before > 1000);
  CHECK(after == 0);

  mt_stack_run(s, inside, &c);
  CHECK(!on_thread_stack(c.inner_frame));
  CHECK(c.room_top > SIZE - 64 * 1024 && c.room_top <= SIZE);
  CHECK(c.handled_on_stack);
  CHECK(on_thread_stack(c.outer_frame));
  CHECK(!on_thread_stack(c.again_frame));
  CHECK((const char *)c.again_frame < (const char *)c.inner_frame); /* below the waiting frames */
  mt_stack_free(s);

  /* The guard: a runaway recursion dies by SIGSEGV, in a child. */
#ifndef SKIP_GUARD
  pid_t child = fork();
  if (child == 0) {
    mt_stack *t = mt_stack_new((size_t)8 << 20);
    mt_stack_run(t, overflow, NULL);
    _exit(0); /* not reached */
  }
  int status = 0;
  waitpid(child, &status, 0);
  /* A fault (or ASan's report of one), never a normal return. */
  CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
#endif

  if (failures == 0) printf("stack_test: ok\n");
  return failures != 0;
}
