/*
** Wrappers around coroutine.resume, coroutine.wrap and (5.4)
** coroutine.close, which runs the coroutine's __close handlers in it:
**
** - LuaJIT has one hook per VM. A request for a suspended coroutine is
**   armed just before that coroutine runs, so it fails on its very next
**   instruction, as on PUC Lua.
** - PUC Lua has one hook per coroutine. A cancelled host call must stop
**   whatever coroutine it is in, so host states record the chain of
**   coroutines they are resuming (world->chain) for hook_arm_call. The
**   original runs under lua_pcall, so the chain is popped whatever happens.
** - LuaJIT bounds neither nested resumes nor the C stack they take: host
**   states refuse a resume past recursion_may_resume, as 5.2+ refuse theirs.
**
** The originals do the work (messages, closing, error positions), so each
** version keeps its own behaviour; the wrappers only bracket them.
*/
#include <string.h>

#include "recursion.h"
#include "world.h"

/* On LuaJIT too: the chain's depth is what recursion_may_resume bounds. */
static int tracks_chain(mt_world *w) { return w->host != NULL; }

static void before_resume(mt_world *w, lua_State *co) {
#ifdef MTINT_LUAJIT
  if (mt_peek(w->u, co) != MT_NONE) hook_arm_resuming(w, co);
#endif
  if (tracks_chain(w)) {
    int depth = w->chain_depth;
    if (depth < MT_CHAIN_MAX) w->chain[depth] = co;
    atomic_signal_fence(memory_order_release); /* entry before depth */
    w->chain_depth = depth + 1;
    mt_resuming(w->u, depth + 1);
  }
}

/* An error of the original wrap function as the caller sees it: stock
** prefixes a string error with the position of its caller, which is this
** C wrapper (none) when we call it. */
static int raise_from_wrap(lua_State *L) {
#if LUA_VERSION_NUM >= 504
  int prefix = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "not enough memory") != 0;
#elif LUA_VERSION_NUM == 503
  int prefix = lua_type(L, -1) == LUA_TSTRING;
#else
  int prefix = lua_isstring(L, -1);
#endif
  if (prefix) {
    luaL_where(L, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  return lua_error(L);
}

/* Calls the original (upvalue 1) with the arguments on the stack, around
** coroutine `co`; `wrap`: it is a coroutine.wrap function. */
static int call_original(lua_State *L, lua_State *co, int wrap) {
  mt_world *w = world_of(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  if (w == NULL || w->u == NULL || co == NULL) {
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
  }
  before_resume(w, co);
  if (!tracks_chain(w)) {
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
#ifdef MTINT_LUAJIT
    /* A request that reached L while co ran left the VM's hook probing
    ** every PROBE_COUNT instructions, which L may never run again; and L
    ** may be about to leave the pcall it should land in (a resume in a
    ** tail call has no Lua instruction after it). So it lands here, as a
    ** return hook on PUC Lua does. */
    if (w->u != NULL && mt_peek(w->u, L) != MT_NONE) hook_check(w, L);
#endif
    return lua_gettop(L);
  }
  int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  w->chain_depth = w->chain_depth - 1;
  mt_resuming(w->u, w->chain_depth);
  if (status != LUA_OK) return wrap ? raise_from_wrap(L) : lua_error(L);
  return lua_gettop(L);
}

/* The original's argument errors, raised here so that they name the
** function as the caller called it (the original, called from C, cannot). */
static int resume(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
#if LUA_VERSION_NUM >= 504
  luaL_argexpected(L, co, 1, "thread");
#elif LUA_VERSION_NUM == 503
  luaL_argcheck(L, co, 1, "thread expected");
#elif !defined(MTINT_LUAJIT)
  luaL_argcheck(L, co, 1, "coroutine expected");
#endif
  mt_world *w = world_of(L);
  if (w != NULL && !recursion_may_resume(w)) { /* as 5.2+ fail theirs */
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "C stack overflow");
    return 2;
  }
  return call_original(L, co, 0);
}

static int wrapped(lua_State *L) {
  mt_world *w = world_of(L);
  if (w != NULL && !recursion_may_resume(w)) return luaL_error(L, "C stack overflow");
  lua_State *co = lua_tothread(L, lua_upvalueindex(2));
  return call_original(L, co, 1);
}

#if LUA_VERSION_NUM >= 504
/* close(co) runs co's pending __close handlers in co: on the chain, so
** that a cancellation arms co's hook too. */
static int close_coroutine(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co, 1, "coroutine");
  return call_original(L, co, 0);
}
#endif

/* wrap(f): the original's closure, whose first upvalue is its coroutine. */
static int wrap(lua_State *L) {
#if LUA_VERSION_NUM == 501 && !defined(MTINT_LUAJIT)
  luaL_argcheck(L, lua_isfunction(L, 1) && !lua_iscfunction(L, 1), 1, "Lua function expected");
#elif !defined(MTINT_LUAJIT)
  luaL_checktype(L, 1, LUA_TFUNCTION);
#endif
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  if (lua_getupvalue(L, -1, 1) == NULL || !lua_isthread(L, -1)) {
    lua_pop(L, 1);
    luaL_error(L, "mtint: unexpected coroutine.wrap closure");
  }
  lua_pushcclosure(L, wrapped, 2);
  return 1;
}

void coro_install(lua_State *L) {
  lua_getglobal(L, "coroutine");
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_getfield(L, -1, "resume");
  if (lua_tocfunction(L, -1) == resume) { /* installed already */
    lua_pop(L, 2);
    return;
  }
  lua_pushcclosure(L, resume, 1);
  lua_setfield(L, -2, "resume");
  lua_getfield(L, -1, "wrap");
  lua_pushcclosure(L, wrap, 1);
  lua_setfield(L, -2, "wrap");
#if LUA_VERSION_NUM >= 504
  lua_getfield(L, -1, "close");
  lua_pushcclosure(L, close_coroutine, 1);
  lua_setfield(L, -2, "close");
#endif
  lua_pop(L, 1);
}
