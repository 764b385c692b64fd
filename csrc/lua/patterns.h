/*
** string.find, match, gmatch and gsub that interrupts, deadlines and
** cancellations stop while they match: a dry run of the stock search with
** mtint's own matcher, which looks for them as it goes, then the stock
** function itself (patterns.c).
*/
#ifndef MTINT_PATTERNS_H
#define MTINT_PATTERNS_H

#include "compat.h"

/* Wraps the string library's pattern functions of a host state. */
void patterns_install(lua_State *L);

#endif
