/*
** Library functions that loop as many times as an argument says, whatever
** memory they use, made to stop (see countloops.h).
**
** - table.move, table.insert and table.remove (5.3, 5.4): table.move({}, 1,
**   2^53, 2) moves nothing 2^53 times inside one C function, and insert and
**   remove shift as many elements as a __len metamethod claims. Written
**   again here (ltablib.c's tmove, tinsert and tremove; 5.3 and 5.4 differ
**   only in their bounds checks), looking for an interrupt every
**   HOOK_CHECK_STEPS elements.
** - string.rep with an empty string and separator (5.1 to 5.4) copies
**   nothing n times: string.rep("", 2^30) took 3 to 8.5 s, 2^40 would take
**   hours. The result is "" for any n, so past the argument checks the stock
**   function gets n = 1. (LuaJIT returns at once.)
** Both run in the stock function's frame, so errors name it as they would.
*/
#include "countloops.h"
#include "libwrap.h"
#include "world.h"

#if LUA_VERSION_NUM >= 503

#define TAB_R 1 /* ltablib.c's checktab: the table may be read, */
#define TAB_W 2 /* written, */
#define TAB_L 4 /* or measured */

static int has_field(lua_State *L, const char *key, int n) {
  lua_pushstring(L, key);
  return lua_rawget(L, -n) != LUA_TNIL;
}

/* A table, or something whose metatable can stand in for one. */
static void check_table(lua_State *L, int arg, int what) {
  if (lua_type(L, arg) != LUA_TTABLE) {
    int n = 1;
    if (lua_getmetatable(L, arg) && (!(what & TAB_R) || has_field(L, "__index", ++n)) &&
        (!(what & TAB_W) || has_field(L, "__newindex", ++n)) && (!(what & TAB_L) || has_field(L, "__len", ++n))) {
      lua_pop(L, n);
    } else {
      luaL_checktype(L, arg, LUA_TTABLE);
    }
  }
}

/* One element copied from t[from] (t at 1) to tt[to], after a look for an
** interrupt when the budget says (not between the get and its set: the
** stack is as the loop left it). */
static void copy_one(lua_State *L, hook_budget *b, lua_Integer from, lua_Integer to, int tt) {
  hook_budget_spend(b, L, 1);
  lua_geti(L, 1, from);
  lua_seti(L, tt, to);
}

static int move(lua_State *L) {
  lua_Integer f = luaL_checkinteger(L, 2);
  lua_Integer e = luaL_checkinteger(L, 3);
  lua_Integer t = luaL_checkinteger(L, 4);
  int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
  check_table(L, 1, TAB_R);
  check_table(L, tt, TAB_W);
  if (e >= f) {
    hook_budget b = hook_budget_of(L);
    luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
    lua_Integer n = e - f + 1;
    luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
    if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
      for (lua_Integer i = 0; i < n; i++) copy_one(L, &b, f + i, t + i, tt);
    } else {
      for (lua_Integer i = n - 1; i >= 0; i--) copy_one(L, &b, f + i, t + i, tt);
    }
  }
  lua_pushvalue(L, tt);
  return 1;
}

/* ltablib.c's aux_getn(L, 1, TAB_RW): the length, __len included, which a
** script can make as large as it likes. */
static lua_Integer length_of(lua_State *L) {
  check_table(L, 1, TAB_R | TAB_W | TAB_L);
  return luaL_len(L, 1);
}

static int insert(lua_State *L) {
  lua_Integer pos;
  lua_Integer e = (lua_Integer)((lua_Unsigned)length_of(L) + 1u); /* the first empty element */
  switch (lua_gettop(L)) {
    case 2: pos = e; break;
    case 3: {
      pos = luaL_checkinteger(L, 2);
#if LUA_VERSION_NUM == 503
      luaL_argcheck(L, 1 <= pos && pos <= e, 2, "position out of bounds");
#else
      luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
#endif
      hook_budget b = hook_budget_of(L);
      for (lua_Integer i = e; i > pos; i--) copy_one(L, &b, i - 1, i, 1);
      break;
    }
    default: return luaL_error(L, "wrong number of arguments to 'insert'");
  }
  lua_seti(L, 1, pos);
  return 0;
}

static int remove_at(lua_State *L) {
  lua_Integer size = length_of(L);
  lua_Integer pos = luaL_optinteger(L, 2, size);
  if (pos != size) {
#if LUA_VERSION_NUM == 503
    luaL_argcheck(L, 1 <= pos && pos <= size + 1, 1, "position out of bounds");
#else
    luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 1, "position out of bounds");
#endif
  }
  lua_geti(L, 1, pos);
  hook_budget b = hook_budget_of(L);
  for (; pos < size; pos++) copy_one(L, &b, pos + 1, pos, 1);
  lua_pushnil(L);
  lua_seti(L, 1, pos);
  return 1;
}

#endif

#ifndef MTINT_LUAJIT

/* Whether the stock string.rep accepts argument 2 (an integer there). */
static int count_accepted(lua_State *L) {
#if LUA_VERSION_NUM >= 503
  int isnum;
  lua_tointegerx(L, 2, &isnum);
  return isnum;
#else
  return lua_isnumber(L, 2);
#endif
}

/* Upvalue 1: the stock string.rep, which uses no upvalues. */
static int rep(lua_State *L) {
  size_t l;
  int empty = lua_type(L, 1) == LUA_TSTRING && (lua_tolstring(L, 1, &l), l == 0);
#if LUA_VERSION_NUM >= 502 /* 5.1 has no separator */
  if (!lua_isnoneornil(L, 3)) empty = empty && lua_type(L, 3) == LUA_TSTRING && (lua_tolstring(L, 3, &l), l == 0);
#endif
  if (empty && count_accepted(L) && lua_tonumber(L, 2) > 1) {
    lua_pushinteger(L, 1); /* "" whatever the count */
    lua_replace(L, 2);
  }
  return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

#endif

void countloops_install(lua_State *L) {
#ifdef MTINT_LUAJIT
  (void)L; /* its table.move is Lua code, its string.rep of "" returns at once */
#else
#if LUA_VERSION_NUM >= 503
  /* Rewritten whole: these keep the stock function unused. */
  libwrap(L, "table", "move", move, 0);
  libwrap(L, "table", "insert", insert, 0);
  libwrap(L, "table", "remove", remove_at, 0);
#endif
  libwrap(L, "string", "rep", rep, 0);
#endif
}
