/*
** A cancelled call must stop even in code that Lua runs with hooks off:
** a handler set with mtint.sethook, a hook set with debug.sethook, a __gc
** finalizer (during a call, or at close). PUC Lua turns hooks off there
** with L->allowhook = 0 (luaD_hook, GCTM) and back on when they return or
** when an error unwinds to a pcall (which saved the value it had).
**
** When the call is cancelled, the owner thread (hook_arm_call, from the
** kick handler or normal code) stores allowhook = 1 in every state the
** call may be running. The armed hook then fires inside the hook or the
** finalizer, and raises the cancellation as an out-of-memory error
** (hook.c: cancel_unwind), which every version carries out:
**   - a handler (deliver's lua_pcall) re-raises it;
**   - 5.1 runs finalizers unprotected: it propagates; 5.2 and 5.3 re-raise
**     a finalizer's error (LUA_ERRMEM as it is); 5.4 turns it into a
**     warning and goes on, but the hook stays armed and fires at the next
**     instruction of the script, so the call still rejects;
**   - at close, every version swallows it and runs the next finalizer
**     (5.1 reruns the rest; 5.2+ ignore errors): each looping finalizer is
**     stopped in turn, allocations failing all along.
** The store can be undone by Lua itself (GCTM sets 0 as the next finalizer
** starts, luaD_hook as the next hook does): the watchdog re-arms a
** cancelled call every 5 ms (watchdog.c), and each re-arm stores again.
**
** allowhook's offset in lua_State is not in the public headers and differs
** per version: rehook_probe finds it in the running library by watching
** it flip inside a hook and proving that setting it lets a nested hook
** fire; when that fails, nothing is stored and the README's table says so.
**
** LuaJIT keeps the bit in the global state's hook mask: see below.
*/
#include <string.h>

#include "rehook.h"

#define PROBE_BYTES 256

/* Both probes run a few instructions of Lua, inside a hook or under one. */
static int push_lua_function(lua_State *L) {
  return mt_loadtext(L, "local a = 1 a = a + 1 return a", 30, "=rehook") == LUA_OK;
}

static void run_lua_function(lua_State *L) {
  if (push_lua_function(L)) {
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) lua_pop(L, 1);
  } else {
    lua_pop(L, 1);
  }
}

/* Runs it with `hook` at every instruction. */
static void run_hooked(lua_State *L, lua_Hook hook) {
  if (!push_lua_function(L)) {
    lua_pop(L, 1);
    return;
  }
  lua_sethook(L, hook, LUA_MASKCOUNT, 1);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) lua_pop(L, 1);
  lua_sethook(L, NULL, 0, 0);
}

#ifndef MTINT_LUAJIT
/* -1: unknown. The same for every state of the library; states probe on
** their own threads, and the kick handler reads it. */
static _Atomic int allowhook_offset = -1;

typedef struct {
  unsigned char outside[PROBE_BYTES], inside[PROBE_BYTES];
  size_t n;
  int candidate; /* the byte under test, or -1 while taking a snapshot */
  int nested;    /* the hook fired inside the hook */
  int depth;
} probe;

static _Thread_local probe *probing; /* while rehook_probe runs */

static void probe_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  probe *p = probing;
  if (p->depth > 0) { /* nested: hooks were back on */
    p->nested = 1;
    lua_sethook(L, NULL, 0, 0);
    return;
  }
  if (p->candidate < 0) {
    memcpy(p->inside, L, p->n);
    lua_sethook(L, NULL, 0, 0);
    return;
  }
  unsigned char *byte = (unsigned char *)L + p->candidate;
  unsigned char saved = *byte;
  *byte = 1;
  p->depth++;
  run_lua_function(L);
  p->depth--;
  *byte = saved;
  lua_sethook(L, NULL, 0, 0);
}


void rehook_probe(lua_State *L) {
  mt_world *w = world_of(L);
  if (atomic_load(&allowhook_offset) >= 0 || w == NULL || w->thread_size == (size_t)-1) return;
  probe p;
  memset(&p, 0, sizeof p);
  p.n = w->thread_size - w->thread_offset; /* sizeof(lua_State), about */
  if (p.n > PROBE_BYTES) p.n = PROBE_BYTES;
  p.candidate = -1;
  probing = &p;
  memcpy(p.outside, L, p.n);
  run_hooked(L, probe_hook);
  int found = -1;
  for (size_t i = 0; i < p.n; i++) {
    if (p.outside[i] != 1 || p.inside[i] != 0) continue;
    if (found >= 0) { /* ambiguous: leave it off */
      found = -1;
      break;
    }
    found = (int)i;
  }
  if (found >= 0) {
    p.candidate = found;
    run_hooked(L, probe_hook);
    if (p.nested) atomic_store(&allowhook_offset, found);
  }
  probing = NULL;
}

void rehook_cancelled(mt_world *w, lua_State *L) {
  int offset = atomic_load_explicit(&allowhook_offset, memory_order_relaxed);
  if (offset < 0 || L == NULL || !mt_call_cancelled(w->u)) return;
  *((volatile unsigned char *)L + offset) = 1;
}

