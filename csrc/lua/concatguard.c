/*
** Keeping a thread's Lua stack in place while a __concat metamethod runs,
** on the 5.4 builds that need it (Debian 12's liblua5.4 5.4.4-3).
**
** The bug: Debian's fix for CVE-2022-33099 is upstream commit 42d40581
** ("Save stack space while handling errors"), which also changed the end
** of luaV_concat's loop (lvm.c) from `L->top -= n-1` to
**     StkId top = L->top;             (at the top of each pass)
**     ...  luaT_tryconcatTM(L);       (calls the metamethod)
**     L->top = top - (n - 1);
** Upstream found the pointer goes stale when the metamethod reallocates the
** stack and fixed it in 603b2c64 ("'luaV_concat' can use invalidated
** pointer to stack", 5.4.5), which Debian did not take. The metamethod
** result lands in the new stack (luaT_callTMres restores `res` from an
** offset), then L->top points into the freed old one: the next pass reads
** and writes freed memory, a later call pushes frames there, and a GC step
** walks from the new stack to the old top (checkGC in OP_CONCAT). Hence
** 'x' for 'x' .. o .. 'y', hangs, SIGSEGV, and glibc's heap aborts.
** Upstream 5.4.0-5.4.4 and 5.4.5+ are right; 5.3 and earlier never cache
** `top` across the call.
**
** What moves the stack (luaD_reallocstack: a realloc of the block in 5.4.0
** to 5.4.2, a new block and a free of the old one in 5.4.3 and 5.4.4)
** is not pcall as such but any of: growth (luaD_growstack: a deep or wide
** call in the metamethod, even the metamethod's own frame, table.unpack,
** string.byte, varargs, coroutine results, error handling), and shrinking
** (luaD_shrinkstack: after pcall/xpcall catch an error, and in every GC
** traversal of the thread, so any allocation that brings a GC step can
** do it), and whatever the metamethod runs can do either: a finalizer, a
** __close handler, __tostring, __index... The thread may also be one
** that resumed the running coroutine.
**
** The fix: the allocator never moves the stack of a thread whose
** luaV_concat may still use it. A realloc names the block
** (concatguard_holds); 5.4.3+ ask for a new stack as a plain (NULL, 0,
** size) request, so for each thread that can have luaV_concat on the C
** stack (the host call's main thread and the coroutines it resumes,
** world->chain; not the yielded ones) the allocator asks: could this be
** that thread's new stack, and is a metamethod of an OP_CONCAT running in
** it? If both, the allocation fails: a growth then raises "not enough
** memory" (or the caller's own error, e.g. "too many results to unpack"),
** a shrink just does not happen. Nothing else changes: a refused growth is
** one that would have crashed. Not covered: luaV_concat reached through
** lua_concat from C (no library function passes it a non-string), threads
** resumed behind the wrappers' back (the full preset's debug.getupvalue
** reaches the original coroutine.resume), drop-in states (no chain), and
** 5.4.0/5.4.1 (another layout: the check below fails, the guard stays off).
**
** "Could be its stack": sizes are (slots + EXTRA_STACK) * sizeof(StackValue),
** with slots exactly twice the size (or LUAI_MAXSTACK, or ERRORSTACKSIZE)
** for a growth by up to the size (a Lua frame, 255 slots at most, on a
** stack of 256 or more); from a Lua frame on a smaller stack, at most 260
** slots above the top; from a C function (lua_checkstack), anything larger.
** A shrink is exactly twice the stack in use (stackinuse), which the walk
** of the frames computes. So unrelated blocks are refused only while a
** __concat metamethod runs, and only large ones from C functions (a
** string.rep or table.concat result, a big table), or unlucky sizes.
**
** "A metamethod of an OP_CONCAT running": a Lua frame whose last
** instruction (savedpc - 1) is OP_CONCAT, with the next frame's function
** (or the top, when it is the last frame) at least two slots above the
** instruction's register A: that is luaT_callTMres pushing the metamethod
** above the operands still to concatenate. After luaV_concat returns, the
** top is A + 1 (a finalizer run by OP_CONCAT's checkGC sits there), and a
** debug hook before the instruction marks the frame CIST_HOOKED.
**
** The private layouts (lstate.h, lopcodes.h of 5.4.2 to 5.4.4: lua_State,
** CallInfo, CIST_C, CIST_HOOKED, OP_CONCAT = 53) are checked at state
** creation against the API (lua_getstack's i_ci, lua_gettop) from inside
** a real __concat metamethod, which then also tells whether this library
** has the bug: it grows the stack, with the old block kept (freeing
** deferred), and `'x' .. 'y' .. o` gives 'x' instead of 'xr'. The guard is
** on only where both hold. The walk is bounded by the stack's size, which
** the size asked for bounds, so its cost is a fraction of the allocation's.
*/
#include <stddef.h>
#include <string.h>

