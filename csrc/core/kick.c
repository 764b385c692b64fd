/*
** Kicks: how a request made on one thread reaches the thread that runs the
** target universe.
**
** Two ways, chosen per universe (mt_universe_arming):
**
** - Direct (Lua 5.1 to 5.3, and 5.4 as a first step): the interrupter
**   stores the target's hook fields itself, as the rock does, but without
**   lua_sethook (5.2 and 5.3 read L->ci in it, 5.4 walks the frames): only
**   hook, basehookcount, hookcount, hookmask, the fields the Lua authors
**   made safe to set asynchronously (5.3/5.4 declare them volatile and
**   sig_atomic_t). The proof is in csrc/lua/hookfields.c. The target may
**   run on any thread, so a state that moved needs nothing from its new
**   thread. Ordering with the owner's own hook changes, through the
**   universe's arm lock:
**     interrupter: request into the slot (seq_cst); lock; store; unlock.
**     owner (mt_kicks_hold .. release): lock; read requests; lua_sethook;
**       unlock.
**   If the owner locks first, the interrupter's store lands after the
**   owner's disarm; if the interrupter locks first, its request is visible
**   to the owner's read (it precedes the interrupter's unlock). So a
**   disarm of ours never undoes an arm it has not seen the request of.
**   The VM's own decrement of hookcount can undo a store of 1 when a count
**   hook was already set; that hook then fires within its count, and the
**   watchdog re-arms the last id stored directly (rearm_id) meanwhile.
** - Signals (LuaJIT; 5.4 for its frame traps), as below.
**
** Why a signal, and not lua_sethook from the interrupting thread as the
** rock does: lua_sethook is not safe against a concurrently running state.
** On 5.4 it walks the target's CallInfo list and writes `trap` into each
** Lua frame, while the target frees and reuses those frames; a trap store
** delayed by preemption can land in a frame that became a C frame and
** corrupt its saved error-function offset. On LuaJIT it does plain
** read-modify-writes of the VM's hook mask, which shares a byte with the
** VM's own "hook active" bit. On 5.2/5.3 it reads the current CallInfo,
** which the target may have freed. On the owner thread, inside a signal
** handler, lua_sethook runs between two instructions of the target, which
** is how lua.c and luajit.c stop a script on Ctrl-C: the one cross-context
** hook change that every Lua implementation is written to tolerate.
**
** The cost is latency: a signal to another CPU takes ~10 us on this kind of
** VM against ~2 us for a plain store (see bench/). Idle hosted universes
** need no signal at all: mt_call_begin arms their kicks.
**
** Protocol (one signal in flight per universe):
**   interrupter, holding the slot's LOCK bit:
**     1. sets the mode and KICKED in the slot word (one CAS);
**     2. if it set KICKED, pushes the slot on u->kick_head;
**   then, after unlocking (the handler may need that lock, runner.c):
**     3. if signal_pending was 0, sets it and sends the signal.
**   owner (handler or normal code), mt_process_kicks:
**     a. clears signal_pending (handler only);
**     b. takes the whole stack (exchange with NO_SLOT);
**     c. for each slot: reads its link, clears KICKED if the id is still
**        there (CAS), and arms its lua_State.
** All of these are sequentially consistent, so an interrupter that finds
** signal_pending set pushed before the handler's step (a) and the
** handler's step (b) sees its slot. The stack only ever has pushes and
** take-all, which makes it immune to ABA.
**
** Two windows of a few instructions remain in which the owner thread itself
** undoes an arm (LuaJIT's read-modify-writes of its hook mask, Lua 5.4's
** luaG_traceexec clearing a trap): the watchdog re-arms a universe while
** it has requests pending, so they cost a delay, not an interrupt
** (watchdog.c).
**
** The signal itself is behind kick_signal.h, one file per platform: how
** it names the universe and finds the owner thread differs (Linux: the
** universe's handle as payload of rt_tgsigqueueinfo; elsewhere: a pending
** word per thread and pthread_kill), each with its own argument beside it.
** What both guarantee to the protocol above: a signal sent after step 3
** runs kick_received (steps a to c) on the thread it was sent to, after
** the send, unless that thread is gone, in which case signal_pending is
** cleared anyway; an early or duplicate kick_received is harmless.
**
** The handler touches no lock and no malloc. It validates the universe
** by generation (universes are never freed) and checks that it runs on
** the owner thread; a signal that arrives late, or at a thread that has
** since stopped owning the universe, is dropped, and the new owner arms
** the pending kicks in mt_universe_adopt.
**
** Nested arming: the handler can interrupt the owner's own lua_sethook on
** the same state. Two "arm" calls write the same values, so nesting them
** is harmless; an owner's "disarm" must not be split by an arm, so the
** owner holds kicks around every lua_sethook it makes outside the handler
** (mt_kicks_hold): the handler then only notes that it was deferred, and
** mt_kicks_release runs the kicks. `holding` and `deferred` are touched by
** one thread and its signal handler only, hence volatile sig_atomic_t.
*/
#include <sched.h>

#include "internal.h"
#include "kick_signal.h"
#include "thread_self.h"

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

void kick_push(mt_universe *u, uint32_t index) {
  mt_slot *s = slot_at(index);
  uint32_t head = atomic_load(&u->kick_head);
  do {
    s->link = head;
  } while (!atomic_compare_exchange_weak(&u->kick_head, &head, index));
}

