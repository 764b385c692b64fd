/*
** Putting a wrapper in place of a standard library's C function; libwrap.c.
*/
#ifndef MTINT_LIBWRAP_H
#define MTINT_LIBWRAP_H

#include "compat.h"

/* Replaces library[name], when it is a C function, with a C closure of
** `wrapper` whose upvalue 1 is that function and whose next upvalues are
** the `nup` values on top of the stack (popped either way). */
void libwrap(lua_State *L, const char *library, const char *name, lua_CFunction wrapper, int nup);

#endif
