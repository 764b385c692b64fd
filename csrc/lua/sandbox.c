/*
** Which standard libraries a host state gets.
**
**   safe (default)  the libraries below, cut down to allowlist.c's list
**   full            everything luaL_openlibs opens (io, os, package, debug,
**                   LuaJIT's jit and ffi).
**
** In both, chunks load as text only (loaders.c) and os.exit raises an
** error instead of ending the host process.
*/
#include <string.h>

#include "host.h"

static int no_exit(lua_State *L) {
  return luaL_error(L, "os.exit is disabled: it would end the host process (close the LuaWorker instead)");
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
#endif
  }
  lua_getglobal(L, "os");
  if (lua_istable(L, -1)) {
    lua_pushcfunction(L, no_exit);
    lua_setfield(L, -2, "exit");
  }
  lua_pop(L, 1);
  loaders_install(L);
  if (!full) allowlist_apply(L);
}
