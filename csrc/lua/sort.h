/*
** table.sort without a comparator, which sorts inside one C function, made
** reachable by interrupts on large arrays by lending it a comparator that
** compares as it would (sort.c).
*/
#ifndef MTINT_SORT_H
#define MTINT_SORT_H

#include "compat.h"

/* Wraps table.sort of a host state. */
void sort_install(lua_State *L);

#endif