void mt_process_kicks(mt_universe *u) {
  int call = atomic_exchange(&u->call_kicked, 0);
  if (atomic_exchange(&u->rearm, 0) | call) u->ops->arm_call(u->ctx);
  uint32_t index = atomic_exchange(&u->kick_head, NO_SLOT);
  while (index != NO_SLOT) {
    mt_slot *s = slot_at(index);
    uint32_t next = s->link; /* before KICKED clears: then it may be re-pushed */
    uint64_t w = atomic_load(&s->word);
    while (word_id(w) != 0 && (w & W_KICKED)) {
      if (atomic_compare_exchange_weak(&s->word, &w, w & ~(uint64_t)W_KICKED)) {
        u->ops->arm(u->ctx, s->L);
        break;
      }
    }
    index = next;
  }
}

/* The recorded owner is where the state last allocated or hooked; a
** drop-in state may have moved since to a thread that did neither yet.
** So the version library checks, from the state itself, that this thread
** runs it (runs_here); the main slot's lock keeps the main state alive
** meanwhile. A lock held for long (by this very thread, interrupting its
** own main state) drops the kick: the watchdog's re-arm resends it. */
static int owner_proven(mt_universe *u) {
  if (u->ops->runs_here == NULL || u->main_id == 0) return 1; /* main unknown (5.1, LuaJIT: required in a coroutine): the record as before */
  mt_slot *s;
  if (slot_trylock(u->main_id, &s) != MT_OK) return 0;
  int here = s->u == u && u->ops->runs_here(u->ctx, s->L);
  slot_unlock(s);
  return here;
}

void kick_received(mt_universe *u) {
  atomic_store(&u->signal_pending, 0);
  if (atomic_load(&u->owner_thread) == (unsigned long)pthread_self() && owner_proven(u)) {
    if (u->holding) u->deferred = 1;
    else mt_process_kicks(u);
  }
  atomic_fetch_add(&u->kicks_handled, 1);
}

void kick_init_once(void) { pthread_once(&kick_once, kick_signal_setup); }

static void arm_lock(mt_universe *u) {
  for (int spins = 0; atomic_exchange_explicit(&u->arm_lock, 1, memory_order_acquire); spins++) {
    if (spins < 64) cpu_relax();
    else sched_yield(); /* the holder was preempted */
  }
}

static void arm_unlock(mt_universe *u) { atomic_store_explicit(&u->arm_lock, 0, memory_order_release); }

void kick_direct(mt_universe *u, void *L) {
  arm_lock(u);
  u->ops->arm_direct(u->ctx, L);
  arm_unlock(u);
}

/* `holding` before the lock: a handler on this thread never waits for a
** lock its own thread holds (it defers instead). */
void mt_kicks_hold(mt_universe *u) {
  u->holding = 1;
  atomic_signal_fence(memory_order_seq_cst);
  arm_lock(u);
}

void mt_kicks_release(mt_universe *u) {
  arm_unlock(u);
  atomic_signal_fence(memory_order_seq_cst);
  u->holding = 0;
  atomic_signal_fence(memory_order_seq_cst);
  /* A handler that runs from here on sees holding == 0 and arms by itself;
  ** one that ran before left `deferred`. Running kicks twice is harmless. */
  if (u->deferred) {
    u->deferred = 0;
    mt_process_kicks(u);
  }
}

/* 1 when a signal is on its way (sent now or earlier). */
static int send_kick(mt_universe *u, uint64_t handle) {
  if (atomic_exchange(&u->signal_pending, 1)) return 1;
  if (kick_signal_send(u, handle)) return 1;
  atomic_store(&u->signal_pending, 0); /* nothing sent: the next kick retries */
  return 0;
}

/* Called with a slot of `u` locked, so the state is alive. */
int kick(mt_universe *u) {
  if (atomic_load_explicit(&u->hosted, memory_order_relaxed) && atomic_load(&u->call_seq) == 0) return 0; /* mt_call_begin arms */
  if (atomic_load(&u->owner_tid) == mt_tid()) { /* the owner interrupts its own universe */
    mt_process_kicks(u);
    return 0;
  }
  return 1;
}

/* After kick() returned 1, with or without the slot lock: a signal that
** reaches a thread that has gone (the call fails; kick_signal_posix.c
** never sends to one) or stopped owning `u`, or a `u` closed or reused
** meanwhile, is dropped by the handler's checks. */
int kick_signal(mt_universe *u) { return send_kick(u, universe_handle(u)); }

/* From the watchdog, without a slot lock: `u` may have closed since it
** checked `handle`, and the owner thread may be gone. A signal to a thread
** that no longer exists fails; one that reaches a reused thread id, or the
** owner after the universe closed, is dropped by the handler's checks; a
** `rearm` flag left on a reused universe costs one spurious arm_call. */
void kick_rearm(mt_universe *u, uint64_t handle) {
  int arming = atomic_load_explicit(&u->arming, memory_order_relaxed);
  if (arming != MT_ARM_SIGNAL) {
    /* The slot lock proves the id is alive, hence its universe (= u, if
    ** the slot says so) and its lua_State. */
    mt_slot *s;
    uint32_t index;
    if (slot_lock(NULL, atomic_load(&u->rearm_id), &s, &index) == MT_OK) {
      if (s->u == u && (atomic_load(&s->word) & W_MODE)) kick_direct(u, s->L);
      slot_unlock(s);
    }
    if (arming == MT_ARM_DIRECT) return;
  }
  if (atomic_load_explicit(&u->hosted, memory_order_relaxed) && atomic_load(&u->call_seq) == 0) return; /* idle: nothing runs that could undo an arm */
  atomic_store(&u->rearm, 1);
  send_kick(u, handle);
}
