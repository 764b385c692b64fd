/*
** mt_traceback: the text of luaL_traceback, which every error and every
** interruption carries to JavaScript; and debug.traceback in host states.
**
** - LuaJIT: luaL_traceback itself, which names frames from their calls.
** - Lua 5.1 has none: the text of 5.1's debug.traceback, from
**   lua_getstack and lua_getinfo.
** - Lua 5.2 to 5.4 name frames' functions by searching a table two levels
**   deep (lauxlib's findfield): 5.2 the globals, for a C function whose
**   call gives no name; 5.3 and 5.4 package.loaded, for every frame. Once
**   per frame: ~4 us a frame with the standard libraries loaded, and with
**   a million globals one debug.traceback of 22 frames took 2-7 s inside
**   one C function, where no interrupt reaches. The same text here with
**   one search for all the frames: one walk of the table, in findfield's
**   order (each key, then inside its value), names each frame's function
**   at its first match, which is what findfield finds for it, and stops
**   once all are named. The walk looks for interrupts as it goes: from
**   debug.traceback it raises them as a hook would; for mtint's own
**   tracebacks (a failed call's, a cancelled one's), which must not fail,
**   it stops naming once the call is being stopped.
**   tests/conformance/traceback.lua compares the text with each stock
**   interpreter's, tests/worker.test.ts with debug.traceback.
*/
#include <string.h>

#include "compat.h"
#include "libwrap.h"
#include "world.h"

#if defined(MTINT_LUAJIT)

void mt_traceback(lua_State *L, lua_State *L1, const char *msg, int level) {
  luaL_traceback(L, L1, msg, level);
}

void traceback_install(lua_State *L) { (void)L; }

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

void traceback_install(lua_State *L) { (void)L; /* 5.1's debug.traceback searches nothing */ }

#else /* 5.2, 5.3, 5.4 */

#if LUA_VERSION_NUM == 502
#define LEVELS1 12 /* lauxlib.c: the first frames shown */
#define LEVELS2 10 /* and the last */
#else
#define LEVELS1 10
#define LEVELS2 11
#endif

/* lauxlib's countlevels (5.2) and lastlevel (5.3, 5.4): the deepest level,
** by binary search. */
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

/* How the walk looks for interrupts (see the top of this file). */
typedef struct {
  hook_budget budget;
  int raise; /* debug.traceback: raise them; else stop naming */
} walk_watch;

/* Counts a step of the walk; 0 when it is to stop naming. */
static int walk_step(walk_watch *ww, lua_State *L) {
  if (ww->raise) {
    hook_budget_spend(&ww->budget, L, 1);
    return 1;
  }
  return !hook_budget_pending(&ww->budget, L, 1);
}

/* The levels the traceback shows, in order, as luaL_traceback steps
** through them. `skipped` is set at the level where it writes its "..."
** line instead, and the walk goes on from the level after the gap. */
typedef struct {
  int level, last, countdown;
  lua_State *L; /* the thread that writes the traceback */
  walk_watch *watch;
} walk;

static void walk_start(walk *w, lua_State *L, lua_State *L1, int level, walk_watch *watch) {
  w->L = L;
  w->watch = watch;
  w->level = level;
  w->last = last_level(L1);
#if LUA_VERSION_NUM == 502
  w->countdown = w->last > LEVELS1 + LEVELS2 ? LEVELS1 : 0; /* 5.2's mark: a level, not a count */
#else
  w->countdown = w->last - level > LEVELS1 + LEVELS2 ? LEVELS1 : -1;
#endif
}

