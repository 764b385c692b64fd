/*
** Finalizer errors stay in the finalizer (Lua 5.2 and 5.3 host states).
**
** 5.2 and 5.3 re-raise an error of a __gc metamethod from whatever
** allocation ran the collector step, which may be in a later, unrelated
** call; 5.4 turns it into a warning. Here setmetatable gives a table whose
** metatable has __gc a shadow instead: the table is not marked for Lua's
** own finalization (__gc is absent while the metatable is set), and the
** shadow, which only an ephemeron keyed by the table keeps, is finalized
** when the table is: it calls the table's current __gc under pcall, as Lua
** would, and drops its error as 5.4 does. Order and resurrection are
** Lua's (the shadow is marked when the table would have been, and holds
** it). A cancelled call's error is raised again.
*/
#include "host.h"

#if LUA_VERSION_NUM == 502 || LUA_VERSION_NUM == 503

static int shadows_key; /* registry: table -> shadow, weak keys (ephemeron) */
static int shadow_mt_key; /* registry: the shadows' metatable */
static int setmetatable_key; /* registry: the stock setmetatable */

static int shadow_gc(lua_State *L) {
  lua_rawgeti(L, 1, 1); /* the table */
  if (!lua_getmetatable(L, -1)) return 0;
  lua_pushliteral(L, "__gc");
  lua_rawget(L, -2);
  if (lua_isnil(L, -1)) return 0;
  lua_pushvalue(L, -3);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    mt_world *w = world_of(L);
    if (w && w->u && mt_call_cancelled(w->u)) return lua_error(L);
  }
  return 0;
}

static int safe_setmetatable(lua_State *L) {
  int gc = 0;
  if (lua_type(L, 1) == LUA_TTABLE && lua_type(L, 2) == LUA_TTABLE) {
    if (luaL_getmetafield(L, 1, "__metatable")) {
      lua_pop(L, 1); /* protected: the stock one says so */
    } else {
      lua_pushliteral(L, "__gc");
      lua_rawget(L, 2);
      gc = !lua_isnil(L, -1);
      lua_pop(L, 1);
    }
  }
  if (!gc) { /* the stock one, with its checks and messages */
    mt_getregistry(L, &setmetatable_key);
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
  }
  lua_settop(L, 2);
  lua_pushliteral(L, "__gc");
  lua_pushvalue(L, -1);
  lua_rawget(L, 2); /* 3: "__gc", 4: its value */
  lua_pushvalue(L, 3);
  lua_pushnil(L);
  lua_rawset(L, 2);
  lua_pushvalue(L, 2);
  lua_setmetatable(L, 1); /* not marked for finalization: no __gc now */
  lua_rawset(L, 2); /* __gc back */
  mt_getregistry(L, &shadows_key);
  lua_pushvalue(L, 1);
  lua_rawget(L, -2);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushvalue(L, 1);
    lua_createtable(L, 1, 0); /* the shadow */
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    mt_getregistry(L, &shadow_mt_key);
    lua_setmetatable(L, -2); /* marked: its metatable has __gc */
    lua_rawset(L, -3);
  }
  lua_settop(L, 1);
  return 1;
}

void finalizers_install(lua_State *L) {
  lua_newtable(L);
  lua_newtable(L);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  mt_setregistry(L, &shadows_key);
  lua_newtable(L);
  lua_pushcfunction(L, shadow_gc);
  lua_setfield(L, -2, "__gc");
  mt_setregistry(L, &shadow_mt_key);
  lua_getglobal(L, "setmetatable");
  mt_setregistry(L, &setmetatable_key);
  lua_pushcfunction(L, safe_setmetatable);
  lua_setglobal(L, "setmetatable");
}

#else

void finalizers_install(lua_State *L) { (void)L; } /* 5.1 and LuaJIT: no __gc on tables; 5.4 warns */

#endif
