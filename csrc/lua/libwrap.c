/*
** The wrappers that make long library loops stop (patterns.c, sort.c,
** countloops.c, traceback.c) keep the stock function as their upvalue 1:
** those that call it in their own frame leave its values, errors and the
** names in them as the library has them. Only a C function is replaced: a
** library that a host changed before is left as it is.
*/
#include "libwrap.h"

void libwrap(lua_State *L, const char *library, const char *name, lua_CFunction wrapper, int nup) {
  lua_getglobal(L, library);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1 + nup);
    return;
  }
  lua_getfield(L, -1, name);
  if (lua_tocfunction(L, -1) == NULL) {
    lua_pop(L, 2 + nup);
    return;
  }
  lua_insert(L, -(nup + 2)); /* stock, upvalues..., library */
  lua_insert(L, -(nup + 2)); /* library, stock, upvalues... */
  lua_pushcclosure(L, wrapper, 1 + nup);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}
