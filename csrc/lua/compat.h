/*
** The differences between Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT 2.1 that the
** rest of csrc/lua needs, in one place. build.zig defines MTINT_LUAJIT for
** the LuaJIT build.
*/
#ifndef MTINT_COMPAT_H
#define MTINT_COMPAT_H

#include <stdint.h>

/* build.zig says which build is LuaJIT's; LuaRocks builds (mtint-*.rockspec)
** find luajit.h beside LuaJIT's lua.h. */
#if !defined(MTINT_LUAJIT) && defined(__has_include)
#if __has_include(<luajit.h>)
#define MTINT_LUAJIT 1
#endif
#endif

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#ifdef MTINT_LUAJIT
#include <luajit.h>
#endif

#if LUA_VERSION_NUM < 502
#define LUA_OK 0
#define lua_rawlen lua_objlen
#endif

#if LUA_VERSION_NUM >= 503
#define MT_HAS_INTEGERS 1
#else
#define MT_HAS_INTEGERS 0
#endif

/* Registers functions into the table on top of the stack. */
static inline void mt_setfuncs(lua_State *L, const luaL_Reg *l) {
  for (; l->name != NULL; l++) {
    lua_pushcfunction(L, l->func);
    lua_setfield(L, -2, l->name);
  }
}

/* Registry access keyed by the address of a static variable. */
static inline void mt_getregistry(lua_State *L, const void *key) {
  lua_pushlightuserdata(L, (void *)key);
  lua_rawget(L, LUA_REGISTRYINDEX);
}

static inline void mt_setregistry(lua_State *L, const void *key) {
  lua_pushlightuserdata(L, (void *)key);
  lua_insert(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

/* Loads text only: a binary chunk can crash the VM on purpose. */
static inline int mt_loadtext(lua_State *L, const char *s, size_t len, const char *name) {
#if LUA_VERSION_NUM >= 502 || defined(MTINT_LUAJIT)
  return luaL_loadbufferx(L, s, len, name, "t");
#else
  if (len > 0 && s[0] == LUA_SIGNATURE[0]) {
    lua_pushfstring(L, "attempt to load a binary chunk (mode is 't')");
    return LUA_ERRSYNTAX;
  }
  return luaL_loadbuffer(L, s, len, name);
#endif
}

/* Calls f(L) with `ud` as its only argument, protected: nothing is
** allocated before the protection starts (5.1 and LuaJIT allocate a
** closure in lua_pushcfunction, which can fail at a memory limit). */
static inline int mt_cpcall(lua_State *L, lua_CFunction f, void *ud) {
#if LUA_VERSION_NUM >= 502
  lua_pushcfunction(L, f); /* a light C function: no allocation */
  lua_pushlightuserdata(L, ud);
  return lua_pcall(L, 1, 0, 0);
#else
  return lua_cpcall(L, f, ud);
#endif
}

/* Pushes the text of luaL_traceback for L1 from `level` (traceback.c);
** never raises an interrupt. */
void mt_traceback(lua_State *L, lua_State *L1, const char *msg, int level);
/* Puts traceback.c's debug.traceback in a host state (5.2 to 5.4). */
void traceback_install(lua_State *L);

/* Pushes a small integer as one where Lua has them. */
static inline void mt_pushint(lua_State *L, long long n) {
#if MT_HAS_INTEGERS
  lua_pushinteger(L, (lua_Integer)n);
#else
  lua_pushnumber(L, (lua_Number)n);
#endif
}

/* Pushes an id as the rock does: an integer where Lua has them. */
static inline void mt_pushid(lua_State *L, uint64_t id) {
#if MT_HAS_INTEGERS
  lua_pushinteger(L, (lua_Integer)id);
#else
  lua_pushnumber(L, (lua_Number)id);
#endif
}

#endif
