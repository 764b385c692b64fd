/*
** mt_traceback: the text of luaL_traceback, which every error and every
** interruption carries to JavaScript.
**
** - Lua 5.2 and LuaJIT: luaL_traceback itself.
** - Lua 5.1 has none: the text of 5.1's debug.traceback, from
**   lua_getstack and lua_getinfo.
** - Lua 5.3 and 5.4 name each frame's function by searching package.loaded
**   two levels deep (lauxlib's findfield), once per frame: ~4 us a frame
**   with the standard libraries loaded, 13 us for the 3 frames of an
**   interrupted chunk, a good part of an interruption's latency. The same
**   text here with one search for all the frames: their functions go into
**   a table, and one walk of package.loaded, in findfield's order (each
**   key, then inside its value), names each at its first match, which is
**   what findfield finds for it. tests/worker.test.ts compares the text
**   with the Lua library's own debug.traceback.
*/
#include <string.h>

#include "compat.h"

#if LUA_VERSION_NUM == 502 || defined(MTINT_LUAJIT)

void mt_traceback(lua_State *L, lua_State *L1, const char *msg, int level) {
  luaL_traceback(L, L1, msg, level);
}

#elif LUA_VERSION_NUM == 501

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

#else /* 5.3, 5.4 */

#define LEVELS1 10 /* lauxlib.c: the first frames shown */
#define LEVELS2 11 /* and the last */

/* lauxlib's lastlevel: the deepest level, by binary search. */
static int last_level(lua_State *L1) {
  lua_Debug ar;
  int li = 1, le = 1;
  while (lua_getstack(L1, le, &ar)) {
    li = le;
    le *= 2;
  }
  while (li < le) {
    int m = (li + le) / 2;
    if (lua_getstack(L1, m, &ar)) li = m + 1;
    else le = m;
  }
  return le - 1;
}

/* The levels the traceback shows, in order, as luaL_traceback steps
** through them. `skip` is set at the level where it writes its "..."
** line instead, and the walk goes on from the level after the gap. */
typedef struct {
  int level, last, countdown;
} walk;

static void walk_start(walk *w, lua_State *L1, int level) {
  w->level = level;
  w->last = last_level(L1);
  w->countdown = w->last - level > LEVELS1 + LEVELS2 ? LEVELS1 : -1;
}

static int walk_next(walk *w, lua_State *L1, lua_Debug *ar, int *skipped) {
  if (!lua_getstack(L1, w->level++, ar)) return 0;
  *skipped = 0;
  if (w->countdown-- == 0) {
#if LUA_VERSION_NUM >= 504
    *skipped = w->last - w->level - LEVELS2 + 1;
    w->level += *skipped;
#else
    *skipped = 1;
    w->level = w->last - LEVELS2 + 1;
#endif
  }
  return 1;
}

/* With a value and its name on top (popped): names[value] = the name
** without a leading "_G.", as pushglobalfuncname writes it; the value is
** no longer wanted, so its first match stays. */
static void name_found(lua_State *L, int names, int wanted) {
  const char *name = lua_tostring(L, -1);
  if (strncmp(name, "_G.", 3) == 0) {
    lua_pushstring(L, name + 3);
    lua_remove(L, -2);
  }
  lua_pushvalue(L, -2);
  lua_pushvalue(L, -2);
  lua_rawset(L, names);
  lua_pop(L, 1);
  lua_pushboolean(L, 0);
  lua_rawset(L, wanted);
}

/* Whether the value on top is a shown frame's function without a name yet. */
static int still_wanted(lua_State *L, int wanted) {
  lua_pushvalue(L, -1);
  lua_rawget(L, wanted);
  int yes = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return yes;
}

/* Pushes a table from each shown frame's function to its name in
** package.loaded, as lauxlib's pushglobalfuncname finds it ("_G." cut). */
static void push_global_names(lua_State *L, lua_State *L1, int level) {
  lua_Debug ar;
  walk w;
  int skipped;
  lua_newtable(L); /* names */
  lua_newtable(L); /* wanted: function -> true */
  int names = lua_gettop(L) - 1, wanted = names + 1;
  walk_start(&w, L1, level);
  while (walk_next(&w, L1, &ar, &skipped)) {
    if (skipped) continue;
    lua_getinfo(L, "f", &ar); /* onto L, as lauxlib does */
    lua_pushboolean(L, 1);
    lua_rawset(L, wanted);
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
  if (lua_type(L, -1) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) { /* loaded: key, value */
      if (lua_type(L, -2) == LUA_TSTRING) {
        if (still_wanted(L, wanted)) {
          lua_pushvalue(L, -1);
          lua_pushvalue(L, -3);
          name_found(L, names, wanted);
        }
        if (lua_type(L, -1) == LUA_TTABLE) {
          lua_pushnil(L);
          while (lua_next(L, -2)) { /* module: field, value */
            if (lua_type(L, -2) == LUA_TSTRING) {
              if (still_wanted(L, wanted)) { /* key.field */
                lua_pushvalue(L, -1);
                lua_pushvalue(L, -5);
                lua_pushliteral(L, ".");
                lua_pushvalue(L, -5);
                lua_concat(L, 3);
                name_found(L, names, wanted);
              }
            }
            lua_pop(L, 1);
          }
        }
      }
      lua_pop(L, 1);
    }
  }
  lua_settop(L, names);
}

/* lauxlib's pushfuncname, with the global name looked up in `names`. */
static void push_func_name(lua_State *L, int names, lua_Debug *ar) {
  lua_getinfo(L, "f", ar);
  lua_rawget(L, names);
  if (lua_type(L, -1) == LUA_TSTRING) {
    lua_pushfstring(L, "function '%s'", lua_tostring(L, -1));
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  if (*ar->namewhat != '\0') lua_pushfstring(L, "%s '%s'", ar->namewhat, ar->name);
  else if (*ar->what == 'm') lua_pushliteral(L, "main chunk");
  else if (*ar->what != 'C') lua_pushfstring(L, "function <%s:%d>", ar->short_src, ar->linedefined);
  else lua_pushliteral(L, "?");
}

void mt_traceback(lua_State *L, lua_State *L1, const char *msg, int level) {
  lua_Debug ar;
  walk w;
  int skipped;
  luaL_checkstack(L, 16, NULL); /* the walk of package.loaded needs 12 */
  push_global_names(L, L1, level);
  int names = lua_gettop(L);
  if (msg) lua_pushfstring(L, "%s\n", msg);
  lua_pushliteral(L, "stack traceback:");
  walk_start(&w, L1, level);
  while (walk_next(&w, L1, &ar, &skipped)) {
#if LUA_VERSION_NUM >= 504
    if (skipped) lua_pushfstring(L, "\n\t...\t(skipping %d levels)", skipped);
#else
    if (skipped) lua_pushliteral(L, "\n\t...");
#endif
    else {
      lua_getinfo(L1, "Slnt", &ar);
      if (ar.currentline <= 0) lua_pushfstring(L, "\n\t%s: in ", ar.short_src);
      else lua_pushfstring(L, "\n\t%s:%d: in ", ar.short_src, ar.currentline);
      push_func_name(L, names, &ar);
      if (ar.istailcall) lua_pushliteral(L, "\n\t(...tail calls...)");
    }
    lua_concat(L, lua_gettop(L) - names);
  }
  lua_concat(L, lua_gettop(L) - names);
  lua_remove(L, names);
}

#endif