/* lua_getstack goes through as many frames as the level: from a start
** level past 5.2's "..." mark every frame is shown, which makes the walk
** quadratic in the stack's depth (100,000 frames: minutes). debug.traceback
** counts those steps; mtint's own tracebacks show 22 frames at most. */
static int walk_next(walk *w, lua_State *L1, lua_Debug *ar, int *skipped) {
  if (w->watch->raise) hook_budget_spend(&w->watch->budget, w->L, w->level);
  if (!lua_getstack(L1, w->level++, ar)) return 0;
  *skipped = 0;
#if LUA_VERSION_NUM == 502
  if (w->level == w->countdown) {
    *skipped = 1;
    w->level = w->last - LEVELS2;
  }
#else
  if (w->countdown-- == 0) {
#if LUA_VERSION_NUM >= 504
    *skipped = w->last - w->level - LEVELS2 + 1;
    w->level += *skipped;
#else
    *skipped = 1;
    w->level = w->last - LEVELS2 + 1;
#endif
  }
#endif
  return 1;
}

/* Whether luaL_traceback looks the function of frame `ar` up by name:
** 5.2 only where the call gives it none (a C function, or a tail call). */
static int named_globally(lua_State *L1, lua_Debug *ar) {
#if LUA_VERSION_NUM == 502
  lua_getinfo(L1, "Sn", ar);
  return *ar->namewhat == '\0' && (*ar->what == 'C' || *ar->what == 't');
#else
  (void)L1;
  (void)ar;
  return 1;
#endif
}

