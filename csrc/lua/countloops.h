/*
** Library functions that loop as many times as an argument says, made to
** stop: table.move, insert and remove (5.3, 5.4) and string.rep of an empty
** string (5.1 to 5.4); countloops.c.
*/
#ifndef MTINT_COUNTLOOPS_H
#define MTINT_COUNTLOOPS_H

#include "compat.h"

/* Wraps them in a host state's libraries. */
void countloops_install(lua_State *L);

#endif
