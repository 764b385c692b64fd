/*
** table.sort without a comparator that an interrupt reaches (see sort.h).
**
** Without a comparator every comparison happens inside the one C function:
** 10^7 numbers took 7 s that no interrupt could cut short, and 5.1, 5.2 and
** LuaJIT take the median of three fixed positions as the pivot, so an input
** crafted against it is quadratic (5.3 and 5.4 switch to random pivots when
** a partition is lopsided). Past SORT_SMALL elements:
** - 5.1, 5.2 and LuaJIT sort with their own algorithm, written again here
**   (ltablib.c's auxsort, the same in the three but for where a lying
**   order is caught), the same comparisons in the same order, hence the
**   same order of ties and the same errors, with hook_check every
**   HOOK_CHECK_STEPS comparisons;
** - 5.3 and 5.4 (whose sort uses lua_geti, metamethods included, and random
**   pivots) get a comparator that compares as they would without one, made
**   through a call where hook_check can look: about 2x the time.
** Smaller arrays sort as they are: a few ms at most, crafted input included.
*/
#include "libwrap.h"
#include "sort.h"
#include "world.h"

#if LUA_VERSION_NUM <= 502
#define SORT_SMALL 1024 /* n^2/2 comparisons when crafted: ~10 ms */
#else
#define SORT_SMALL 65536 /* n log n: ~30 ms */
#endif

#if LUA_VERSION_NUM <= 502

static int less(lua_State *L, hook_budget *st, int a, int b) {
  hook_budget_spend(st, L, 1);
#if LUA_VERSION_NUM == 501
  return lua_lessthan(L, a, b);
#else
  return lua_compare(L, a, b, LUA_OPLT);
#endif
}

/* Where an order that lies is caught: 5.1 one element later than 5.2 and
** LuaJIT (it compares a[u + 1], nil, first). */
#if LUA_VERSION_NUM == 501 && !defined(MTINT_LUAJIT)
#define PAST_UPPER(i, u) ((i) > (u))
#define PAST_LOWER(j, l) ((j) < (l))
#else
#define PAST_UPPER(i, u) ((i) >= (u))
#define PAST_LOWER(j, l) ((j) <= (l))
#endif

static void set2(lua_State *L, int i, int j) {
  lua_rawseti(L, 1, i);
  lua_rawseti(L, 1, j);
}

static void auxsort(lua_State *L, hook_budget *st, int l, int u) {
  while (l < u) {
    int i, j;
    lua_rawgeti(L, 1, l);
    lua_rawgeti(L, 1, u);
    if (less(L, st, -1, -2)) set2(L, l, u); /* a[u] < a[l] */
    else lua_pop(L, 2);
    if (u - l == 1) break;
    i = (l + u) / 2;
    lua_rawgeti(L, 1, i);
    lua_rawgeti(L, 1, l);
    if (less(L, st, -2, -1)) set2(L, i, l); /* a[i] < a[l] */
    else {
      lua_pop(L, 1);
      lua_rawgeti(L, 1, u);
      if (less(L, st, -1, -2)) set2(L, i, u); /* a[u] < a[i] */
      else lua_pop(L, 2);
    }
    if (u - l == 2) break;
    lua_rawgeti(L, 1, i); /* the pivot */
    lua_pushvalue(L, -1);
    lua_rawgeti(L, 1, u - 1);
    set2(L, i, u - 1);
    i = l;
    j = u - 1;
    for (;;) { /* a[l..i] <= P <= a[j..u] */
      while (lua_rawgeti(L, 1, ++i), less(L, st, -1, -2)) {
        if (PAST_UPPER(i, u)) luaL_error(L, "invalid order function for sorting");
        lua_pop(L, 1);
      }
      while (lua_rawgeti(L, 1, --j), less(L, st, -3, -1)) {
        if (PAST_LOWER(j, l)) luaL_error(L, "invalid order function for sorting");
        lua_pop(L, 1);
      }
      if (j < i) {
        lua_pop(L, 3);
        break;
      }
      set2(L, i, j);
    }
    lua_rawgeti(L, 1, u - 1);
    lua_rawgeti(L, 1, i);
    set2(L, u - 1, i);
    if (i - l < u - i) { /* recurse into the smaller half, loop on the larger */
      j = l;
      i = i - 1;
      l = i + 2;
    } else {
      j = i + 1;
      i = u;
      u = j - 2;
    }
    auxsort(L, st, j, i);
  }
}

/* The stock front: the length as it reads it, then the sort. */
static int sort_here(lua_State *L) {
#if LUA_VERSION_NUM == 501
  int n = (int)lua_objlen(L, 1);
#else
  int n = (int)luaL_len(L, 1);
#endif
  luaL_checkstack(L, 40, "");
  lua_settop(L, 2);
  hook_budget st = hook_budget_of(L);
  auxsort(L, &st, 1, n);
  return 0;
}

#else

/* The comparator lent to the stock sort; upvalue 1: its hook_budget. */
static int less_than(lua_State *L) {
  hook_budget_spend(lua_touserdata(L, lua_upvalueindex(1)), L, 1);
  lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
  return 1;
}

#endif

/* Upvalue 1: the stock sort, which runs in this frame (it uses no
** upvalues), so that its errors name it as they would. 5.3 and 5.4:
** upvalue 2, less_than. */
static int sort(lua_State *L) {
  if (lua_isnoneornil(L, 2) && lua_type(L, 1) == LUA_TTABLE && lua_rawlen(L, 1) > SORT_SMALL) {
#if LUA_VERSION_NUM <= 502
    return sort_here(L);
#else
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(2));
#endif
  }
  return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

void sort_install(lua_State *L) {
#if LUA_VERSION_NUM <= 502
  libwrap(L, "table", "sort", sort, 0);
#else
  *(hook_budget *)lua_newuserdata(L, sizeof(hook_budget)) = hook_budget_of(L);
  lua_pushcclosure(L, less_than, 1);
  libwrap(L, "table", "sort", sort, 1);
#endif
}
