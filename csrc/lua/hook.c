/*
** The interrupt hook: installed only while something is pending, so a
** state that is never interrupted runs at full speed.
**
** Arming and disarming happen on the owner thread only (see
** csrc/core/kick.c): arming from the kick handler or from mt_process_kicks,
** disarming here, with the kick signal blocked so that a disarm is never
** split by an arm. The order "disarm, then take the request" loses nothing:
** a request that lands after the take is followed by its own kick, which
** arms again.
**
** PUC Lua keeps a hook per coroutine; LuaJIT one per VM, so there the hook
** fires in whatever coroutine runs and must leave the others alone: while a
** suspended coroutine has a request, the hook keeps looking every
** PROBE_COUNT instructions until that coroutine runs.
*/
#include <stdlib.h>
#include <string.h>

#include "world.h"

#define PROBE_COUNT 1000

static int handlers_key; /* registry: weak table thread -> interrupt handler */

void hook_set(lua_State *L, lua_Hook f, int mask, int count) {
  sigset_t saved;
  mt_kicks_block(&saved);
  lua_sethook(L, f, mask, count);
  mt_kicks_restore(&saved);
}

void hook_arm(void *ctx, void *L) {
  (void)ctx;
  lua_sethook(L, mt_hook, LUA_MASKCOUNT, 1);
}

void hook_arm_call(void *ctx) {
  mt_world *w = ctx;
  if (w->main != NULL) hook_arm(w, w->main);
#ifndef MTINT_LUAJIT
  int depth = w->chain_depth;
  atomic_signal_fence(memory_order_acquire);
  for (int i = 0; i < depth; i++) hook_arm(w, w->chain[i]);
#endif
}

void hook_sethandler(lua_State *L, int thread, int handler) {
  mt_getregistry(L, &handlers_key);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    mt_setregistry(L, &handlers_key);
  }
  lua_pushvalue(L, thread);
  lua_pushvalue(L, handler);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* Runs L's handler in place of the error, or raises the rock's error.
** The handler runs protected only to keep hook_depth right; its error
** goes on as it was raised. */
static void deliver(mt_world *w, lua_State *L) {
  mt_getregistry(L, &handlers_key);
  if (lua_istable(L, -1)) {
    lua_pushthread(L);
    lua_rawget(L, -2);
    if (lua_isfunction(L, -1)) {
      lua_remove(L, -2);
      w->hook_depth++;
      int status = lua_pcall(L, 0, 0, 0);
      w->hook_depth--;
      if (status != LUA_OK) lua_error(L);
      return;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  w->raised_seq = mt_call_current(w->u);
  lua_pushliteral(L, "mtint.error.interrupted");
  lua_error(L);
}

/* A cancelled host call must unwind even through `xpcall(f, handler)`
** whose handler loops: Lua calls a message handler with hooks off when the
** error comes from a hook. It never calls one for an out-of-memory error,
** so the hook makes every allocation fail and raises that; the host call
** reports "interrupted" from the cancellation it recorded, never from the
** message. The hook stays armed, so a pcall in the script cannot swallow
** it for long. */
static void cancel_unwind(mt_world *w, lua_State *L) {
  if (w->cancel_trace == NULL) {
    mt_traceback(L, L, NULL, 0);
    const char *s = lua_tostring(L, -1);
    w->cancel_trace = s ? strdup(s) : NULL;
    lua_pop(L, 1);
  }
  w->fail_alloc = 1;
  lua_newuserdata(L, 1); /* fails: LUA_ERRMEM */
  lua_pushliteral(L, "mtint.error.interrupted");
  lua_error(L);
}

/* Arms or disarms L for what is still pending. Kick signal blocked. */
static void settle(mt_world *w, lua_State *L) {
  if (mt_peek(w->u, L) != MT_NONE) {
    lua_sethook(L, mt_hook, LUA_MASKCOUNT, 1);
#ifdef MTINT_LUAJIT
  } else if (mt_pending_count(w->u) > 0) {
    lua_sethook(L, mt_hook, LUA_MASKCOUNT, PROBE_COUNT);
#endif
  } else {
    lua_sethook(L, NULL, 0, 0);
  }
}

static void take_and_deliver(mt_world *w, lua_State *L) {
  sigset_t saved;
  mt_kicks_block(&saved);
  mt_mode m = mt_take(w->u, L);
  settle(w, L);
  mt_kicks_restore(&saved);
  if (m != MT_NONE) deliver(w, L);
}

void hook_check(mt_world *w, lua_State *L) {
  if (mt_call_cancelled(w->u)) cancel_unwind(w, L);
  mt_mode m = mt_peek(w->u, L);
  if (w->hook_depth > 0 || m == MT_NONE) return;
  if (m == MT_ALWAYS) deliver(w, L);
  else take_and_deliver(w, L);
}

void mt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  mt_world *w = world_of(L);
  if (w == NULL || w->u == NULL) {
    lua_sethook(L, NULL, 0, 0);
    return;
  }
  if (mt_call_cancelled(w->u)) cancel_unwind(w, L);
  mt_mode m = mt_peek(w->u, L);
  if (m == MT_ALWAYS) {
#ifdef MTINT_LUAJIT
    if (lua_gethookcount(L) != 1) hook_set(L, mt_hook, LUA_MASKCOUNT, 1);
#endif
    deliver(w, L);
    return;
  }
#ifdef MTINT_LUAJIT
  if (m == MT_NONE && lua_gethookcount(L) == PROBE_COUNT && mt_pending_count(w->u) > 0)
    return; /* still waiting for a suspended coroutine */
#endif
  take_and_deliver(w, L);
}
