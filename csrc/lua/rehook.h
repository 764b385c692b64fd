/*
** Hooks back on for a cancelled call (rehook.c).
*/
#ifndef MTINT_REHOOK_H
#define MTINT_REHOOK_H

#include "world.h"

/* Finds where lua_State keeps `allowhook` in the running library, by
** watching it flip inside a hook and checking that turning it back on
** there lets a nested hook fire. Run once per state at creation (owner
** thread, protected); when it cannot tell, rehook_cancelled does nothing. */
void rehook_probe(lua_State *L);

/* For a cancelled host call: turns hooks back on in L if it is inside a
** hook or a finalizer, so that the armed interrupt hook fires there too.
** Owner thread; from the kick handler too (it stores one byte). */
void rehook_cancelled(mt_world *w, lua_State *L);

/* 1 when L runs with hooks off (inside a hook or a finalizer), 0 when not,
** -1 when rehook_probe could not tell. Owner thread. */
int rehook_hooks_off(mt_world *w, lua_State *L);

#endif
