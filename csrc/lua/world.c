/*
** Attaching our bookkeeping to a Lua state: the allocator wrapper, which
** is how we see a registered coroutine die on every Lua version (5.1 has no
** __gc for tables, LuaJIT no ephemerons), the memory limit, and the
** sentinel that detaches us when the state closes.
*/
#include <dlfcn.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "rehook.h"
#include "world.h"

/* Hosted states stay on their worker's thread: the owner record is
** trusted there (runs_here NULL). */
#ifdef MTINT_LUAJIT
static const mt_ops world_ops = {hook_arm, hook_arm_call, NULL, NULL};
static const mt_ops dropin_ops = {hook_arm, hook_arm_call, NULL, runner_proven};
#else
static const mt_ops world_ops = {hook_arm, hook_arm_call, hook_arm_direct, NULL};
static const mt_ops dropin_ops = {hook_arm, hook_arm_call, hook_arm_direct, runner_proven};
#endif

/* Owner thread only: plain loads and stores of its own counters. */
static inline void meter_grew(mt_meter *m, size_t used, int grew) {
  atomic_store_explicit(&m->used, used, memory_order_relaxed);
  if (!grew) return;
  if (used > atomic_load_explicit(&m->peak, memory_order_relaxed))
    atomic_store_explicit(&m->peak, used, memory_order_relaxed);
  atomic_store_explicit(&m->allocations, atomic_load_explicit(&m->allocations, memory_order_relaxed) + 1,
                        memory_order_relaxed);
}
static int sentinel_key;

/* The pooled backend: small blocks from the state's pool, the rest from
** malloc. A shrink never fails (Lua assumes so): when no new block can be
** had, the old one, larger than needed, serves. */
static void *pooled_realloc(mt_world *w, void *ptr, size_t old, size_t nsize) {
  if (ptr == NULL) return nsize <= POOL_MAX ? pool_alloc(&w->pool, nsize) : malloc(nsize);
  if (old > POOL_MAX && nsize > POOL_MAX) return realloc(ptr, nsize);
  if (old <= POOL_MAX && nsize <= POOL_MAX && pool_same_class(old, nsize)) return ptr;
  void *block = nsize <= POOL_MAX ? pool_alloc(&w->pool, nsize) : malloc(nsize);
  if (block == NULL) {
    if (nsize > old) return NULL;
    if (old > POOL_MAX) pool_keep(&w->pool, ptr); /* now a small block */
    return ptr;
  }
  memcpy(block, ptr, old < nsize ? old : nsize);
  if (old <= POOL_MAX) pool_free(&w->pool, ptr);
  else free(ptr);
  return block;
}

static void pooled_free(mt_world *w, void *ptr, size_t old) {
  if (old <= POOL_MAX) pool_free(&w->pool, ptr);
  else free(ptr);
}

/* mtint's collection after an out-of-memory error (host.c) must be able to
** run at the limit: 5.1 and LuaJIT shrink the string table by allocating
** the smaller one first, which they may do before the collection has freed
** anything, and an error there would fail every later collection too (the
** state answered "not enough memory" forever). The finalizers it runs are
** the script's code and stay under the limit: they run with hooks off
** (allowhook 0; LuaJIT's HOOK_ACTIVE), which is how they are told apart.
** Where rehook.c could not find that flag, the collection passes the
** limit: a state that works on matters more than the bound on finalizers. */
static int collection_may_pass(mt_world *w) {
  return w->collecting && rehook_hooks_off(w, w->main) != 1;
}

