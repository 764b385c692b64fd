/*
** Letting the main thread's Lua stack grow while lua_close runs finalizers
** (5.2 and 5.3).
**
** There, lua_close calls each pending finalizer with propagateerrors off
** (lgc.c GCTM): a finalizer that fails leaves its error value on the main
** thread's stack, one slot each, and GCTM pushes the next finalizer and its
** argument without checking for room, counting on the call that follows to
** grow the stack. When that growth fails (the state is at its memory limit,
** or the close was cancelled, which fails every allocation), the next
** finalizer writes past the end of the stack's block: heap corruption.
** 5.1 resets the stack between finalizers and 5.4 pops the error value;
** LuaJIT throws out of its finalizer loop. So on 5.2 and 5.3 the allocator
** never refuses the main stack's growth while the state closes. Each
** growth at least doubles the stack, and Lua stops it at LUAI_MAXSTACK
** slots (16 MiB), so this lifts the limit by at most that much.
**
** Past LUAI_MAXSTACK Lua grows the stack no more, and each further failing
** finalizer still writes a slot past its end: a million objects with a
** failing finalizer crash stock 5.2 at exit (and crashed a worker here).
** So the block that Lua asks for at that size gets room behind it for one
** slot per finalizer that may still run: lua_close runs the finalizers of
** the objects alive as it began, each of which takes 32 bytes or more, so
** half the memory then in use bounds it. The room is address space that
** the kernel commits only as the slots are written.
**
** The stack's block is found without Lua's private headers: while a new
** coroutine is probed (world.c), the word of its lua_State that holds the
** address of its stack block, verified by growing that stack and seeing
** the word follow the new block.
*/
#include <string.h>

#include "world.h"

#if LUA_VERSION_NUM == 502 || LUA_VERSION_NUM == 503 /* (LuaJIT says 501) */

/* The offset of the first word in [co, co + len) that holds `block`; 0 if
** none. (base_ci.func also points at the stack's start, and always holds
** the same address: either word serves.) */
static size_t find_word(lua_State *co, size_t len, void *block) {
  for (size_t off = 0; off + sizeof(void *) <= len; off += sizeof(void *)) {
    void *word;
    memcpy(&word, (char *)co + off, sizeof word);
    if (word == block) return off;
  }
  return 0;
}

/* The offset of the word of `co` that holds a block the probe recorded
** from entry `from` on, other than the coroutine's own block; 0 if none. */
static size_t probed_word(mt_world *w, lua_State *co, size_t len, int from) {
  for (int i = from; i < w->probe.n; i++) {
    char *p = w->probe.ptr[i];
    if ((char *)co >= p && (char *)co < p + w->probe.size[i]) continue;
    size_t off = find_word(co, len, p);
    if (off != 0) return off;
  }
  return 0;
}

void closestack_find(mt_world *w, lua_State *co, size_t len) {
  w->stack_offset = 0;
  size_t off = probed_word(w, co, len, 0);
  if (off == 0) return;
  /* Verify: growing the coroutine's stack moves it to a new block (or
  ** grows it in place), and the word still holds the block's address. */
  int before = w->probe.n;
  if (!lua_checkstack(co, 1000) || w->probe.n == before) return;
  if (probed_word(w, co, len, before) == off) w->stack_offset = off;
}

size_t closestack_room(const mt_world *w, size_t nsize) {
  /* A slot takes at least 8 bytes: from this request on, the stack is at
  ** or near LUAI_MAXSTACK slots. */
  if (nsize < (size_t)LUAI_MAXSTACK * 8) return nsize;
  return nsize + w->close_used / 2 + 4096;
}

int closestack_is_main(const mt_world *w, const void *ptr) {
  if (w->stack_offset == 0) return 0;
  void *word;
  memcpy(&word, (const char *)w->main + w->stack_offset, sizeof word);
  return word == ptr;
}

#else

void closestack_find(mt_world *w, lua_State *co, size_t len) {
  (void)co, (void)len;
  w->stack_offset = 0;
}

int closestack_is_main(const mt_world *w, const void *ptr) {
  (void)w, (void)ptr;
  return 0;
}

size_t closestack_room(const mt_world *w, size_t nsize) {
  (void)w;
  return nsize;
}

#endif