int rehook_hooks_off(mt_world *w, lua_State *L) {
  (void)w;
  int offset = atomic_load_explicit(&allowhook_offset, memory_order_relaxed);
  if (offset < 0 || L == NULL) return -1;
  return *((volatile unsigned char *)L + offset) == 0;
}
#else
/*
** LuaJIT turns hooks off with the HOOK_ACTIVE bit (0x10) of the global
** state's hook mask (lj_obj.h), set around every hook (lj_dispatch.c
** callhook) and finalizer (lj_gc.c hook_entergc), cleared when they return
** and restored by every pcall an error unwinds to (lua_pcall, lua_cpcall,
** gc_call_finalizer's hook_restore, lj_err.c for pcall frames). The
** global state lies right after the main lua_State in one block (GG_State),
** at an offset that is not public: rehook_probe finds the mask's byte by
** setting hook masks and watching the low bits follow, seeing 0x10 inside
** a hook, and proving that clearing it there lets a nested hook fire.
**
** Why clearing it is sound: the VM's instruction hook then decrements the
** count and calls the hook (callhook), which sets the bit again before
** calling mt_hook; mt_hook raises the cancellation, so hooks never nest
** more than one level at a time (a handler mtint runs from the hook is
** itself under the bit, and a nested hook there raises at once: hook.c's
** hook_depth). The error unwinds through the handler or finalizer to a
** pcall, which restores the mask it saved. The store is one byte, from the
** owner thread or its kick handler (the same thread): a read-modify-write
** of the VM that it interrupts may undo it, and the watchdog re-arms every
** 5 ms. Compiled traces never look at hooks; workers run with the JIT off
** unless asked for.
*/
#define HOOK_EVENTS 0x0f
#define HOOK_ACTIVE_BIT 0x10
#define PROBE_SPAN 1024 /* bytes after the main lua_State: inside GG_State */

static _Atomic int hookmask_offset = -1;

typedef struct {
  unsigned char inside[PROBE_SPAN];
  int candidate; /* the byte under test, or -1 while taking a snapshot */
  int nested;
  int depth;
} probe;

static _Thread_local probe *probing;

static void probe_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  probe *p = probing;
  if (p->depth > 0) { /* nested: hooks were back on */
    p->nested = 1;
    return;
  }
  if (p->candidate < 0) {
    memcpy(p->inside, (unsigned char *)L, PROBE_SPAN);
    lua_sethook(L, NULL, 0, 0);
    return;
  }
  volatile unsigned char *byte = (unsigned char *)L + p->candidate;
  unsigned char saved = *byte;
  *byte = saved & ~HOOK_ACTIVE_BIT;
  p->depth++;
  run_lua_function(L);
  p->depth--;
  *byte = saved;
  lua_sethook(L, NULL, 0, 0);
}


/* The byte of [L, L + PROBE_SPAN) whose low four bits follow lua_sethook's
** mask, -1 if none or several. */
static int follows_mask(lua_State *L, const unsigned char *off) {
  static const int masks[] = {LUA_MASKCOUNT, LUA_MASKCALL | LUA_MASKRET, LUA_MASKLINE | LUA_MASKCOUNT};
  unsigned char on[3][PROBE_SPAN];
  for (int m = 0; m < 3; m++) {
    lua_sethook(L, probe_hook, masks[m], 1 << 30);
    memcpy(on[m], (unsigned char *)L, PROBE_SPAN);
  }
  lua_sethook(L, NULL, 0, 0);
  int found = -1;
  for (int i = 0; i < PROBE_SPAN; i++) {
    if ((off[i] & (HOOK_EVENTS | HOOK_ACTIVE_BIT)) != 0) continue;
    int follows = 1;
    for (int m = 0; m < 3 && follows; m++) follows = on[m][i] == (off[i] | masks[m]);
    if (!follows) continue;
    if (found >= 0) return -1;
    found = i;
  }
  return found;
}

void rehook_probe(lua_State *L) {
  mt_world *w = world_of(L);
  if (atomic_load(&hookmask_offset) >= 0 || w == NULL || w->main != L || lua_gethook(L) != NULL) return;
  probe p;
  memset(&p, 0, sizeof p);
  p.candidate = -1;
  probing = &p;
  unsigned char off[PROBE_SPAN];
  memcpy(off, (unsigned char *)L, PROBE_SPAN);
  int found = follows_mask(L, off);
  if (found >= 0) {
    run_hooked(L, probe_hook); /* inside a count hook: the mask with HOOK_ACTIVE */
    if (p.inside[found] == (off[found] | LUA_MASKCOUNT | HOOK_ACTIVE_BIT)) {
      p.candidate = found;
      run_hooked(L, probe_hook);
      if (p.nested) atomic_store(&hookmask_offset, found);
    }
  }
  probing = NULL;
}

void rehook_cancelled(mt_world *w, lua_State *L) {
  (void)L; /* one mask for every coroutine: the global state's */
  int offset = atomic_load_explicit(&hookmask_offset, memory_order_relaxed);
  if (offset < 0 || w->main == NULL || !mt_call_cancelled(w->u)) return;
  volatile unsigned char *mask = (unsigned char *)w->main + offset;
  *mask = *mask & ~HOOK_ACTIVE_BIT;
}

int rehook_hooks_off(mt_world *w, lua_State *L) {
  (void)L;
  int offset = atomic_load_explicit(&hookmask_offset, memory_order_relaxed);
  if (offset < 0 || w->main == NULL) return -1;
  return (*((volatile unsigned char *)w->main + offset) & HOOK_ACTIVE_BIT) != 0;
}
#endif
