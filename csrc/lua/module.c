/*
** The `mtint` Lua module, as the rock documents it: id, sethook, interrupt,
** interruptible, error, _VERSION. The same library is a plain C module for
** the stock interpreters (`require "mtint"`) and is preloaded in the
** states the host API creates.
*/
#include <math.h>
#include <stdio.h>

#include "world.h"

#define MTINT_VERSION "1.0.0"
#define INTERRUPTIBLE "mtint.interruptible"

typedef struct {
  uint64_t id;
} interruptible;

/* An interruptible object. With the debug library a script can give any
** userdata this metatable; the size check keeps such a forgery from being
** read as an id beyond its block, and lookups through objects still apply
** the scope (interrupt_id), so a forged id reaches nothing a script could
** not name anyway. */
static interruptible *check_object(lua_State *L, int arg) {
  interruptible *obj = luaL_checkudata(L, arg, INTERRUPTIBLE);
  if (lua_rawlen(L, arg) != sizeof *obj) luaL_argerror(L, arg, "not an interruptible object");
  return obj;
}

static mt_world *check_world(lua_State *L) {
  mt_world *w = world_of(L);
  if (w == NULL || w->u == NULL) luaL_error(L, "mtint: this Lua state is closing");
  world_runner(w);
  return w;
}

static int id_error(lua_State *L, int arg, const char *why) {
  return luaL_argerror(L, arg, lua_pushfstring(L, "interruptible id expected, %s", why));
}

/* An id: an integer in [1, 2^53). Strings are not converted, so a typo
** fails here instead of interrupting some other state. */
static uint64_t check_id(lua_State *L, int arg) {
  if (lua_type(L, arg) != LUA_TNUMBER) return (uint64_t)id_error(L, arg, lua_pushfstring(L, "got %s", luaL_typename(L, arg)));
#if MT_HAS_INTEGERS
  if (lua_isinteger(L, arg)) {
    lua_Integer i = lua_tointeger(L, arg);
    if (i >= 1 && (uint64_t)i < MT_ID_LIMIT) return (uint64_t)i;
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)i);
    return (uint64_t)id_error(L, arg, lua_pushfstring(L, "got %s (out of range)", buf));
  }
#endif
  double d = (double)lua_tonumber(L, arg);
  if (d >= 1 && d < (double)MT_ID_LIMIT && d == floor(d)) return (uint64_t)d;
  char buf[40];
  snprintf(buf, sizeof buf, "%.17g", d);
  return (uint64_t)id_error(L, arg, lua_pushfstring(L, "got %s (not an integer in [1, 2^53))", buf));
}

/* The rock's flag: none or nil interrupts once, true always, false stops. */
static mt_mode check_flag(lua_State *L, int arg) {
  if (lua_isnoneornil(L, arg)) return MT_ONCE;
  if (!lua_isboolean(L, arg))
    luaL_argerror(L, arg, lua_pushfstring(L, "boolean or nil expected, got %s", luaL_typename(L, arg)));
  return lua_toboolean(L, arg) ? MT_ALWAYS : MT_NONE;
}

static int unknown_object(lua_State *L, uint64_t id) {
  char buf[64];
  snprintf(buf, sizeof buf, ERR_UNKNOWN_OBJECT ": interruptible id %llu", (unsigned long long)id);
  lua_pushstring(L, buf); /* not luaL_error: no position prefix, as the rock */
  return lua_error(L);
}

static int l_id(lua_State *L) {
  mt_world *w = check_world(L);
  lua_State *co = L;
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTHREAD);
    co = lua_tothread(L, 1);
  }
  uint64_t id = mt_id_of(w->u, co, 1);
  if (id == 0) return luaL_error(L, "mtint: cannot register (out of memory or 2^24 ids in use)");
  if (w->main == NULL && co == L) { /* 5.1, LuaJIT: main introduces itself */
    if (lua_pushthread(L)) w->main = L;
    lua_pop(L, 1);
  }
  mt_pushid(L, id);
  return 1;
}

static int l_sethook(lua_State *L) {
  check_world(L);
  int fn = lua_type(L, 1) == LUA_TTHREAD ? 2 : 1;
  if (!lua_isnoneornil(L, fn) && !lua_isfunction(L, fn))
    return luaL_argerror(L, fn, lua_pushfstring(L, "function or nil expected, got %s", luaL_typename(L, fn)));
  lua_settop(L, fn);
  if (fn == 1) {
    lua_pushthread(L);
    lua_insert(L, 1);
  }
  hook_sethandler(L, 1, 2);
  return 0;
}