#include "world.h"

#if LUA_VERSION_NUM == 504 && !defined(MTINT_LUAJIT)

#define SLOT 16 /* sizeof(StackValue) */
#define EXTRA_STACK 5
#define MAXSTACK 1000000L
#define ERRORSTACKSIZE (MAXSTACK + 200)
#define MINSTACK 20 /* LUA_MINSTACK */
#define CIST_C (1 << 1)
#define CIST_HOOKED (1 << 3)
#define OP_CONCAT 53
#define FRAME_MAX 260 /* a Lua frame (255) plus the varargs' and hooks' few */
#define CALL_ROOM 1000 /* slots (16 bytes each): 16 KiB */

typedef struct ci5 {
  char *func, *top;
  struct ci5 *previous, *next;
  union {
    struct {
      const uint32_t *savedpc;
      int trap, nextraargs;
    } l;
    struct {
      void *k;
      ptrdiff_t old_errfunc;
      intptr_t ctx;
    } c;
  } u;
  int u2;
  short nresults;
  unsigned short callstatus;
} ci5;

typedef struct {
  void *next;
  unsigned char tt, marked, status, allowhook;
  unsigned short nci;
  char *top;
  void *l_G;
  ci5 *ci;
  char *stack_last, *stack;
} state5;

/* Whether a metamethod of an OP_CONCAT in T runs (see above), and T's
** stack in use (stackinuse) in *inuse. -1 past `bound` frames. */
static int scan(const state5 *T, long bound, long *inuse) {
  const char *lim = T->top;
  const ci5 *callee = NULL;
  int active = 0;
  for (const ci5 *ci = T->ci; ci != NULL; callee = ci, ci = ci->previous) {
    if (bound-- <= 0) return -1;
    if (ci->top > lim) lim = ci->top;
    if (active || (ci->callstatus & (CIST_C | CIST_HOOKED))) continue;
    uint32_t i = ci->u.l.savedpc[-1];
    if ((i & 0x7F) != OP_CONCAT) continue;
    const char *ra = ci->func + SLOT * (1 + ((i >> 7) & 0xFF));
    active = (callee ? callee->func : T->top) >= ra + 2 * SLOT;
  }
  *inuse = (lim - T->stack) / SLOT + 1;
  if (*inuse < MINSTACK) *inuse = MINSTACK;
  return active;
}

/* Whether `slots` could be thread T's new stack while luaV_concat uses it. */
static int refuses_for(const state5 *T, long slots) {
  long size = (T->stack_last - T->stack) / SLOT, top = (T->top - T->stack) / SLOT, inuse;
  long twice = 2 * size > MAXSTACK ? MAXSTACK : 2 * size;
  if (slots > size) {
    int c_frame = (T->ci->callstatus & CIST_C) != 0;
    if (slots != twice && slots != ERRORSTACKSIZE &&
        !(slots > twice && slots <= MAXSTACK && (c_frame || slots - top <= FRAME_MAX)))
      return 0;
    return scan(T, size + 2, &inuse) == 1;
  }
  /* A shrink: 2 * inuse, and every frame holds a slot of its own. */
  if (scan(T, slots / 2 + 2, &inuse) != 1) return 0;
  long want = 2 * inuse > MAXSTACK ? MAXSTACK : 2 * inuse;
  return slots == want;
}

int concatguard_refuses(mt_world *w, size_t nsize) {
  long slots = (long)(nsize / SLOT) - EXTRA_STACK;
  if (nsize % SLOT != 0 || slots < 2 * MINSTACK) return 0; /* no stack is smaller */
  int refuse = refuses_for((const state5 *)w->main, slots);
  int depth = w->chain_depth;
  if (depth > MT_CHAIN_MAX) depth = MT_CHAIN_MAX;
  for (int i = 0; i < depth && !refuse; i++) {
    lua_State *co = w->chain[i];
    refuse = lua_status(co) != LUA_YIELD && refuses_for((const state5 *)co, slots);
  }
  w->concat_refused |= refuse;
  return refuse;
}

