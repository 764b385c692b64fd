/*
** Stacks that mtint owns, to run Lua on.
**
** A Web Worker's thread has a small stack (Deno's and Bun's are a few MiB)
** and Lua's own limits (200 nested C calls, LuaJIT's Lua stack size) were
** tuned for a main thread's: recursion through C functions used to run off
** the end and kill the process. The host API runs every entry into Lua on
** a stack of its own instead (csrc/lua/recursion.h sizes it): reserved, committed by the kernel
** only as it is touched, with a guard region below it, so that each
** version's limits (a Lua error) come long before its end.
**
** JavaScript must not run there: V8 and JavaScriptCore check their own
** stack limits against the thread's stack. A callback into JavaScript is a
** switch back to the thread's stack, below the frame that left it, and a
** return (mt_stack_outside). Both switches are plain nested calls, so the
** frames stay strictly nested and nothing ever longjmps across a switch:
** Lua errors stay inside the lua_pcall that runs on the mtint stack.
**
** Signal handlers run on whatever stack is current, which is what the kick
** handler (kick.c) needs; it uses little stack.
**
** One owner thread per stack; not for use from signal handlers.
*/
#ifndef MTINT_STACK_H
#define MTINT_STACK_H

#include <stddef.h>

#pragma GCC visibility push(default)

typedef struct mt_stack mt_stack;

/* A stack of `size` bytes (rounded up to pages) plus its guard; NULL when
** the address space cannot be had. */
mt_stack *mt_stack_new(size_t size);
void mt_stack_free(mt_stack *s);

/* Runs fn(arg) on `s`, or directly when already on it. */
void mt_stack_run(mt_stack *s, void (*fn)(void *), void *arg);

/* From code that mt_stack_run runs: runs fn(arg) on the stack that called
** mt_stack_run, then comes back. Directly when not on `s` (or s is NULL). */
void mt_stack_outside(mt_stack *s, void (*fn)(void *), void *arg);

/* Bytes left below the caller's frame on `s`; SIZE_MAX when not on it. */
size_t mt_stack_room(const mt_stack *s);

/* Gives the pages that a deep call touched back to the system, keeping
** the top ones that every call uses. Not on `s`. */
void mt_stack_trim(mt_stack *s);

#pragma GCC visibility pop

#endif
