/*
** The interrupt hook: installed only while something is pending, so a
** state that is never interrupted runs at full speed.
**
** Arming and disarming happen on the owner thread only (see
** csrc/core/kick.c): arming from the kick handler or from mt_process_kicks,
** disarming here, with kicks held (mt_kicks_hold) so that a disarm is
** never split by an arm. The order "disarm, then take the request" loses nothing:
** a request that lands after the take is followed by its own kick, which
** arms again.
**
** PUC Lua keeps a hook per coroutine; LuaJIT one per VM, so there the hook
** fires in whatever coroutine runs and must leave the others alone: while a
** suspended coroutine has a request, the hook keeps looking every
** PROBE_COUNT instructions until that coroutine runs (coro.c arms it
** exactly when it is resumed through coroutine.resume or wrap).
**
** The same C hook carries the script's own debug.sethook hook, which this
** file also implements: a script can neither disable interruption with
** debug.sethook() nor lose its hook to an interrupt. The script's hook
** function is kept where each version's ldblib.c keeps it (see
** push_hooktable), so a debugger that reads the registry finds it; its
** mask and count, which the native hook no longer shows while an
** interrupt is pending, are kept in a registry table of ours keyed by
** thread (one entry for the whole VM on LuaJIT). While an interrupt is
** pending the native count is 1 and the script's count hook is counted
** down here.
*/
#include <stdlib.h>
#include <string.h>

#include "rehook.h"
#include "world.h"

#define PROBE_COUNT 1000

static int handlers_key;  /* registry: weak table thread -> interrupt handler */
static int userhooks_key; /* registry: weak table thread -> {mask, count, left} */

enum { UH_MASK = 1, UH_COUNT, UH_LEFT };

/* Arms L to fire at its next instruction, keeping the script's hook mask.
** From the kick handler too: reads only the state's own hook fields. */
static void arm_now(mt_world *w, lua_State *L) {
  int mask = lua_gethook(L) == mt_hook ? lua_gethookmask(L) : 0;
  lua_sethook(L, mt_hook, mask | w->arm_mask, 1);
}

void hook_arm(void *ctx, void *L) {
  mt_world *w = ctx;
#ifdef MTINT_LUAJIT
  /* The VM's one hook need not fire now for a suspended coroutine: coro.c
  ** arms it as it is resumed, and a probe finds it if C code resumes it.
  ** A finer count already set (for the running coroutine, or the script's
  ** count hook) stays. Suspended: yielded, or not started (status OK and
  ** only its function on the stack); a running coroutine that looks so
  ** to the kick handler is caught by the next probe. */
  if (lua_status(L) == LUA_YIELD || (lua_status(L) == LUA_OK && lua_gettop(L) == 1 && lua_isfunction(L, 1))) {
    int ours = lua_gethook(L) == mt_hook;
    int mask = ours ? lua_gethookmask(L) : 0;
    int count = ours && (mask & LUA_MASKCOUNT) ? lua_gethookcount(L) : PROBE_COUNT;
    if (!ours || (mask & w->arm_mask) != w->arm_mask || count > PROBE_COUNT) /* not probing yet */
      lua_sethook(L, mt_hook, mask | w->arm_mask, count < PROBE_COUNT ? count : PROBE_COUNT);
    return;
  }
#endif
  arm_now(w, L);
}

void hook_arm_resuming(mt_world *w, lua_State *co) {
  mt_kicks_hold(w->u);
  arm_now(w, co);
  mt_kicks_release(w->u);
}

void hook_arm_call(void *ctx) {
  mt_world *w = ctx;
  if (w->main != NULL) hook_arm(w, w->main);
  rehook_cancelled(w, w->main);
#ifndef MTINT_LUAJIT
  int depth = w->chain_depth;
  atomic_signal_fence(memory_order_acquire);
  if (depth > MT_CHAIN_MAX) depth = MT_CHAIN_MAX;
  for (int i = 0; i < depth; i++) {
    hook_arm(w, w->chain[i]);
    rehook_cancelled(w, w->chain[i]);
  }
#endif
}

/* --- registry tables ---------------------------------------------------- */

/* Pushes the weak-keyed registry table at `key`, creating it if asked;
** returns 0 (pushing nothing) when it does not exist. */
static int weak_table(lua_State *L, const void *key, int create) {
  mt_getregistry(L, key);
  if (lua_istable(L, -1)) return 1;
  lua_pop(L, 1);
  if (!create) return 0;
  lua_newtable(L);
  lua_newtable(L);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  mt_setregistry(L, key);
  return 1;
}

