/*
** Lua functions handed to JavaScript as handles (src/handles.ts is the
** other half). A handle is an entry in a table of the state's registry,
** keyed by a number that is never reused within the state; it crosses the
** codec as TAG_FUNC with the state's main id, so a handle of another state
** (another worker, or one before a reset) is refused, never resolved to
** whatever this state keeps under the same number.
*/
#ifndef MTINT_HANDLES_H
#define MTINT_HANDLES_H

#include "compat.h"

/* Most live handles one state keeps (src/handles.ts MAX_HANDLES has the
** same; tests/codec.test.ts compares them): past it, a result holding a
** function fails to cross, so a script returning millions of functions
** cannot grow the state without bound. */
#define HANDLES_MAX 65536

/* Registers the function (or any value) at `idx` as a new handle and
** writes its number to `id`. Returns 0 when the state has HANDLES_MAX live
** handles. May raise (out of memory). Hosted states only. */
int handles_add(lua_State *L, int idx, double *id);

/* Pushes the value of handle `id` of the state whose main id is `state`.
** Returns 1, or -1 with a message pushed when the handle is not this
** state's or was released. */
int handles_push(lua_State *L, double state, double id);

/* Drops handle `id` (nothing when there is none). Allocates nothing. */
void handles_release(lua_State *L, double id);

/* The number the next handle gets: before encoding a result, so that the
** handles of a result that does not reach JavaScript can be dropped
** (handles_drop_since). */
double handles_mark(lua_State *L);
void handles_drop_since(lua_State *L, double mark);

/* Live handles of the state. */
uint32_t handles_live(lua_State *L);

#endif
