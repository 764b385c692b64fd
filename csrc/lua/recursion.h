/*
** Limits that keep recursion through C functions within the stack that
** Lua runs on (csrc/core/stack.h), where a version's own limits do not.
*/
#ifndef MTINT_RECURSION_H
#define MTINT_RECURSION_H

#include "world.h"

/* The stack a host state runs on. PUC Lua counts nested C calls across
** coroutines (LUAI_MAXCCALLS, 200): measured at most 1.8 MiB deep (200
** string.gsub callbacks, each with an 8 KiB luaL_Buffer). LuaJIT counts
** none: only the Lua stack of each coroutine (65500 slots) bounds it, at
** up to 115 MiB measured (13094 nested string.gsub callbacks); see
** recursion_may_resume for coroutines. */
#ifdef MTINT_LUAJIT
#define MT_LUA_STACK_SIZE ((size_t)512 << 20)
#else
#define MT_LUA_STACK_SIZE ((size_t)16 << 20)
#endif

/* Whether a coroutine may be resumed here: on LuaJIT, each coroutine has
** a Lua stack of its own, so nesting them has no bound but memory; a
** resume needs room for a coroutine's worst case, and for the finalizers
** that may run inside it (on the main thread's Lua stack). */
int recursion_may_resume(mt_world *w);

#endif
