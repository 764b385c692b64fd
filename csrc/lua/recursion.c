/*
** Limits where a version has none (see recursion.h). (Lua 5.1's pattern
** matcher, which recurses without one, is bounded in patterns.c.)
*/
#include "host.h"
#include "recursion.h"

/* LuaJIT: regions of the mtint stack bounded by one Lua stack take at most
** COROUTINE_WORST (115 MiB measured, 150 assumed: 65500 slots at 5 per
** level with an 8 KiB buffer each, plus margin). A coroutine's region and
** the finalizers it may trigger (on the main thread's Lua stack) need
** twice that below the point where it is resumed. */
#define COROUTINE_WORST ((size_t)150 << 20)
/* Nested resumes: 5.2 to 5.4 allow 98 (each costs two of their 200 C
** calls), 5.1 99; memory would be LuaJIT's only bound (a million nested
** coroutines took 16 s to make and as long to unwind). */
#define RESUME_DEPTH_MAX 200

int recursion_may_resume(mt_world *w) {
#ifdef MTINT_LUAJIT
  if (w->host == NULL) return 1; /* the drop-in module: the interpreter's stack */
  return w->chain_depth < RESUME_DEPTH_MAX && mt_stack_room(w->host->stack) >= 2 * COROUTINE_WORST;
#else
  (void)w;
  return 1; /* LUAI_MAXCCALLS counts across coroutines */
#endif
}