/* The shown frames' distinct functions that are looked up by name, by
** identity (lua_topointer is one-to-one on functions, and the frames keep
** them alive), each with the name found for it on L's stack at base + k
** (nil until found). One lua_topointer per value of the table and a few
** compares in C: the walk costs about its lua_next calls. As many as the
** frames shown: 22 at most, but 5.2 shows every frame from a start level
** past its "..." mark. */
typedef struct {
  const void **fn;
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
** yet (the first match is the one findfield finds); 5.3 and 5.4 write it
** without a leading "_G.", as their pushglobalfuncname does. */
static void name_found(lua_State *L, frame_funcs *f, int k) {
  if (lua_isnil(L, f->base + k)) {
    const char *name = lua_tostring(L, -1);
    if (LUA_VERSION_NUM >= 503 && strncmp(name, "_G.", 3) == 0) lua_pushstring(L, name + 3);
    else lua_pushvalue(L, -1);
    lua_replace(L, f->base + k);
    f->unnamed--;
  }
  lua_pop(L, 1);
}

/* The table luaL_traceback searches: the globals (5.2), package.loaded. */
static void push_search_root(lua_State *L) {
#if LUA_VERSION_NUM == 502
  lua_pushglobaltable(L);
#else
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
#endif
}

/* Names f's functions by one walk of the table on top, two levels deep,
** in findfield's order. */
static void walk_root(lua_State *L, frame_funcs *f, walk_watch *ww) {
  int k, go = f->unnamed > 0;
  lua_pushnil(L);
  while (go && lua_next(L, -2)) { /* root: key, value */
    if (lua_type(L, -2) == LUA_TSTRING) {
      if ((k = func_index(L, f, -1)) >= 0) {
        lua_pushvalue(L, -2);
        name_found(L, f, k);
      } else if (lua_type(L, -1) == LUA_TTABLE) {
        lua_pushnil(L);
        while ((go = f->unnamed > 0 && walk_step(ww, L)) && lua_next(L, -2)) { /* module: field, value */
          if (lua_type(L, -2) == LUA_TSTRING && (k = func_index(L, f, -1)) >= 0) {
            lua_pushvalue(L, -4); /* key.field */
            lua_pushliteral(L, ".");
            lua_pushvalue(L, -4);
            lua_concat(L, 3);
            name_found(L, f, k);
          }
          lua_pop(L, 1);
        }
        if (!go) lua_pop(L, 1); /* stopped inside: the field */
      }
    }
    lua_pop(L, 1);
    go = go && f->unnamed > 0 && walk_step(ww, L);
  }
}

/* Pushes the functions of the shown frames that luaL_traceback looks up
** by name (a userdata) and, for each, its name as pushglobalfuncname finds
** it, or nil. */
static void push_global_names(lua_State *L, lua_State *L1, int level, frame_funcs *f, walk_watch *ww) {
  lua_Debug ar;
  walk w;
  int skipped, shown = 0;
  walk_start(&w, L, L1, level, ww);
  while (walk_next(&w, L1, &ar, &skipped)) shown += !skipped;
  f->fn = lua_newuserdata(L, (size_t)(shown > 0 ? shown : 1) * sizeof *f->fn);
  f->base = lua_gettop(L) + 1;
  f->count = 0;
  walk_start(&w, L, L1, level, ww);
  while (walk_next(&w, L1, &ar, &skipped)) {
    if (skipped || !named_globally(L1, &ar)) continue;
    lua_getinfo(L, "f", &ar); /* onto L, as lauxlib does */
    if (func_index(L, f, -1) < 0) f->fn[f->count++] = lua_topointer(L, -1);
    lua_pop(L, 1);
  }
  luaL_checkstack(L, f->count + 12, NULL); /* the names, and the walk of the table */
  f->unnamed = f->count;
  for (int k = 0; k < f->count; k++) lua_pushnil(L);
  push_search_root(L);
  if (lua_type(L, -1) == LUA_TTABLE) walk_root(L, f, ww);
  lua_settop(L, f->base + f->count - 1);
}

/* lauxlib's pushfuncname, with the global name looked up in `f`. */
static void push_func_name(lua_State *L, const frame_funcs *f, lua_Debug *ar) {
  lua_getinfo(L, "f", ar);
  int k = func_index(L, f, -1);
  lua_pop(L, 1);
  int global = k >= 0 && lua_type(L, f->base + k) == LUA_TSTRING;
#if LUA_VERSION_NUM == 502
  if (*ar->namewhat != '\0') lua_pushfstring(L, "function '%s'", ar->name);
  else if (*ar->what == 'm') lua_pushliteral(L, "main chunk");
  else if (*ar->what == 'C' || *ar->what == 't') {
    if (global) lua_pushfstring(L, "function '%s'", lua_tostring(L, f->base + k));
    else lua_pushliteral(L, "?");
  } else lua_pushfstring(L, "function <%s:%d>", ar->short_src, ar->linedefined);
#else
  if (global) lua_pushfstring(L, "function '%s'", lua_tostring(L, f->base + k));
  else if (*ar->namewhat != '\0') lua_pushfstring(L, "%s '%s'", ar->namewhat, ar->name);
  else if (*ar->what == 'm') lua_pushliteral(L, "main chunk");
  else if (*ar->what != 'C') lua_pushfstring(L, "function <%s:%d>", ar->short_src, ar->linedefined);
  else lua_pushliteral(L, "?");
#endif
}

static void traceback(lua_State *L, lua_State *L1, const char *msg, int level, int raise) {
  lua_Debug ar;
  walk w;
  int skipped;
  frame_funcs f;
  walk_watch ww = {hook_budget_of(L), raise};
  int first = lua_gettop(L) + 1;
  push_global_names(L, L1, level, &f, &ww);
  int names = lua_gettop(L);
  if (msg) lua_pushfstring(L, "%s\n", msg);
  lua_pushliteral(L, "stack traceback:");
  walk_start(&w, L, L1, level, &ww);
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
  lua_replace(L, first); /* over the functions and names */
  lua_settop(L, first);
}

void mt_traceback(lua_State *L, lua_State *L1, const char *msg, int level) {
  traceback(L, L1, msg, level, 0);
}

/* debug.traceback as ldblib.c's db_traceback reads its arguments. */
static int db_traceback(lua_State *L) {
  int arg = lua_type(L, 1) == LUA_TTHREAD;
  lua_State *L1 = arg ? lua_tothread(L, 1) : L;
  const char *msg = lua_tostring(L, arg + 1);
  if (msg == NULL && !lua_isnoneornil(L, arg + 1)) {
    lua_pushvalue(L, arg + 1); /* a message that is no string: returned as it is */
  } else {
    int level = (int)luaL_optinteger(L, arg + 2, L == L1 ? 1 : 0);
    traceback(L, L1, msg, level, 1);
  }
  return 1;
}

void traceback_install(lua_State *L) {
  libwrap(L, "debug", "traceback", db_traceback, 0); /* rewritten whole: the stock one stays unused */
}

#endif
