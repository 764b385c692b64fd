/*
** Version shims that need a body.
*/
#include "compat.h"

#if LUA_VERSION_NUM >= 502 || defined(MTINT_LUAJIT)

void mt_traceback(lua_State *L, lua_State *L1, const char *msg, int level) {
  luaL_traceback(L, L1, msg, level);
}

#else

/* Lua 5.1 has debug.traceback but no luaL_traceback: the same text, built
** with lua_getstack and lua_getinfo. */
void mt_traceback(lua_State *L, lua_State *L1, const char *msg, int level) {
  lua_Debug ar;
  int top = lua_gettop(L);
  int depth = 0;
  while (lua_getstack(L1, level + depth, &ar)) depth++;
  if (msg) lua_pushfstring(L, "%s\n", msg);
  lua_pushliteral(L, "stack traceback:");
  for (int i = 0; i < depth; i++) {
    if (depth > 22 && i == 12) { /* as 5.1 does: the first 12, the last 10 */
      lua_pushliteral(L, "\n\t...");
      i = depth - 10;
    }
    lua_getstack(L1, level + i, &ar);
    lua_getinfo(L1, "Snl", &ar);
    lua_pushfstring(L, "\n\t%s:", ar.short_src);
    if (ar.currentline > 0) lua_pushfstring(L, "%d:", ar.currentline);
    if (*ar.namewhat != '\0') lua_pushfstring(L, " in function '%s'", ar.name);
    else if (*ar.what == 'm') lua_pushliteral(L, " in main chunk");
    else if (*ar.what == 'C' || *ar.what == 't') lua_pushliteral(L, " ?");
    else lua_pushfstring(L, " in function <%s:%d>", ar.short_src, ar.linedefined);
    lua_concat(L, lua_gettop(L) - top);
  }
  lua_concat(L, lua_gettop(L) - top);
}

#endif
