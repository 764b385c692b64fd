/*
** A world is our bookkeeping for one Lua main state: its core universe,
** the allocator we wrap around the state's own, and what the host API and
** the hook need. The world is the allocator's user data, so any coroutine
** finds it with lua_getallocf.
*/
#ifndef MTINT_WORLD_H
#define MTINT_WORLD_H

#include <signal.h>
#include <stdatomic.h>

#include "compat.h"
#include "mtint_core.h"
#include "pool.h"

/* The rock's error values (mtint.error.*); src/errors.ts has the same. */
#define ERR_INTERRUPTED "mtint.error.interrupted"
#define ERR_NOT_SUPPORTED "mtint.error.not_supported"
#define ERR_UNKNOWN_OBJECT "mtint.error.unknown_object"

#define MT_CHAIN_MAX 200 /* deeper resumes are reached as their callers resume */

typedef struct mt_host mt_host;
typedef struct mt_inspect_scratch mt_inspect_scratch;

/* What an armed interrupt hook listens to: count (the next instruction),
** and call and return, which LuaJIT's compiled code still goes through
** when it calls C functions, and which land an interrupt for a state
** that is resuming a coroutine inside the right pcall (the rock's mask).
** Drop-in states only: in a hosted state the host's own C functions
** (the call's protected wrappers) would see the hook fire. */
#define MT_ARM_MASK (LUA_MASKCOUNT | LUA_MASKCALL | LUA_MASKRET)

/* Where a version keeps its hook fields in a lua_State (hookfields.c). */
typedef struct {
  int ok; /* found and verified: direct arming is possible */
  size_t hook, basecount, count, mask;
} mt_hookfields;

typedef struct mt_world {
  mt_universe *u;
  lua_State *main;
  lua_Alloc orig_alloc; /* the state's own allocator, when we wrap it */
  void *orig_ud;
  int pooled;           /* created by us on `pool` and malloc instead */
  mt_pool pool;

  /* A coroutine's memory block: its size, and where the lua_State starts in
  ** it. Measured at attach by creating one (see probe_thread_size). */
  size_t thread_size, thread_offset;
  /* Where a lua_State holds its stack's block (closestack.c); 0 if not
  ** found or not needed. */
  size_t stack_offset;
  int closing;          /* lua_close is running */
  size_t close_used;    /* bytes in use as it began */

  mt_meter meter;      /* used, peak, allocations, limit: written by the
                          owner, read anywhere */
  size_t ceiling;      /* hosted states: half the machine's memory, a
                          limit also without memoryLimit; 0: none */
  int limit_lifted;    /* the message handler may pass the limit */
  int collecting;      /* mtint's collection after an out-of-memory error:
                          it may pass the limit outside finalizers */
  int refused;         /* an allocation failed at the limit (this call) */
  int fail_alloc;      /* set while a cancelled call unwinds */
  uint64_t watch_seq;  /* the host call whose cancellation makes every
                          allocation fail, which reaches C functions and
                          LuaJIT-compiled code that never run the hook;
                          0 when none */
  const _Atomic uint64_t *cancel_word; /* mt_cancel_word, read inline */

  /* Coroutines resumed by the running host call, innermost last, so that
  ** a cancelled call can arm them all (PUC Lua hooks are per coroutine).
  ** Written by the owner in normal code, read by the kick handler. */
  lua_State *chain[MT_CHAIN_MAX];
  volatile sig_atomic_t chain_depth;

  uint64_t raised_seq; /* host call in which the hook raised interrupted */
  int hook_depth;      /* interrupt handlers running (no nested delivery) */
  int user_hooks;      /* a script has used debug.sethook: look its hooks up */
  char *cancel_trace;  /* where a cancelled call was stopped (malloc'd) */
  mt_host *host;       /* NULL for the drop-in module */

  struct { int n; void *ptr[8]; size_t size[8]; } probe;
  mt_hookfields hookfields;
  int track_runner;     /* not hosted: note the thread that runs it */
  int arm_mask;         /* MT_ARM_MASK, or LUA_MASKCOUNT when hosted */
  long stackref;        /* offset in the main lua_State of a pointer into
                           the C stack of the thread running it (runner.c);
                           -1 if not found */
  int runner;           /* kernel id of the thread last seen running the
                           state (allocating or hooking); that thread only */
  mt_inspect_scratch *inspect_scratch; /* the hook's buffers for stacks and
                           samples (inspect.c), malloc'd at first use */

  /* concatguard.c: the library's luaV_concat keeps a stale stack pointer
  ** (concat_bug), our view of its frames checks out (concat_layout), and so
  ** the allocator keeps such stacks in place (concat_guard). While
  ** concat_defer, frees wait in `deferred` (the check at creation). */
  int concat_guard, concat_bug, concat_layout, concat_defer;
  int concat_refused; /* the guard refused a block in this host call */
  struct { int n; void *ptr[8]; size_t size[8]; } deferred;
} mt_world;

/* The world of L, or NULL when its allocator is not ours. */
mt_world *world_of(lua_State *L);

/* Wraps L's allocator and opens its universe (the drop-in module).
** Returns NULL (nothing changed) on failure. */
mt_world *world_attach(lua_State *L);