/* `from`: the universe whose scope applies (NULL while the state closes:
** nothing is reached then). An id that is not live but pinned by an object
** answers false, as in the rock; `quiet` (objects) answers false for any
** id that is not live. */
static int interrupt_id(lua_State *L, mt_universe *from, uint64_t id, int flag_arg, int quiet) {
  mt_mode mode = check_flag(L, flag_arg);
  if (from != NULL && mt_interrupt_from(from, id, mode, NULL) == MT_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  if (!quiet && (from == NULL || !mt_pinned_from(from, id))) return unknown_object(L, id);
  lua_pushboolean(L, 0);
  return 1;
}

static int l_interrupt(lua_State *L) {
  mt_world *w = check_world(L);
  interruptible *obj = lua_type(L, 1) == LUA_TUSERDATA ? check_object(L, 1) : NULL;
  return obj ? interrupt_id(L, w->u, obj->id, 2, 1) : interrupt_id(L, w->u, check_id(L, 1), 2, 0);
}

/* The object pins its id (core pins.c): while it lives, the id stays known
** to mtint.interruptible and mtint.interrupt after the target is gone. */
static int l_interruptible(lua_State *L) {
  mt_world *w = check_world(L);
  uint64_t id = check_id(L, 1);
  interruptible *obj = lua_newuserdata(L, sizeof *obj);
  obj->id = 0;
  luaL_getmetatable(L, INTERRUPTIBLE);
  lua_setmetatable(L, -2);
  switch (mt_pin(w->u, id)) {
    case MT_OK: break;
    case MT_UNKNOWN: return unknown_object(L, id);
    default: return luaL_error(L, "mtint: out of memory");
  }
  obj->id = id;
  return 1;
}

/* Drops the pin once (a script with debug.getmetatable may call it again). */
static int m_gc(lua_State *L) {
  interruptible *obj = lua_touserdata(L, 1);
  if (obj == NULL || lua_rawlen(L, 1) != sizeof *obj || !lua_getmetatable(L, 1)) return 0; /* never raise in __gc */
  luaL_getmetatable(L, INTERRUPTIBLE);
  int ours = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  if (!ours) return 0;
  if (obj->id != 0) mt_unpin(obj->id);
  obj->id = 0;
  return 0;
}

static int m_id(lua_State *L) {
  interruptible *obj = check_object(L, 1);
  mt_pushid(L, obj->id);
  return 1;
}

/* Returns false once the target is gone, as the rock's object does. */
static int m_interrupt(lua_State *L) {
  interruptible *obj = check_object(L, 1);
  mt_world *w = world_of(L);
  return interrupt_id(L, w ? w->u : NULL, obj->id, 2, 1);
}

static int m_tostring(lua_State *L) {
  interruptible *obj = check_object(L, 1);
  char buf[64];
  snprintf(buf, sizeof buf, INTERRUPTIBLE ": %p (id=%llu)", (void *)obj, (unsigned long long)obj->id);
  lua_pushstring(L, buf);
  return 1;
}

static const luaL_Reg functions[] = {
    {"id", l_id},
    {"sethook", l_sethook},
    {"interrupt", l_interrupt},
    {"interruptible", l_interruptible},
    {NULL, NULL},
};

static const luaL_Reg methods[] = {
    {"id", m_id},
    {"interrupt", m_interrupt},
    {NULL, NULL},
};

MT_EXPORT int luaopen_mtint(lua_State *L) {
  mt_world *w = world_of(L);
  if (w == NULL) w = world_attach(L);
  if (w == NULL) return luaL_error(L, "mtint: cannot attach to this Lua state (out of memory)");
  world_runner(w);
#ifdef MTINT_LUAJIT
  coro_install(L); /* one hook per VM: see coro.c */
#endif
  hook_install_debug(L);

  if (luaL_newmetatable(L, INTERRUPTIBLE)) {
    lua_newtable(L);
    mt_setfuncs(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, m_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, m_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, INTERRUPTIBLE);
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);

  lua_newtable(L);
  mt_setfuncs(L, functions);
  lua_newtable(L);
  lua_pushliteral(L, ERR_INTERRUPTED);
  lua_setfield(L, -2, "interrupted");
  lua_pushliteral(L, ERR_NOT_SUPPORTED);
  lua_setfield(L, -2, "not_supported");
  lua_pushliteral(L, ERR_UNKNOWN_OBJECT);
  lua_setfield(L, -2, "unknown_object");
  lua_setfield(L, -2, "error");
  lua_pushliteral(L, MTINT_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