/*
** Runs on the owner thread for every allocation of the state. A freed
** block of exactly a coroutine's size may be a registered coroutine:
** mt_forget unregisters it before the memory goes (and costs one map probe
** when it is not).
*/
static void *world_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  mt_world *w = ud;
  if (w->track_runner) world_runner(w);
  size_t old = ptr ? osize : 0; /* with ptr NULL, 5.2+ pass a type tag */
  size_t used = atomic_load_explicit(&w->meter.used, memory_order_relaxed);
  if (nsize == 0) {
    if (ptr == NULL) return NULL;
    if (w->concat_defer && w->deferred.n < 8) { /* concatguard.c's check */
      w->deferred.ptr[w->deferred.n] = ptr;
      w->deferred.size[w->deferred.n++] = osize;
      return NULL;
    }
    if (old == w->thread_size && w->u != NULL) mt_forget(w->u, (char *)ptr + w->thread_offset);
    atomic_store_explicit(&w->meter.used, used - old, memory_order_relaxed);
    if (w->pooled) pooled_free(w, ptr, old);
    else w->orig_alloc(w->orig_ud, ptr, osize, 0);
    return NULL;
  }
  /* While the state closes, the main stack must be able to grow (closestack.c). */
  int closing_stack = w->closing && ptr != NULL && nsize > old && closestack_is_main(w, ptr);
  if (nsize > old && !closing_stack) {
    if (w->fail_alloc ||
        (w->watch_seq != 0 && atomic_load_explicit(w->cancel_word, memory_order_relaxed) == w->watch_seq))
      return NULL;
    size_t limit = atomic_load_explicit(&w->meter.limit, memory_order_relaxed);
    size_t after = used + (nsize - old);
    if ((limit != 0 && !w->limit_lifted && after > limit && !collection_may_pass(w)) ||
        (w->ceiling != 0 && after > w->ceiling)) {
      w->refused = 1;
      return NULL;
    }
    /* A new stack (ptr NULL, tag 0) must not move one that luaV_concat holds. */
    if (w->concat_guard && ptr == NULL && osize == 0 && concatguard_refuses(w, nsize)) return NULL;
  }
  if (w->concat_guard && ptr != NULL && concatguard_holds(w, ptr, old)) return NULL; /* 5.4.0-5.4.2: shrinks may fail */
  if (w->concat_defer && ptr != NULL && nsize > old && w->pooled && w->deferred.n < 8) {
    /* concatguard.c's check: the stack moves (never grown in place), its old block stays. */
    void *block = pooled_realloc(w, NULL, 0, nsize);
    if (block == NULL) return NULL;
    memcpy(block, ptr, old);
    w->deferred.ptr[w->deferred.n] = ptr;
    w->deferred.size[w->deferred.n++] = osize;
    meter_grew(&w->meter, used + nsize, 1);
    return block;
  }
  void *p = closing_stack && w->pooled && old > POOL_MAX ? realloc(ptr, closestack_room(w, nsize))
            : w->pooled                                  ? pooled_realloc(w, ptr, old, nsize)
                                                         : w->orig_alloc(w->orig_ud, ptr, osize, nsize);
  if (p != NULL) meter_grew(&w->meter, used - old + nsize, nsize > old);
  return p;
}

/* The same, recording the blocks it hands out: world_attach uses it for
** one lua_newthread, to learn a coroutine's block (probe_thread_size). */
static void *probe_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  mt_world *w = ud;
  void *p = world_alloc(ud, ptr, osize, nsize);
  if (p != NULL && nsize > 0 && w->probe.n < 8) {
    w->probe.ptr[w->probe.n] = p;
    w->probe.size[w->probe.n++] = nsize;
  }
  return p;
}

void world_flush_deferred(mt_world *w) {
  int n = w->deferred.n;
  w->deferred.n = 0;
  for (int i = 0; i < n; i++) world_alloc(w, w->deferred.ptr[i], w->deferred.size[i], 0);
}

mt_world *world_of(lua_State *L) {
  void *ud;
  return lua_getallocf(L, &ud) == world_alloc ? ud : NULL;
}

/* Keeps this library and the core mapped for the life of the process: the
** package library unloads C modules while lua_close still frees memory
** through our allocator, and Deno unloads a library with its last handle. */
static void pin(void) {
  const void *symbols[] = {(const void *)world_alloc, (const void *)mt_universe_open};
  for (size_t i = 0; i < sizeof symbols / sizeof *symbols; i++) {
    Dl_info info;
    if (dladdr(symbols[i], &info) && info.dli_fname) dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  }
}

static void pin_libraries(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, pin);
}

/* Creates one coroutine and finds the block that holds it: its size and
** the offset of the lua_State differ per version (LX in 5.3+, plain
** lua_State elsewhere), and only the running library knows them. */
static void probe_thread_size(mt_world *w, lua_State *L) {
  w->probe.n = 0;
  lua_setallocf(L, probe_alloc, w);
  lua_State *co = lua_newthread(L);
  for (int i = 0; i < w->probe.n; i++) {
    char *p = w->probe.ptr[i];
    if ((char *)co >= p && (char *)co < p + w->probe.size[i]) {
      w->thread_size = w->probe.size[i];
      w->thread_offset = (size_t)((char *)co - p);
    }
  }
  if (w->thread_size != (size_t)-1) closestack_find(w, co, w->thread_size - w->thread_offset);
  lua_setallocf(L, world_alloc, w);
  if (w->thread_size != (size_t)-1) hookfields_find(&w->hookfields, co, w->thread_size - w->thread_offset);
  lua_pop(L, 1);
  if (w->track_runner && w->main != NULL) runner_find(w, w->main, w->thread_size - w->thread_offset);
}

static int sentinel_gc(lua_State *L) {
  mt_world **slot = lua_touserdata(L, 1);
  if (*slot != NULL) world_detach(*slot, L);
  return 0;
}

