/*
** Limits where a version has none (see recursion.h).
**
** Lua 5.1's pattern matcher recurses once per quantified item (`?`, `*`,
** `+`, `-`) and per capture bracket, with no bound: ("a?"):rep(1e6) ran
** 15 MiB deep and crashed a worker. 5.2 and later count the depth and
** raise "pattern too complex" at 200 (MAXCCALLS); here string.find,
** match, gmatch and gsub (patterns.c) refuse a pattern that could go
** deeper, with the same message, before the matcher starts.
*/
#include <string.h>

#include "host.h"
#include "patterns.h"
#include "recursion.h"

#define PATTERN_DEPTH_MAX 200 /* 5.2's MAXCCALLS */

#if LUA_VERSION_NUM == 501 && !defined(MTINT_LUAJIT)
/* Where the single-character class at p ends, as lstrlib.c's classEnd
** reads it (NULL when malformed: the matcher reports that itself). */
static const char *class_end(const char *p) {
  switch (*p++) {
    case '%': return *p == '\0' ? NULL : p + 1;
    case '[':
      if (*p == '^') p++;
      do {
        if (*p == '\0') return NULL;
        if (*(p++) == '%' && *p != '\0') p++;
      } while (*p != ']');
      return p + 1;
    default: return p;
  }
}

/* The deepest the 5.1 matcher can recurse for pattern p: one level per
** quantified item and per capture bracket. 5.1 reads a pattern up to its
** first zero byte. */
static int pattern_depth(const char *p) {
  int depth = 0;
  if (*p == '^') p++;
  while (*p != '\0') {
    if (*p == '(' || *p == ')') {
      depth++;
      p++;
      continue;
    }
    if (p[0] == '%' && p[1] == 'b') { /* %bxy: no recursion */
      if (p[2] == '\0' || p[3] == '\0') return depth;
      p += 4;
      continue;
    }
    if (p[0] == '%' && p[1] == 'f') { /* %f[set]: no recursion, no quantifier */
      p = p[2] == '[' ? class_end(p + 2) : NULL;
      if (p == NULL) return depth;
      continue;
    }
    const char *ep = class_end(p);
    if (ep == NULL) return depth;
    if (*ep != '\0' && strchr("?*+-", *ep)) {
      depth++;
      ep++;
    }
    p = ep;
  }
  return depth;
}

int pattern_too_deep(const char *p) {
  return pattern_depth(p) > PATTERN_DEPTH_MAX;
}
#endif

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
