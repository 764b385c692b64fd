/*
** table.sort without a comparator, given one that an interrupt reaches
** (see sort.h).
**
** Without a comparator every comparison happens inside the one C function:
** 10^7 numbers took 7 s no interrupt could cut short, and on 5.1, 5.2 and
** LuaJIT, whose pivot is the median of three fixed positions, an input
** crafted against it is quadratic (5.3 and 5.4 switch to random pivots when
** a partition is lopsided). Past SORT_SMALL elements, the stock sort runs
** with less_than as its comparator: the same comparison it makes without
** one, hence the same order, ties included, but made through a call, where
** every CHECK_CALLS calls hook_check raises a pending interrupt or
** cancellation. It costs the sort about 2x. Smaller arrays sort as they
** are: a few ms at most, crafted input included.
*/
#include "sort.h"
#include "world.h"

#if LUA_VERSION_NUM >= 503
#define SORT_SMALL 16384 /* n log n: ~5 ms */
#else
#define SORT_SMALL 1024 /* n^2/2 comparisons when crafted: ~10 ms */
#endif
#define CHECK_CALLS 4096


/* Upvalue 1: a countdown to the next look for an interrupt. */
static int less_than(lua_State *L) {
  int *left = lua_touserdata(L, lua_upvalueindex(1));
  if (--*left <= 0) {
    *left = CHECK_CALLS;
    mt_world *w = world_of(L);
    if (w != NULL) hook_check(w, L);
  }
#if LUA_VERSION_NUM == 501
  lua_pushboolean(L, lua_lessthan(L, 1, 2));
#else
  lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
#endif
  return 1;
}

/* Upvalue 1: the stock sort, which runs in this frame (it uses no
** upvalues), so that its errors name it as they would; 2: less_than. */
static int sort(lua_State *L) {
  if (lua_isnoneornil(L, 2) && lua_type(L, 1) == LUA_TTABLE && lua_rawlen(L, 1) > SORT_SMALL) {
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(2));
  }
  return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

void sort_install(lua_State *L) {
  lua_getglobal(L, "table");
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_getfield(L, -1, "sort");
  if (lua_tocfunction(L, -1) == NULL) {
    lua_pop(L, 2);
    return;
  }
  *(int *)lua_newuserdata(L, sizeof(int)) = CHECK_CALLS;
  lua_pushcclosure(L, less_than, 1);
  lua_pushcclosure(L, sort, 2);
  lua_setfield(L, -2, "sort");
  lua_pop(L, 1);
}

