/*
** Direct arming: storing a state's hook fields from whatever thread
** interrupts it (kick.c says when the core does it).
**
** Why it is safe on 5.1 to 5.3 (and for the fields on 5.4), from the
** sources of each version:
** - What we store: L->hook, L->basehookcount, L->hookcount, L->hookmask,
**   in that order, hookmask last (release). The same four lua_sethook
**   stores, minus what makes lua_sethook unsafe cross-thread: no read of
**   L->ci (5.2 and 5.3 read it for oldpc), no walk of the frames (5.4's
**   settraps). Each is one aligned store of its own width, so the VM
**   reads the old or the new value, never a mix; hookmask is a byte on
**   5.1/5.2 and a sig_atomic_t on 5.3/5.4, and a byte store leaves its
**   neighbour (allowhook, which the VM writes) alone.
** - Who else writes them: our own lua_sethook calls (always under the
**   universe's arm lock, kick.c), the VM's count (--hookcount and its
**   reset to basehookcount: a race costs at most one count period, and
**   the watchdog re-arms), lua_newthread (copies them from its parent:
**   a half-copied arm gives the child our hook or none, both harmless),
**   and foreign C code calling lua_sethook (a mix of its values and ours;
**   see next point).
** - Every mix is harmless: the VM calls the hook only if L->hook is not
**   NULL (luaD_callhook / luaD_hook check it), and any hook we see is
**   either ours, which settles the state to what is pending, or someone
**   else's.
** - Lifetime: the core stores only while it holds L's slot lock, and a
**   registered state or coroutine is unregistered (waiting for that
**   lock) before its memory is freed (world.c), so the memory is live.
** - Visibility: the VM reads hookmask from memory before each instruction
**   (5.1 to 5.3: the `L->hookmask & (LUA_MASKLINE | LUA_MASKCOUNT)` test
**   in luaV_execute, through a pointer the loop writes through, so it is
**   reloaded), so the target stops within an instruction or so of the
**   store reaching its cache. On 5.4 the running function reads its
**   frame's trap instead; a store reaches it at its next call or return
**   (MT_ARM_MASK includes both in drop-in states), and the kick signal
**   sets the traps.
** Lua 5.4 still takes a signal too, sent at once rather than after a
** delay in case the store suffices: the store is seen only at a call or
** return (luaV_execute tests its local copy of ci->u.l.trap, refreshed
** from the frame, never L->hookmask), so code that reaches one is stopped
** by the store within a few us anyway, and delaying the signal would only
** add the delay to loops that call nothing. Nothing faster is sound for
** those: the trap lives in a CallInfo union that a C frame reuses for its
** saved error-function offset, and no cross-thread store can know which
** one it hits (kick.c).
** The offsets are not in any installed header: they are found at attach
** by setting distinct hooks on a fresh coroutine with lua_sethook and
** looking where the values land, then verified the other way round (a
** direct store read back with lua_gethook, lua_gethookmask and
** lua_gethookcount). If anything is ambiguous the universe keeps signals.
*/
#include <string.h>

#include "world.h"

#ifndef MTINT_LUAJIT

#if LUA_VERSION_NUM >= 503
typedef int hookmask_t; /* l_signalT */
#else
typedef unsigned char hookmask_t; /* lu_byte */
#endif

#define SPAN 512 /* lua_State is ~200 bytes on every version */

static void decoy_a(lua_State *L, lua_Debug *ar) {
  (void)L;
  (void)ar;
}

static void decoy_b(lua_State *L, lua_Debug *ar) {
  (void)ar;
  decoy_a(L, NULL);
}

/* The single offset where the three snapshots hold a, b, 0 (width `size`,
** aligned to `size`); `nth` picks among several. -1 if not exactly
** `want` such offsets. */
static long find(const unsigned char snap[3][SPAN], size_t span, const void *a, const void *b, size_t size, int want,
                 int nth) {
  static const unsigned char zero[sizeof(void *)];
  long found[4];
  int n = 0;
  for (size_t off = 0; off + size <= span; off += size) {
    if (memcmp(snap[0] + off, a, size) == 0 && memcmp(snap[1] + off, b, size) == 0 &&
        memcmp(snap[2] + off, zero, size) == 0) {
      if (n == 4) return -1;
      found[n++] = (long)off;
    }
  }
  return n == want ? found[nth] : -1;
}

