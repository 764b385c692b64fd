/*
** Which standard libraries a host state gets.
**
**   safe (default)  base (no dofile, loadfile), coroutine, string, table,
**                   math, utf8, os.clock/date/time/difftime, debug.traceback,
**                   require of preloaded modules only (mtint, host).
**   full            everything luaL_openlibs opens (io, os, package, debug,
**                   LuaJIT's jit and ffi).
**
** In both, chunks load as text only (a crafted binary chunk can crash the
** VM) and os.exit raises an error instead of ending the host process.
*/
#include <string.h>

#include "host.h"

static int no_exit(lua_State *L) {
  return luaL_error(L, "os.exit is disabled: it would end the host process (close the LuaWorker instead)");
}

/* load(chunk [, chunkname [, mode [, env]]]) and loadstring(s [, name]):
** the stock ones, except that binary chunks are refused on every version.
** A function chunk is read to the end first, so the check sees it all. */
static int load_text(lua_State *L) {
  int nargs = lua_gettop(L);
  size_t len;
  const char *s;
  if (lua_type(L, 1) == LUA_TFUNCTION) {
    luaL_Buffer b;
    lua_settop(L, 4);
    luaL_buffinit(L, &b);
    for (;;) {
      lua_pushvalue(L, 1);
      lua_call(L, 0, 1);
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        break;
      }
      if (!lua_isstring(L, -1)) return luaL_error(L, "reader function must return a string");
      if (lua_rawlen(L, -1) == 0) {
        lua_pop(L, 1);
        break;
      }
      luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    lua_replace(L, 1);
  }
  s = luaL_checklstring(L, 1, &len);
  const char *name = luaL_optstring(L, 2, s);
  int status = mt_loadtext(L, s, len, name);
  if (status != LUA_OK) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  if (nargs >= 4) { /* env: the chunk's first upvalue (_ENV), as 5.2+ do */
    lua_pushvalue(L, 4);
#if LUA_VERSION_NUM >= 502
    if (lua_setupvalue(L, -2, 1) == NULL) lua_pop(L, 1);
#else
    lua_setfenv(L, -2);
#endif
  }
  return 1;
}

static void open_lib(lua_State *L, const char *name, lua_CFunction open) {
#if LUA_VERSION_NUM >= 502
  luaL_requiref(L, name, open, 1);
  lua_pop(L, 1);
#else
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
#endif
}

/* Keeps only `keep` in the global table `lib`. */
static void keep_only(lua_State *L, const char *lib, const char *const keep[]) {
  lua_getglobal(L, lib);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_newtable(L);
  for (int i = 0; keep[i]; i++) {
    lua_getfield(L, -2, keep[i]);
    lua_setfield(L, -2, keep[i]);
  }
  lua_setglobal(L, lib);
  lua_pop(L, 1);
  /* package.loaded must hand out the same table as the global. */
  lua_getglobal(L, "package");
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "loaded");
    lua_getglobal(L, lib);
    lua_setfield(L, -2, lib);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* require finds preloaded modules only: the first searcher is package.preload's. */
static void preload_only(lua_State *L) {
  lua_getglobal(L, "package");
#if LUA_VERSION_NUM >= 502
  lua_getfield(L, -1, "searchers");
#else
  lua_getfield(L, -1, "loaders");
#endif
  lua_rawgeti(L, -1, 1);
  lua_newtable(L);
  lua_insert(L, -2);
  lua_rawseti(L, -2, 1);
#if LUA_VERSION_NUM >= 502
  lua_setfield(L, -3, "searchers");
#else
  lua_setfield(L, -3, "loaders");
#endif
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_setfield(L, -2, "loadlib");
  lua_pushliteral(L, "");
  lua_setfield(L, -2, "path");
  lua_pushliteral(L, "");
  lua_setfield(L, -2, "cpath");
  lua_pop(L, 1);
}

void sandbox_open(lua_State *L, int full) {
  if (full) {
    luaL_openlibs(L);
  } else {
    open_lib(L, "_G", luaopen_base);
    open_lib(L, LUA_LOADLIBNAME, luaopen_package);
#if LUA_VERSION_NUM >= 502
    open_lib(L, LUA_COLIBNAME, luaopen_coroutine);
#endif
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, LUA_OSLIBNAME, luaopen_os);
    open_lib(L, LUA_DBLIBNAME, luaopen_debug);
#if LUA_VERSION_NUM >= 503
    open_lib(L, LUA_UTF8LIBNAME, luaopen_utf8);
#endif
#ifdef MTINT_LUAJIT
    open_lib(L, LUA_BITLIBNAME, luaopen_bit);
    /* Opening `jit` sets the compiler up (CPU flags, optimizations), which
    ** `jit: true` needs; scripts do not get the library itself. */
    open_lib(L, LUA_JITLIBNAME, luaopen_jit);
    lua_pushnil(L);
    lua_setglobal(L, LUA_JITLIBNAME);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaded");
    lua_pushnil(L);
    lua_setfield(L, -2, LUA_JITLIBNAME);
    lua_pop(L, 2);
#endif
    static const char *const os_keep[] = {"clock", "date", "time", "difftime", NULL};
    static const char *const debug_keep[] = {"traceback", NULL};
    keep_only(L, LUA_OSLIBNAME, os_keep);
    keep_only(L, LUA_DBLIBNAME, debug_keep);
    preload_only(L);
    lua_pushnil(L);
    lua_setglobal(L, "dofile");
    lua_pushnil(L);
    lua_setglobal(L, "loadfile");
  }
  lua_getglobal(L, "os");
  if (lua_istable(L, -1)) {
    lua_pushcfunction(L, no_exit);
    lua_setfield(L, -2, "exit");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, load_text);
  lua_setglobal(L, "load");
#if LUA_VERSION_NUM == 501
  lua_pushcfunction(L, load_text);
  lua_setglobal(L, "loadstring");
#endif
}