/* Everything in attaching that can raise (out of memory), run protected. */
static int attach_protected(lua_State *L) {
  mt_world *w = lua_touserdata(L, 1);
  probe_thread_size(w, L);
  mt_world **slot = lua_newuserdata(L, sizeof *slot);
  *slot = w;
  lua_newtable(L);
  lua_pushcfunction(L, sentinel_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  mt_setregistry(L, &sentinel_key);
  return 0;
}

static lua_State *main_thread(lua_State *L) {
#if LUA_VERSION_NUM >= 502
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  lua_State *m = lua_tothread(L, -1);
  lua_pop(L, 1);
  return m;
#else
  /* 5.1 and LuaJIT do not expose the main thread; it registers itself
  ** with its first mtint.id(). */
  int is_main = lua_pushthread(L);
  lua_pop(L, 1);
  return is_main ? L : NULL;
#endif
}

/* What attaching and creating share: the universe and the sentinel. The
** allocator is already ours. Returns 0 on failure (the universe closed). */
static int world_open(mt_world *w, lua_State *L, int hosted) {
  w->thread_size = (size_t)-1;
  w->stackref = -1;
  w->u = mt_universe_open(w->track_runner ? &dropin_ops : &world_ops, w, w->main, hosted);
  if (w->u == NULL) return 0;
  mt_universe_meter(w->u, &w->meter);
  w->cancel_word = mt_cancel_word(w->u);
  if (mt_cpcall(L, attach_protected, w) != LUA_OK) {
    lua_pop(L, 1);
    mt_universe_close(w->u);
    w->u = NULL;
    return 0;
  }
  if (w->hookfields.ok) mt_universe_arming(w->u, LUA_VERSION_NUM >= 504 ? MT_ARM_DIRECT_AND_SIGNAL : MT_ARM_DIRECT);
  return 1;
}

mt_world *world_attach(lua_State *L) {
  pin_libraries();
  mt_world *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->main = main_thread(L);
  w->track_runner = 1;
  w->arm_mask = MT_ARM_MASK;
  world_runner(w);
  w->orig_alloc = lua_getallocf(L, &w->orig_ud);
  size_t used = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
  atomic_store(&w->meter.used, used);
  atomic_store(&w->meter.peak, used);
  lua_setallocf(L, world_alloc, w);
  if (!world_open(w, L, 0)) {
    lua_setallocf(L, w->orig_alloc, w->orig_ud);
    free(w);
    return NULL;
  }
  return w;
}

static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "mtint: PANIC: unprotected error in call to Lua API (%s)\n", msg ? msg : "?");
  return 0; /* Lua aborts */
}

/* Without a memoryLimit, a hosted state still stops at half the machine's
** physical memory: a runaway allocation loop then fails as out-of-memory
** in Lua, where the script and the host see it, instead of waking the
** kernel's OOM killer, which would end the whole host process. */
static size_t machine_ceiling(void) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || size <= 0) return 0;
  return (size_t)pages / 2 * (size_t)size;
}

mt_world *world_newstate(int hosted) {
  pin_libraries();
  mt_world *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->pooled = 1;
  w->ceiling = hosted ? machine_ceiling() : 0;
  lua_State *L = lua_newstate(world_alloc, w);
  if (L == NULL) {
    world_free(w);
    return NULL;
  }
  lua_atpanic(L, panic);
  w->main = L;
  w->track_runner = !hosted; /* a host state runs where it was made */
  w->arm_mask = hosted ? LUA_MASKCOUNT : MT_ARM_MASK;
  world_runner(w);
  if (!world_open(w, L, hosted)) {
    lua_close(L);
    world_free(w);
    return NULL;
  }
  if (hosted) concatguard_probe(w, L); /* needs world->chain: host states only */
  return w;
}

void world_free(mt_world *w) {
  if (w->u != NULL) mt_universe_close(w->u); /* the sentinel always does it; but never leave ids to freed memory */
  pool_destroy(&w->pool);
  free(w->cancel_trace);
  inspect_free(w);
  free(w);
}

void world_detach(mt_world *w, lua_State *L) {
  mt_world **slot;
  mt_getregistry(L, &sentinel_key);
  slot = lua_touserdata(L, -1);
  if (slot != NULL && *slot == w) *slot = NULL;
  lua_pop(L, 1);
  mt_universe_close(w->u);
  w->u = NULL;
  free(w->cancel_trace);
  w->cancel_trace = NULL;
  inspect_free(w);
  if (w->pooled) return; /* the state frees into the pool to the end */
  void *ud;
  if (lua_getallocf(L, &ud) == world_alloc && ud == w) {
    lua_setallocf(L, w->orig_alloc, w->orig_ud);
    free(w);
  }
  /* else someone wrapped our allocator in theirs: it must keep working, so
  ** the (now inert) world stays allocated. */
}