static void store(const mt_hookfields *hf, lua_State *L, lua_Hook f, int mask, int count) {
  char *p = (char *)L;
  __atomic_store_n((lua_Hook *)(p + hf->hook), f, __ATOMIC_RELAXED);
  __atomic_store_n((int *)(p + hf->basecount), count, __ATOMIC_RELAXED);
  __atomic_store_n((int *)(p + hf->count), count, __ATOMIC_RELAXED);
  __atomic_store_n((hookmask_t *)(p + hf->mask), (hookmask_t)mask, __ATOMIC_RELEASE);
}

int hookfields_find(mt_hookfields *hf, lua_State *co, size_t span) {
  unsigned char shots[3][SPAN];
  if (span > SPAN) span = SPAN;
  const lua_Hook hooks[2] = {decoy_a, decoy_b};
  const int masks[2] = {LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, LUA_MASKLINE | LUA_MASKCOUNT};
  const int counts[2] = {0x2A5F3, 0x1C7E9}; /* no byte equals a mask */
  for (int i = 0; i < 3; i++) {
    if (i < 2) lua_sethook(co, hooks[i], masks[i], counts[i]);
    else lua_sethook(co, NULL, 0, 0);
    memcpy(shots[i], co, span);
  }
  hookmask_t ma = (hookmask_t)masks[0], mb = (hookmask_t)masks[1];
  long hook = find((const unsigned char(*)[SPAN])shots, span, &hooks[0], &hooks[1], sizeof(lua_Hook), 1, 0);
  long base = find((const unsigned char(*)[SPAN])shots, span, &counts[0], &counts[1], sizeof(int), 2, 0);
  long count = find((const unsigned char(*)[SPAN])shots, span, &counts[0], &counts[1], sizeof(int), 2, 1);
  long mask = find((const unsigned char(*)[SPAN])shots, span, &ma, &mb, sizeof(hookmask_t), 1, 0);
  hf->ok = 0;
  if (hook < 0 || base < 0 || count < 0 || mask < 0) return 0;
  hf->hook = (size_t)hook;
  hf->basecount = (size_t)base; /* declared before hookcount in every version */
  hf->count = (size_t)count;
  hf->mask = (size_t)mask;
  /* The other way round: a direct store, read back through the API. */
  store(hf, co, decoy_b, LUA_MASKRET | LUA_MASKLINE, 77);
  int ok = lua_gethook(co) == decoy_b && lua_gethookmask(co) == (LUA_MASKRET | LUA_MASKLINE) && lua_gethookcount(co) == 77;
  lua_sethook(co, NULL, 0, 0);
  hf->ok = ok && lua_gethook(co) == NULL && lua_gethookmask(co) == 0;
  return hf->ok;
}

void hook_arm_direct(void *ctx, void *L) {
  mt_world *w = ctx;
  char *p = L;
  int mask = 0;
  if (__atomic_load_n((lua_Hook *)(p + w->hookfields.hook), __ATOMIC_RELAXED) == mt_hook)
    mask = __atomic_load_n((hookmask_t *)(p + w->hookfields.mask), __ATOMIC_RELAXED);
  store(&w->hookfields, L, mt_hook, mask | w->arm_mask, 1);
}

#else

/* LuaJIT: signals only. Its hook is per VM (global_State: hookf,
** hookcount, hookcstart, and hookmask, which shares its byte with the
** VM's HOOK_ACTIVE, HOOK_GC, HOOK_PROFILE... bits), and the interpreter
** never reads hookmask between instructions: lua_sethook makes hooks
** fire by rewriting the dispatch table (lj_dispatch_update: every entry
** to lj_vm_inshook, the call entries to lj_vm_callhook, the returns to
** lj_vm_rethook) and aborts a trace being recorded (lj_trace_abort);
** compiled code checks neither. A store of the fields alone is never
** seen. Rewriting the table from another thread races the owner's own
** rewrites (the JIT's recorder switches it to lj_vm_record and back),
** leaving a table that disagrees with g->dispatchmode, or a recording
** that misses instructions and compiles a wrong trace; and the mask's
** read-modify-write can drop the VM's own bits. The rock does exactly
** this (lua_sethook from the interrupting thread). The one context
** LuaJIT supports for an asynchronous lua_sethook is a signal handler on
** the thread that runs it (luajit.c's SIGINT), which is what kick.c does. */
int hookfields_find(mt_hookfields *hf, lua_State *co, size_t span) {
  (void)co;
  (void)span;
  hf->ok = 0;
  return 0;
}

#endif