/* Pushes the key of L's entries: the thread, or one key for LuaJIT's VM. */
static void push_thread_key(lua_State *L, lua_State *L1) {
#ifdef MTINT_LUAJIT
  (void)L1;
  lua_pushlightuserdata(L, &userhooks_key);
#else
  lua_pushthread(L1);
  if (L1 != L) lua_xmove(L1, L, 1);
#endif
}

/* --- the hook functions, kept as each version's ldblib.c keeps them --------
**   5.4  registry._HOOKKEY, 5.2 registry._HKEY: weak-keyed table thread ->
**        function, its own metatable
**   5.3  the same table under a light userdata key
**   5.1  a table under a light userdata key, keyed by light userdata(thread)
**   LuaJIT  the function itself, under a light userdata key (one per VM)
** The light userdata keys are ours: the stdlib's are static in liblua. */

#if LUA_VERSION_NUM == 504
#define HOOKTABLE_NAME "_HOOKKEY"
#elif LUA_VERSION_NUM == 502
#define HOOKTABLE_NAME "_HKEY"
#else
static int hooktable_key;
#endif

/* Pushes the table that holds the hook functions (LuaJIT: the registry);
** returns 0 and pushes nothing when it does not exist and create is 0. */
static int push_hooktable(lua_State *L, int create) {
#ifdef MTINT_LUAJIT
  (void)create;
  lua_pushvalue(L, LUA_REGISTRYINDEX);
  return 1;
#else
#ifdef HOOKTABLE_NAME
  lua_getfield(L, LUA_REGISTRYINDEX, HOOKTABLE_NAME);
#else
  mt_getregistry(L, &hooktable_key);
#endif
  if (lua_istable(L, -1)) return 1;
  lua_pop(L, 1);
  if (!create) return 0;
  lua_newtable(L);
#if LUA_VERSION_NUM >= 502
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_pushvalue(L, -1);
  lua_setmetatable(L, -2);
#endif
  lua_pushvalue(L, -1);
#ifdef HOOKTABLE_NAME
  lua_setfield(L, LUA_REGISTRYINDEX, HOOKTABLE_NAME);
#else
  mt_setregistry(L, &hooktable_key);
#endif
  return 1;
#endif
}

/* Pushes L1's key in that table. */
static void push_hooktable_key(lua_State *L, lua_State *L1) {
#ifdef MTINT_LUAJIT
  (void)L1;
  lua_pushlightuserdata(L, &hooktable_key);
#elif LUA_VERSION_NUM >= 502
  lua_pushthread(L1);
  if (L1 != L) lua_xmove(L1, L, 1);
#else
  lua_pushlightuserdata(L, L1);
#endif
}

/* Pushes L1's hook function (or whatever the table holds, nil if none). */
static void push_hookfunc(lua_State *L, lua_State *L1) {
  if (!push_hooktable(L, 0)) {
    lua_pushnil(L);
    return;
  }
  push_hooktable_key(L, L1);
  lua_rawget(L, -2);
  lua_remove(L, -2);
}