/* Creates a state on our pooled allocator (`hosted`: see
** mt_universe_open). NULL when out of memory. After lua_close, free the
** world with world_free. */
mt_world *world_newstate(int hosted);
void world_free(mt_world *w);

/* Closes the universe; a wrapped state gets its own allocator back, after
** which no code of ours runs for it. `L` is any of the state's threads.
** Owner thread. */
void world_detach(mt_world *w, lua_State *L);

/* The hook (hook.c). */
void mt_hook(lua_State *L, lua_Debug *ar);
void hook_arm(void *ctx, void *L);
void hook_arm_call(void *ctx);
/* LuaJIT: arms the VM's hook for coroutine `co`, about to be resumed. */
void hook_arm_resuming(mt_world *w, lua_State *co);
/* Replaces debug.sethook and debug.gethook by ones that share the hook
** with interrupts (when the debug library is there). */
void hook_install_debug(lua_State *L);
/* Raises what is pending for L (a cancellation, an interrupt) as the hook
** would; C functions that block call it (host.recv). */
void hook_check(mt_world *w, lua_State *L);
/* Whether a cancellation or an interrupt is pending for L. */
int hook_pending(mt_world *w, lua_State *L);

/* The library's loops that run in C (patterns.c, sort.c, countloops.c,
** traceback.c) look for interrupts every HOOK_CHECK_STEPS steps:
** hook_budget counts them. */
#define HOOK_CHECK_STEPS 4096
typedef struct {
  mt_world *w;
  long left; /* steps before the next look */
} hook_budget;

static inline hook_budget hook_budget_of(lua_State *L) {
  hook_budget b = {world_of(L), HOOK_CHECK_STEPS};
  return b;
}

/* Counts n steps; every HOOK_CHECK_STEPS, raises what is pending for L. */
static inline void hook_budget_spend(hook_budget *b, lua_State *L, long n) {
  if ((b->left -= n) <= 0) {
    b->left = HOOK_CHECK_STEPS;
    if (b->w != NULL) hook_check(b->w, L);
  }
}

/* Counts n steps; every HOOK_CHECK_STEPS, whether something is pending for
** L, without raising it (for work that must not fail: traceback.c). */
static inline int hook_budget_pending(hook_budget *b, lua_State *L, long n) {
  if ((b->left -= n) > 0) return 0;
  b->left = HOOK_CHECK_STEPS;
  return b->w != NULL && hook_pending(b->w, L);
}
/* Sets (or clears, with nil) the interrupt handler of thread at `thread`
** to the value at `handler`. */
void hook_sethandler(lua_State *L, int thread, int handler);

/* Finds L's hook-field offsets on fresh coroutine `co`, whose block has
** `span` bytes from co on (hookfields.c). Returns hf->ok. Owner thread. */
int hookfields_find(mt_hookfields *hf, lua_State *co, size_t span);
/* mt_ops.arm_direct: arms L from any thread (hookfields.c). */
void hook_arm_direct(void *ctx, void *L);

/* Records the calling thread as the one running w's state, when it is a
** new one (runner.c). Cheap when unchanged. */
void world_runner(mt_world *w);
/* closestack.c: finds stack_offset while world.c probes coroutine `co`
** (whose lua_State spans `len` bytes), with the probe allocator set. */
void closestack_find(mt_world *w, lua_State *co, size_t len);
/* Whether `ptr` is the main thread's stack block (5.2 and 5.3 only). */
int closestack_is_main(const mt_world *w, const void *ptr);
/* The bytes to allocate when the main stack grows to `nsize` while the
** state closes: nsize, plus room past it near LUAI_MAXSTACK. */
size_t closestack_room(const mt_world *w, size_t nsize);
/* concatguard.c: whether a new block of `nsize` bytes could be the new
** stack of a thread whose luaV_concat still holds its old one. */
int concatguard_refuses(mt_world *w, size_t nsize);
/* concatguard.c: whether `block` (osize bytes) is the stack of a thread
** whose luaV_concat holds it, so that it must not move. */
int concatguard_holds(mt_world *w, const void *block, size_t osize);
/* Sets w->concat_guard for hosted state L (at creation, owner thread). */
void concatguard_probe(mt_world *w, lua_State *L);
/* At the start of a host call on L (the main thread). */
void concatguard_call(mt_world *w, lua_State *L);
/* Frees what world_alloc deferred while w->concat_defer. */
void world_flush_deferred(mt_world *w);
/* Finds w->stackref on main state L, while L runs on this thread, inside
** a protected call; `span` bytes of L are readable (runner.c). */
void runner_find(mt_world *w, lua_State *L, size_t span);
/* mt_ops.runs_here (runner.c). */
int runner_proven(void *ctx, void *main_L);

/* Inspection (inspect.c): does what the host asked the hook for (stack,
** sample, pause); frees the buffers it used. Owner thread. */
void inspect_run(mt_world *w, lua_State *L);
void inspect_free(mt_world *w);

/* Wraps coroutine.resume and coroutine.wrap (coro.c). */
void coro_install(lua_State *L);

#endif
