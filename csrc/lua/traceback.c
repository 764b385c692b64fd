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
**   text here with one search for all the frames: one walk of
**   package.loaded, in findfield's order (each key, then inside its
**   value), names each frame's function at its first match, which is what
**   findfield finds for it, and stops once all are named.
**   tests/worker.test.ts compares the text with the Lua library's own
**   debug.traceback.
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

/* The shown frames' distinct functions, by identity (lua_topointer is
** one-to-one on functions, and the frames keep them alive), each with the
** name found for it on L's stack at base + k (nil until found). One
** lua_topointer per value of package.loaded and a few compares in C: the
** walk costs about its ~160 lua_next. */
#define MAX_SHOWN (LEVELS1 + LEVELS2 + 1) /* a traceback shows no more frames */

typedef struct {
  const void *fn[MAX_SHOWN];
  int base, count, unnamed;
} frame_funcs;

/* The index in `f` of the function at `idx`, or -1 (also for non-functions). */
static int func_index(lua_State *L, const frame_funcs *f, int idx) {
  if (lua_type(L, idx) != LUA_TFUNCTION) return -1;
  const void *p = lua_topointer(L, idx);
  for (int k = 0; k < f->count; k++) {
    if (f->fn[k] == p) return k;
  }
  return -1;
}

/* With a name on top (popped): names frame function k if it has no name
** yet (the first match is the one findfield finds), without a leading
** "_G.", as pushglobalfuncname writes it. */
static void name_found(lua_State *L, frame_funcs *f, int k) {
  if (lua_isnil(L, f->base + k)) {
    const char *name = lua_tostring(L, -1);
    if (strncmp(name, "_G.", 3) == 0) lua_pushstring(L, name + 3);
    else lua_pushvalue(L, -1);
    lua_replace(L, f->base + k);
    f->unnamed--;
  }
  lua_pop(L, 1);
}

/* Finds the shown frames' functions and pushes, for each, its name in
** package.loaded as lauxlib's pushglobalfuncname finds it, or nil. */
static void push_global_names(lua_State *L, lua_State *L1, int level, frame_funcs *f) {
  lua_Debug ar;
  walk w;
  int skipped, k;
  f->base = lua_gettop(L) + 1;
  f->count = 0;
  walk_start(&w, L1, level);
  while (walk_next(&w, L1, &ar, &skipped)) {
    if (skipped) continue;
    lua_getinfo(L, "f", &ar); /* onto L, as lauxlib does */
    if (func_index(L, f, -1) < 0) f->fn[f->count++] = lua_topointer(L, -1);
    lua_pop(L, 1);
  }
  f->unnamed = f->count;
  for (k = 0; k < f->count; k++) lua_pushnil(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
  if (lua_type(L, -1) == LUA_TTABLE) {
    lua_pushnil(L);
    while (f->unnamed > 0 && lua_next(L, -2)) { /* loaded: key, value */
      if (lua_type(L, -2) == LUA_TSTRING) {
        if ((k = func_index(L, f, -1)) >= 0) {
          lua_pushvalue(L, -2);
          name_found(L, f, k);
        } else if (lua_type(L, -1) == LUA_TTABLE) {
          lua_pushnil(L);
          while (f->unnamed > 0 && lua_next(L, -2)) { /* module: field, value */
            if (lua_type(L, -2) == LUA_TSTRING && (k = func_index(L, f, -1)) >= 0) {
              lua_pushvalue(L, -4); /* key.field */
              lua_pushliteral(L, ".");
              lua_pushvalue(L, -4);
              lua_concat(L, 3);
              name_found(L, f, k);
            }
            lua_pop(L, 1);
          }
          if (f->unnamed == 0) lua_pop(L, 1); /* the walk stopped inside: the field */
        }
      }
      lua_pop(L, 1);
    }
  }
  lua_settop(L, f->base + f->count - 1);
}

/* lauxlib's pushfuncname, with the global name looked up in `f`. */
static void push_func_name(lua_State *L, const frame_funcs *f, lua_Debug *ar) {
  lua_getinfo(L, "f", ar);
  int k = func_index(L, f, -1);
  lua_pop(L, 1);
  if (k >= 0 && lua_type(L, f->base + k) == LUA_TSTRING) {
    lua_pushfstring(L, "function '%s'", lua_tostring(L, f->base + k));
    return;
  }
  if (*ar->namewhat != '\0') lua_pushfstring(L, "%s '%s'", ar->namewhat, ar->name);
  else if (*ar->what == 'm') lua_pushliteral(L, "main chunk");
  else if (*ar->what != 'C') lua_pushfstring(L, "function <%s:%d>", ar->short_src, ar->linedefined);
  else lua_pushliteral(L, "?");
}

void mt_traceback(lua_State *L, lua_State *L1, const char *msg, int level) {
  lua_Debug ar;
  walk w;
  int skipped;
  frame_funcs f;
  luaL_checkstack(L, MAX_SHOWN + 12, NULL); /* the walk of package.loaded needs 12 */
  push_global_names(L, L1, level, &f);
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
      push_func_name(L, &f, &ar);
      if (ar.istailcall) lua_pushliteral(L, "\n\t(...tail calls...)");
    }
    lua_concat(L, lua_gettop(L) - names);
  }
  lua_concat(L, lua_gettop(L) - names);
  if (f.count > 0) lua_replace(L, f.base); /* over the functions and names */
  lua_settop(L, f.base);
}

#endif