void hook_sethandler(lua_State *L, int thread, int handler) {
  weak_table(L, &handlers_key, 1);
  lua_pushvalue(L, thread);
  lua_pushvalue(L, handler);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* --- the script's own hook ---------------------------------------------- */

/* Pushes L1's hook record, or returns 0 and pushes nothing. */
static int userhook_push(mt_world *w, lua_State *L, lua_State *L1) {
  if (w->user_hooks == 0 || !weak_table(L, &userhooks_key, 0)) return 0;
  if (L1 != L && !lua_checkstack(L1, 1)) {
    lua_pop(L, 1);
    return 0;
  }
  push_thread_key(L, L1);
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (lua_istable(L, -1)) return 1;
  lua_pop(L, 1);
  return 0;
}

static int record_int(lua_State *L, int field) {
  lua_rawgeti(L, -1, field);
  int v = (int)lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

static void userhook_mask(mt_world *w, lua_State *L, int *mask, int *count) {
  *mask = *count = 0;
  if (userhook_push(w, L, L)) {
    *mask = record_int(L, UH_MASK);
    *count = record_int(L, UH_COUNT);
    lua_pop(L, 1);
  }
}

/* Calls the script's hook for `event`, as ldblib.c's hookf does: the
** function it finds in the hook table now. */
static void userhook_call(lua_State *L, lua_Debug *ar) {
#if LUA_VERSION_NUM >= 502
  static const char *const names[] = {"call", "return", "line", "count", "tail call"};
#else
  static const char *const names[] = {"call", "return", "line", "count", "tail return"};
#endif
  push_hookfunc(L, L);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_pushstring(L, names[ar->event]);
  if (ar->currentline >= 0) mt_pushint(L, ar->currentline);
  else lua_pushnil(L);
  lua_call(L, 2, 0);
}

/* A count event: the script's count hook fires when its own count is
** used up, whatever count the native hook runs at. */
static void userhook_count(mt_world *w, lua_State *L, lua_Debug *ar, int native_count) {
  if (!userhook_push(w, L, L)) return;
  if (record_int(L, UH_MASK) & LUA_MASKCOUNT) {
    int left = record_int(L, UH_LEFT) - (native_count > 0 ? native_count : 1);
    int fire = left <= 0;
    mt_pushint(L, fire ? record_int(L, UH_COUNT) : left);
    lua_rawseti(L, -2, UH_LEFT);
    if (fire) userhook_call(L, ar);
  }
  lua_pop(L, 1);
}

/* --- arming for what is pending ----------------------------------------- */

/* The hook L should have for what is pending and for the script's own. */
static void desired(mt_world *w, lua_State *L, lua_Hook *f, int *mask, int *count) {
  int umask, ucount;
  userhook_mask(w, L, &umask, &ucount);
  *f = mt_hook;
  if (mt_peek(w->u, L) != MT_NONE || atomic_load(mt_inspect_word(w->u)) != 0) { /* inspection: csrc/core/inspect.c */
    *mask = umask | w->arm_mask;
    *count = 1;
#ifdef MTINT_LUAJIT
  } else if (mt_pending_count(w->u) > 0) {
    /* Probing: calls and returns too, so that a coroutine resumed by a
    ** coroutine.resume saved before require "mtint" (which coro.c cannot
    ** see) stops at its first call or return, however short its runs. */
    *mask = umask | w->arm_mask;
    *count = (umask & LUA_MASKCOUNT) && ucount < PROBE_COUNT ? ucount : PROBE_COUNT;
#endif
  } else if (umask != 0) {
    *mask = umask;
    *count = ucount;
  } else {
    *f = NULL;
    *mask = *count = 0;
  }
}

/* Arms or disarms L accordingly. Owner thread, normal code, kicks held:
** the request read here is the one the hook ends up with. */
static void settle(mt_world *w, lua_State *L) {
  lua_Hook f;
  int mask, count;
  desired(w, L, &f, &mask, &count);
  lua_sethook(L, f, mask, count);
}

static void settle_held(mt_world *w, lua_State *L) {
  mt_kicks_hold(w->u);
  settle(w, L);
  mt_kicks_release(w->u);
}

/* settle_held, only when something changes. A kick that lands after the
** comparison arms the hook; leaving it so is right. */
static void settle_if_changed(mt_world *w, lua_State *L) {
  lua_Hook f;
  int mask, count;
  desired(w, L, &f, &mask, &count);
  if (f != lua_gethook(L) || mask != lua_gethookmask(L) || (mask && count != lua_gethookcount(L)))
    settle_held(w, L);
}

/* --- delivering --------------------------------------------------------- */

/* Runs L's handler in place of the error, or raises the rock's error.
** The handler runs protected only to keep hook_depth right; its error
** goes on as it was raised. */
static void deliver(mt_world *w, lua_State *L) {
  if (weak_table(L, &handlers_key, 0)) {
    lua_pushthread(L);
    lua_rawget(L, -2);
    if (lua_isfunction(L, -1)) {
      lua_remove(L, -2);
      w->hook_depth++;
      int status = lua_pcall(L, 0, 0, 0);
      w->hook_depth--;
      if (status != LUA_OK) lua_error(L);
      return;
    }
    lua_pop(L, 2);
  }
  w->raised_seq = mt_call_current(w->u);
  lua_pushliteral(L, ERR_INTERRUPTED);
  lua_error(L);
}

/* A cancelled host call must unwind even through `xpcall(f, handler)`
** whose handler loops: Lua calls a message handler with hooks off when the
** error comes from a hook. It never calls one for an out-of-memory error,
** so the hook makes every allocation fail and raises that; the host call
** reports "interrupted" from the cancellation it recorded, never from the
** message. The hook stays armed, so a pcall in the script cannot swallow
** it for long. */
static int take_trace(lua_State *L) {
  mt_world *w = lua_touserdata(L, 1);
  mt_traceback(L, L, NULL, 1); /* from the function the hook stopped */
  const char *s = lua_tostring(L, -1);
  w->cancel_trace = s ? strdup(s) : NULL;
  return 0;
}

static void cancel_unwind(mt_world *w, lua_State *L) {
  if (w->cancel_trace == NULL) {
    /* Allocations fail once the call is cancelled (world.c): not for this. */
    uint64_t watch = w->watch_seq;
    w->watch_seq = 0;
    if (mt_cpcall(L, take_trace, w) != LUA_OK) lua_pop(L, 1);
    w->watch_seq = watch;
  }
  w->fail_alloc = 1;
  lua_newuserdata(L, 1); /* fails: LUA_ERRMEM */
  lua_pushliteral(L, ERR_INTERRUPTED);
  lua_error(L);
}

static void take_and_deliver(mt_world *w, lua_State *L) {
  mt_kicks_hold(w->u);
  mt_mode m = mt_take(w->u, L);
  settle(w, L);
  mt_kicks_release(w->u);
  if (m != MT_NONE) deliver(w, L);
}

/* What a count event does about interrupts. */
static void interrupts(mt_world *w, lua_State *L) {
  if (mt_call_cancelled(w->u)) cancel_unwind(w, L);
  mt_mode m = mt_peek(w->u, L);
  if (m == MT_ALWAYS) {
#ifdef MTINT_LUAJIT
    if (lua_gethookcount(L) != 1) settle_held(w, L);
#endif
    deliver(w, L);
    return;
  }
  if (m == MT_NONE) {
    settle_if_changed(w, L); /* a request was withdrawn or went elsewhere */
    return;
  }
  take_and_deliver(w, L);
}

int hook_pending(mt_world *w, lua_State *L) {
  return w->u != NULL && (mt_peek(w->u, L) != MT_NONE || mt_call_cancelled(w->u));
}

void hook_check(mt_world *w, lua_State *L) {
  if (mt_call_cancelled(w->u)) cancel_unwind(w, L);
  mt_mode m = mt_peek(w->u, L);
  if (w->hook_depth > 0 || m == MT_NONE) return;
  if (m == MT_ALWAYS) deliver(w, L);
  else take_and_deliver(w, L);
}

void mt_hook(lua_State *L, lua_Debug *ar) {
  mt_world *w = world_of(L);
  if (w == NULL || w->u == NULL) {
    lua_sethook(L, NULL, 0, 0);
    return;
  }
  if (w->track_runner) world_runner(w);
  if (atomic_load_explicit(mt_inspect_word(w->u), memory_order_relaxed) != 0) inspect_run(w, L);
  if (ar->event != LUA_HOOKCOUNT) {
    /* Armed for an interrupt (MT_ARM_MASK, drop-in), a call or return delivers it
    ** as a count event would: inside C-calling compiled loops, and inside
    ** the pcall around a coroutine.resume that returns. */
    if (w->hook_depth == 0 && hook_pending(w, L)) interrupts(w, L);
    /* mtint's own collection after an out-of-memory error (host.c) is not
    ** the script's code: its call is no event of the script's hook, which
    ** could fail it at the limit every time and leave the state full. */
    if (!w->collecting && userhook_push(w, L, L)) {
      int umask = record_int(L, UH_MASK);
      int bit = ar->event == LUA_HOOKLINE ? LUA_MASKLINE : ar->event == LUA_HOOKRET ? LUA_MASKRET : LUA_MASKCALL;
#if LUA_VERSION_NUM < 502
      if (ar->event == LUA_HOOKTAILRET) bit = LUA_MASKRET;
#endif
      if (umask & bit) userhook_call(L, ar);
      lua_pop(L, 1);
    }
    return;
  }
  int native_count = lua_gethookcount(L);
  interrupts(w, L);
  if (!w->collecting) userhook_count(w, L, ar, native_count);
}

/* --- debug.sethook and debug.gethook ------------------------------------ */

static lua_State *hook_thread(lua_State *L, int *arg) {
  if (lua_type(L, 1) == LUA_TTHREAD) {
    *arg = 1;
    return lua_tothread(L, 1);
  }
  *arg = 0;
  return L;
}

static int db_sethook(lua_State *L) {
  mt_world *w = world_of(L);
  int arg, mask = 0, count = 0;
  lua_State *L1 = hook_thread(L, &arg);
  if (lua_isnoneornil(L, arg + 1)) {
    lua_settop(L, arg + 1);
  } else { /* the checks in the order of the version's ldblib.c */
    const char *smask = luaL_checkstring(L, arg + 2);
#if LUA_VERSION_NUM == 501 && !defined(MTINT_LUAJIT)
    count = luaL_optint(L, arg + 3, 0);
    luaL_checktype(L, arg + 1, LUA_TFUNCTION);
#else
    luaL_checktype(L, arg + 1, LUA_TFUNCTION);
    count = (int)luaL_optinteger(L, arg + 3, 0);
#endif
    if (strchr(smask, 'c')) mask |= LUA_MASKCALL;
    if (strchr(smask, 'r')) mask |= LUA_MASKRET;
    if (strchr(smask, 'l')) mask |= LUA_MASKLINE;
    if (count > 0) mask |= LUA_MASKCOUNT;
  }
  if (w == NULL || w->u == NULL) return luaL_error(L, "debug.sethook: this Lua state is closing");
  if (L1 != L && !lua_checkstack(L1, 1)) return luaL_error(L, "stack overflow");
  push_hooktable(L, 1);
  push_hooktable_key(L, L1);
  lua_pushvalue(L, arg + 1); /* kept even when the mask is empty, as stock */
  lua_rawset(L, -3);
  lua_pop(L, 1);
  weak_table(L, &userhooks_key, 1);
  push_thread_key(L, L1);
  if (mask == 0) {
    lua_pushnil(L);
  } else {
    lua_createtable(L, 3, 0);
    mt_pushint(L, mask);
    lua_rawseti(L, -2, UH_MASK);
    mt_pushint(L, count);
    lua_rawseti(L, -2, UH_COUNT);
    mt_pushint(L, count);
    lua_rawseti(L, -2, UH_LEFT);
  }
  lua_rawset(L, -3);
  lua_pop(L, 1);
  w->user_hooks = 1; /* tables exist from now on: look them up */
  settle_held(w, L1);
  return 0;
}

static void push_mask(lua_State *L, int mask) {
  char smask[4];
  int n = 0;
  if (mask & LUA_MASKCALL) smask[n++] = 'c';
  if (mask & LUA_MASKRET) smask[n++] = 'r';
  if (mask & LUA_MASKLINE) smask[n++] = 'l';
  lua_pushlstring(L, smask, (size_t)n);
}

/* What the version's debug.gethook returns for the script's hook, as if
** the native hook were the script's alone. */
static int db_gethook(lua_State *L) {
  mt_world *w = world_of(L);
  int arg;
#ifdef MTINT_LUAJIT
  lua_State *L1 = L; /* LuaJIT's takes no thread: one hook per VM */
  (void)arg;
#else
  lua_State *L1 = hook_thread(L, &arg);
#endif
  lua_Hook hook = lua_gethook(L1);
  if (hook != NULL && hook != mt_hook) {
    lua_pushliteral(L, "external hook");
    push_mask(L, lua_gethookmask(L1));
    mt_pushint(L, lua_gethookcount(L1));
    return 3;
  }
  if (L1 != L && !lua_checkstack(L1, 1)) return luaL_error(L, "stack overflow");
  int mask = 0, count = 0;
  if (w != NULL && userhook_push(w, L, L1)) {
    mask = record_int(L, UH_MASK);
    count = record_int(L, UH_COUNT);
    lua_pop(L, 1);
  }
#if LUA_VERSION_NUM >= 503 && !defined(MTINT_LUAJIT)
  if (mask == 0) { /* no hook */
    lua_pushnil(L);
#if LUA_VERSION_NUM >= 504
    return 1;
#else
    lua_pushliteral(L, "");
    mt_pushint(L, 0);
    return 3;
#endif
  }
#endif
  push_hookfunc(L, L1);
  push_mask(L, mask);
  mt_pushint(L, count);
  return 3;
}

void hook_install_debug(lua_State *L) {
  lua_getglobal(L, "debug");
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "sethook");
    int present = lua_isfunction(L, -1);
    lua_pop(L, 1);
    if (present) {
      lua_pushcfunction(L, db_sethook);
      lua_setfield(L, -2, "sethook");
      lua_pushcfunction(L, db_gethook);
      lua_setfield(L, -2, "gethook");
    }
  }
  lua_pop(L, 1);
}
