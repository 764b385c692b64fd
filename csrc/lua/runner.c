/*
** Which thread runs a drop-in state. A state may be set up on one thread
** and run on another (llthreads2 does this) that never calls mtint. Two
** things follow the state wherever it runs:
**
** - Noting: the allocator and the hook run on the thread that runs the
**   state, so they note it (world_runner): kick signals then go there.
** - Proving: a kick signal goes to the thread noted last, which may no
**   longer run the state (it moved, and has not allocated or hooked on
**   its new thread yet). Arming from the wrong thread is the cross-thread
**   lua_sethook that kick.c explains is unsafe (5.4's frame walk,
**   LuaJIT's hook-mask read-modify-write), so the kick handler arms only
**   when this thread is proven to run the state (runner_proven): the
**   main state holds a pointer into the C stack of the thread running it
**   (5.4: L->errorJmp, the innermost protected call's jump buffer, set by
**   luaD_rawrunprotected and restored when it returns; LuaJIT: L->cframe,
**   the C frame of its VM entry, low two bits tags). While that pointer
**   lies in this thread's stack above the handler's own frame, this
**   thread is inside a call into the state that has not returned: only
**   it can be running the state (one Lua universe runs on one thread at a
**   time). Anything else (another thread's stack, NULL between calls, a
**   state run without any protected call) drops the kick; the state's
**   next allocation or hook notes its thread and takes the kicks.
**   On 5.1 to 5.3 kicks are not signals (hookfields.c), so none of this
**   is needed there.
*/
#include "thread_self.h"
#include "world.h"

/* Initial-exec TLS: one load on the allocator's path, and safe to read in
** a signal handler (no lazy allocation). */
static __thread int this_tid __attribute__((tls_model("initial-exec")));
static __thread char *this_stack_hi __attribute__((tls_model("initial-exec")));

/* Kernel ids (thread_self.h), not pthread_self(), which glibc reuses. */
void world_runner(mt_world *w) {
  int tid = this_tid;
  if (tid == 0) {
    this_stack_hi = mt_thread_stack_top();
    this_tid = tid = mt_tid();
  }
  if (w->runner == tid) return;
  w->runner = tid;
  if (w->u != NULL) mt_universe_adopt(w->u);
}

#ifdef MTINT_LUAJIT
#define STACKREF_TAGS ((uintptr_t)3) /* CFRAME_RESUME | CFRAME_UNWIND_FF */
#else
#define STACKREF_TAGS ((uintptr_t)0)
#endif

static int in_my_stack(uintptr_t p, const void *frame) {
  return this_stack_hi != NULL && p > (uintptr_t)frame && p < (uintptr_t)this_stack_hi;
}

void runner_find(mt_world *w, lua_State *L, size_t span) {
  char here;
  long found = -1;
  int n = 0;
  w->stackref = -1;
#if !defined(MTINT_LUAJIT) && LUA_VERSION_NUM < 504
  (void)L;
  (void)span;
  (void)here;
  (void)found;
  (void)n;
  return; /* direct arming: no signals to prove anything for */
#else
  if (span > 256) span = 256;
  world_runner(w); /* this_stack_hi */
  for (size_t off = 0; off + sizeof(void *) <= span; off += sizeof(void *)) {
    uintptr_t v = *(const uintptr_t *)((const char *)L + off) & ~STACKREF_TAGS;
    if (in_my_stack(v, &here)) {
      found = (long)off;
      n++;
    }
  }
  if (n == 1) w->stackref = found;
#endif
}

int runner_proven(void *ctx, void *main_L) {
  mt_world *w = ctx;
  char here;
  if (w->stackref < 0) return 1; /* not found at attach: the owner record as before */
  uintptr_t v = __atomic_load_n((const uintptr_t *)((const char *)main_L + w->stackref), __ATOMIC_RELAXED);
  return in_my_stack(v & ~STACKREF_TAGS, &here);
}
