/*
** table.sort without a comparator, which sorts inside one C function, made
** reachable by interrupts on large arrays: the same algorithm written again
** (5.1, 5.2, LuaJIT), or a comparator lent to the stock sort that compares
** as it would (5.3, 5.4); sort.c.
*/
#ifndef MTINT_SORT_H
#define MTINT_SORT_H

#include "compat.h"

/* Wraps table.sort of a host state. */
void sort_install(lua_State *L);

#endif
