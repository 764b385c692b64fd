/*
** mt_stack on POSIX (Linux, macOS): an anonymous mapping, committed as it
** is touched, with an inaccessible guard region below; the switch itself
** is per architecture (stack_switch.h). See stack.h for why.
*/
#include "stack.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stack_switch.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(MT_ASAN)
#define MT_ASAN 1
#endif
#ifdef MT_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

/* Larger than any frame Lua's C code or ours makes (a luaL_Buffer is 8
** KiB), so an overflow faults in the guard instead of skipping over it. */
#define GUARD_SIZE ((size_t)1 << 20)
/* What every call uses stays committed; mt_stack_trim gives back the rest. */
#define KEEP_SIZE ((size_t)256 << 10)
/* Below the kept top, a call that went deeper left return addresses in
** every frame (a few KiB each): a window this large cannot be skipped. */
#define PROBE_WINDOW ((size_t)16 << 10)
/* Room left below the frame that switches back to the thread's stack. */
#define SWITCH_GAP 256

struct mt_stack {
  char *map;     /* the mapping: guard, then the stack */
  size_t map_size;
  char *top;     /* where the stack starts (highest address) */
  void *outer;   /* the thread's stack pointer when it switched to us */
  void *inner;   /* where the next switch to us starts: the top, or below
                    the frames waiting for a callback to return */
  int on;        /* running on this stack now */
#ifdef MT_ASAN
  const void *outer_bottom; /* the thread's stack, for ASan */
  size_t outer_size;
#endif
};

static size_t page_size(void) {
  long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? (size_t)p : 4096;
}

mt_stack *mt_stack_new(size_t size) {
  mt_stack *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  size_t page = page_size();
  size = (size + page - 1) / page * page;
  int flags = MAP_PRIVATE | MAP_ANON;
#ifdef MAP_NORESERVE
  flags |= MAP_NORESERVE;
#endif
#ifdef MAP_STACK
  flags |= MAP_STACK;
#endif
  s->map_size = GUARD_SIZE + size;
  s->map = mmap(NULL, s->map_size, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (s->map == MAP_FAILED) {
    free(s);
    return NULL;
  }
  if (mprotect(s->map, GUARD_SIZE, PROT_NONE) != 0) {
    munmap(s->map, s->map_size);
    free(s);
    return NULL;
  }
#ifdef MADV_NOHUGEPAGE
  /* A huge page would commit 2 MiB where a call touches 4 KiB. */
  madvise(s->map + GUARD_SIZE, size, MADV_NOHUGEPAGE);
#endif
  s->top = s->map + s->map_size;
  s->inner = s->top;
  return s;
}

void mt_stack_free(mt_stack *s) {
  if (s == NULL) return;
  munmap(s->map, s->map_size);
  free(s);
}

static void *align_down(void *p, size_t gap) {
  return (void *)(((uintptr_t)p - gap) & ~(uintptr_t)15);
}

typedef struct {
  mt_stack *s;
  void (*fn)(void *);
  void *arg;
} trip;

/* ASan must know which stack is current (it unpoisons stacks on longjmp
** and checks accesses against their bounds): each switch is announced
** before (leaving) and confirmed after (arrived). The fake stack of the
** stack left behind is kept, since its frames are still live. */
#ifdef MT_ASAN
static void leaving(void **fake, const void *bottom, size_t size) { __sanitizer_start_switch_fiber(fake, bottom, size); }
static void arrived(void *fake, const void **bottom, size_t *size) { __sanitizer_finish_switch_fiber(fake, bottom, size); }
#else
static void leaving(void **fake, const void *bottom, size_t size) {
  (void)fake;
  (void)bottom;
  (void)size;
}
static void arrived(void *fake, const void **bottom, size_t *size) {
  (void)fake;
  *bottom = NULL;
  *size = 0;
}
#endif

static const void *stack_bottom(mt_stack *s) { return s->map + GUARD_SIZE; }
static size_t stack_size(mt_stack *s) { return (size_t)(s->top - (s->map + GUARD_SIZE)); }

/* Runs on the mtint stack, called from the thread's. */
static void inside(void *p) {
  trip *t = p;
  const void *bottom;
  size_t size;
  arrived(NULL, &bottom, &size);
#ifdef MT_ASAN
  t->s->outer_bottom = bottom;
  t->s->outer_size = size;
#endif
  t->fn(t->arg);
  void *fake = NULL;
  leaving(&fake, bottom, size);
}

void mt_stack_run(mt_stack *s, void (*fn)(void *), void *arg) {
  if (s->on) {
    fn(arg);
    return;
  }
  trip t = {s, fn, arg};
  void *outer = s->outer, *fake = NULL;
  const void *bottom;
  size_t size;
  s->on = 1;
  leaving(&fake, stack_bottom(s), stack_size(s));
  mt_switch_call(align_down(s->inner, SWITCH_GAP), inside, &t, &s->outer);
  arrived(fake, &bottom, &size);
  s->on = 0;
  s->outer = outer; /* a callback may have run us again: its entry point */
}

/* Runs on the thread's stack, called from the mtint stack. */
static void outside(void *p) {
  trip *t = p;
  const void *bottom;
  size_t size;
  arrived(NULL, &bottom, &size);
  t->fn(t->arg);
  void *fake = NULL;
  leaving(&fake, stack_bottom(t->s), stack_size(t->s));
}

void mt_stack_outside(mt_stack *s, void (*fn)(void *), void *arg) {
  if (s == NULL || !s->on) {
    fn(arg);
    return;
  }
  trip t = {s, fn, arg};
  void *inner = s->inner, *fake = NULL;
  const void *bottom = NULL;
  size_t size = 0;
#ifdef MT_ASAN
  bottom = s->outer_bottom;
  size = s->outer_size;
#endif
  s->on = 0;
  leaving(&fake, bottom, size);
  /* s->inner becomes this frame's stack pointer: a run from inside the
  ** callback starts below it. */
  mt_switch_call(align_down(s->outer, SWITCH_GAP), outside, &t, &s->inner);
  arrived(fake, &bottom, &size);
  s->on = 1;
  s->inner = inner;
}

size_t mt_stack_room(const mt_stack *s) {
  if (s == NULL || !s->on) return SIZE_MAX;
  char *here = __builtin_frame_address(0), *bottom = s->map + GUARD_SIZE;
  return here > bottom ? (size_t)(here - bottom) : 0;
}

/* Whether a call went below the kept top: reading a window is 0.2 us,
** madvise over a 512 MiB reservation 2.4 us (the price of every call). */
static int went_deep(mt_stack *s) {
  const uintptr_t *w = (const uintptr_t *)(s->top - KEEP_SIZE - PROBE_WINDOW);
  for (size_t i = 0; i < PROBE_WINDOW / sizeof *w; i++)
    if (w[i] != 0) return 1;
  return 0;
}

void mt_stack_trim(mt_stack *s) {
  if (s == NULL || s->on) return;
  char *bottom = s->map + GUARD_SIZE;
  size_t size = stack_size(s);
  if (size <= KEEP_SIZE + PROBE_WINDOW || !went_deep(s)) return;
#ifdef __linux__
  madvise(bottom, size - KEEP_SIZE, MADV_DONTNEED);
#else
  madvise(bottom, size - KEEP_SIZE, MADV_FREE);
#endif
}