/* 5.4.0-5.4.2 reallocate the stack in place (luaM_reallocvector on the
** old block): there the block is known, and any move of it is refused. */
int concatguard_holds(mt_world *w, const void *block, size_t osize) {
  if (osize % SLOT != 0 || (long)(osize / SLOT) < 2 * MINSTACK + EXTRA_STACK) return 0;
  const state5 *T = (const state5 *)w->main;
  long inuse;
  int hold = T->stack == block && scan(T, (T->stack_last - T->stack) / SLOT + 2, &inuse) == 1;
  int depth = w->chain_depth;
  if (depth > MT_CHAIN_MAX) depth = MT_CHAIN_MAX;
  for (int i = 0; i < depth && !hold; i++) {
    T = (const state5 *)w->chain[i];
    hold = T->stack == block && lua_status(w->chain[i]) != LUA_YIELD &&
           scan(T, (T->stack_last - T->stack) / SLOT + 2, &inuse) == 1;
  }
  w->concat_refused |= hold;
  return hold;
}

/* Room for the metamethods to come, so that the usual ones need not grow
** the stack (which the guard refuses): the main thread's stack starts at
** 40 slots, and a pcall in a metamethod takes more. Best effort: a GC
** cycle shrinks it again when it is three times what is in use. */
void concatguard_call(mt_world *w, lua_State *L) {
  w->concat_refused = 0;
  if (w->concat_guard) lua_checkstack(L, CALL_ROOM);
}

/* --- the check at state creation ---------------------------------------- */

/* The metamethod: checks the layouts against the API, then grows the stack
** (the old block stays: world.c defers frees while w->concat_defer). */
static int probe_tm(lua_State *L) {
  mt_world *w = lua_touserdata(L, lua_upvalueindex(1));
  const state5 *T = (const state5 *)L;
  lua_Debug me, caller;
  int ok = lua_getstack(L, 0, &me) && lua_getstack(L, 1, &caller) && (const ci5 *)me.i_ci == T->ci &&
           T->ci->previous == (const ci5 *)caller.i_ci && (T->ci->callstatus & CIST_C) &&
           !(T->ci->previous->callstatus & (CIST_C | CIST_HOOKED)) && T->stack <= T->ci->func &&
           T->top <= T->stack_last && (T->top - T->ci->func) / SLOT - 1 == lua_gettop(L);
  if (ok) {
    long inuse;
    ok = scan(T, 1000, &inuse) == 1; /* finds this very call */
  }
  w->concat_layout = ok;
  w->concat_defer = 1;
  lua_checkstack(L, 300); /* from 40 slots: a new block */
  w->concat_defer = 0;
  lua_pushliteral(L, "r");
  return 1;
}

static int probe_protected(lua_State *L) {
  mt_world *w = lua_touserdata(L, 1);
  static const char chunk[] = "local a, b, o = ... return a .. b .. o";
  lua_State *co = lua_newthread(L);
  lua_sethook(co, NULL, 0, 0);
  if (luaL_loadbufferx(co, chunk, sizeof chunk - 1, "=concatguard", "t") != LUA_OK) return 0;
  lua_pushliteral(co, "x");
  lua_pushliteral(co, "y");
  lua_newtable(co);
  lua_newtable(co);
  lua_pushlightuserdata(co, w);
  lua_pushcclosure(co, probe_tm, 1);
  lua_setfield(co, -2, "__concat");
  lua_setmetatable(co, -2);
  /* No GC step may see the stale top that a buggy OP_CONCAT leaves until
  ** its RETURN1 resets it (no hook on co: the fast return). */
  lua_gc(L, LUA_GCSTOP, 0);
  int status = lua_pcall(co, 3, 1, 0);
  lua_gc(L, LUA_GCRESTART, 0);
  w->concat_bug = status == LUA_OK && lua_type(co, -1) == LUA_TSTRING && strcmp(lua_tostring(co, -1), "xr") != 0;
  return 0;
}

void concatguard_probe(mt_world *w, lua_State *L) {
  w->concat_guard = 0;
  if (mt_cpcall(L, probe_protected, w) != LUA_OK) lua_pop(L, 1);
  world_flush_deferred(w);
  w->concat_guard = w->concat_bug && w->concat_layout;
}

#else

int concatguard_refuses(mt_world *w, size_t nsize) {
  (void)w, (void)nsize;
  return 0;
}

int concatguard_holds(mt_world *w, const void *block, size_t osize) {
  (void)w, (void)block, (void)osize;
  return 0;
}

void concatguard_probe(mt_world *w, lua_State *L) {
  (void)L;
  w->concat_guard = 0;
}

void concatguard_call(mt_world *w, lua_State *L) {
  (void)L;
  w->concat_refused = 0;
}

#endif
