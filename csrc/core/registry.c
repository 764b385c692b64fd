/*
** The registry: slots, ids, interrupt requests and per-call cancellation.
**
** Who touches what:
** - slot->word: any thread, always by atomic compare-and-swap.
** - slot->L, slot->u: written by the owner before the id is published in
**   `word` (release), read by interrupters and the signal handler after
**   they have seen the id (acquire). Constant until the slot is retired.
** - slot->gen, slot->link (free list), slots_fresh, slots_free: slots_lock.
** - chunks[]: written once under slots_lock, read lock-free (acquire).
** Slots live in chunks that are never freed, so a stale id never leads to
** freed memory: the worst it can do is fail the id comparison.
*/
#include <sched.h>
#include <stdlib.h>

#include "internal.h"

static _Atomic(mt_slot *) chunks[MAX_CHUNKS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t slots_fresh;          /* next never-used index */
static uint32_t slots_free = NO_SLOT; /* free list through slot->link */
static _Atomic uint64_t live_ids;

mt_slot *slot_at(uint32_t index) {
  if (index > SLOT_MASK) return NULL;
  mt_slot *chunk = atomic_load_explicit(&chunks[index >> CHUNK_BITS], memory_order_acquire);
  return chunk ? &chunk[index & (SLOTS_PER_CHUNK - 1)] : NULL;
}

/* Takes a slot off the free list (or a fresh one) and stamps its next id.
** Slots whose generations are used up are retired for good, so that no id
** is ever issued twice. */
static uint32_t slot_alloc(uint64_t *id) {
  pthread_mutex_lock(&slots_lock);
  uint32_t index = NO_SLOT;
  mt_slot *s = NULL;
  while (slots_free != NO_SLOT) {
    index = slots_free;
    s = slot_at(index);
    slots_free = s->link;
    if (s->gen < GEN_LIMIT) break;
    index = NO_SLOT; /* exhausted: leave it out of circulation */
  }
  if (index == NO_SLOT && slots_fresh <= SLOT_MASK) {
    index = slots_fresh;
    uint32_t c = index >> CHUNK_BITS;
    if (atomic_load_explicit(&chunks[c], memory_order_relaxed) == NULL) {
      mt_slot *chunk = calloc(SLOTS_PER_CHUNK, sizeof *chunk);
      if (chunk == NULL) {
        pthread_mutex_unlock(&slots_lock);
        return NO_SLOT;
      }
      for (uint32_t i = 0; i < SLOTS_PER_CHUNK; i++) chunk[i].gen = GEN_FIRST;
      atomic_store_explicit(&chunks[c], chunk, memory_order_release);
    }
    slots_fresh++;
    s = slot_at(index);
  }
  if (index != NO_SLOT) {
    /* The one internal value that encodes to 0 is not an id: skip it,
    ** unless that used up the slot's generations. */
    *id = id_encode(((uint64_t)s->gen++ << SLOT_BITS) | index);
    if (*id == 0) *id = s->gen < GEN_LIMIT ? id_encode(((uint64_t)s->gen++ << SLOT_BITS) | index) : 0;
    if (*id == 0) index = NO_SLOT; /* the slot stays out of circulation */
  }
  pthread_mutex_unlock(&slots_lock);
  return index;
}

static void slot_free(uint32_t index) {
  pthread_mutex_lock(&slots_lock);
  slot_at(index)->link = slots_free;
  slots_free = index;
  pthread_mutex_unlock(&slots_lock);
}

/*
** Interrupters hold a slot's LOCK bit while they use its universe (push a
** kick, wake the mailbox, send the signal). The owner retires a slot only
** after LOCK clears, and a universe is torn down only after all its slots
** are retired, so a LOCK holder always sees a live universe whose owner
** thread has not exited.
*/

/* Stands in for a slot that does not exist, so that a lookup does the same
** work for every id (word 0 matches no id, tenant 0 no scope). */
static mt_slot no_slot;

static mt_slot *slot_of_id(uint64_t id, uint32_t *index) {
  uint64_t value = id_decode(id & (MT_ID_LIMIT - 1));
  *index = (uint32_t)(value & SLOT_MASK);
  mt_slot *s = slot_at(*index);
  return s ? s : &no_slot;
}

/* Whether Lua code of `from` may reach `tenant`. Walks every grant, so
** the time does not depend on which one matched, or on none. */
int scope_reaches(const mt_universe *from, uint64_t tenant) {
  if (from == NULL) return 1; /* the host */
  int ok = from->reach_all | (tenant == from->tenant);
  for (uint32_t i = 0; i < from->ngrants; i++) ok |= from->grants[i] == tenant;
  return ok & (tenant != 0);
}

/*
** An id outside the scope of `from` must be indistinguishable from one
** that was never issued: both decode, load a slot (no_slot when there is
** none), compare, check the scope, and only then branch. The tenant is read
** before the lock: if the slot is being reused meanwhile, the tenant may be
** the next registration's, but then the id no longer matches under the
** lock (ids are never reused), so the answer is "unknown" either way.
*/
uint64_t slot_reach(const mt_universe *from, uint64_t id) {
  uint32_t index;
  mt_slot *s = slot_of_id(id, &index);
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  uint64_t tenant = atomic_load_explicit(&s->tenant, memory_order_relaxed);
  int ok = (word_id(w) == id) & (id - 1 < MT_ID_LIMIT - 1) & scope_reaches(from, tenant);
  return ok ? tenant : 0;
}

/* Sets slot s's LOCK bit while it still holds `id` (word `w` as last read),
** spinning while another holder has it; MT_FULL after `spins` tries
** (negative: no bound). */
static int acquire(mt_slot *s, uint64_t id, uint64_t w, int spins, mt_slot **out) {
  for (; spins != 0; spins -= spins > 0) {
    if (word_id(w) != id) return MT_UNKNOWN;
    if (w & W_LOCK) {
      cpu_relax();
      w = atomic_load(&s->word);
    } else if (atomic_compare_exchange_weak(&s->word, &w, w | W_LOCK)) {
      *out = s;
      return MT_OK;
    }
  }
  return MT_FULL;
}

int slot_lock(const mt_universe *from, uint64_t id, mt_slot **out, uint32_t *index) {
  mt_slot *s = slot_of_id(id, index);
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  uint64_t tenant = atomic_load_explicit(&s->tenant, memory_order_relaxed);
  int ok = (word_id(w) == id) & (id - 1 < MT_ID_LIMIT - 1) & scope_reaches(from, tenant);
  if (!ok) return MT_UNKNOWN;
  return acquire(s, id, w, -1, out);
}

int slot_trylock(uint64_t id, mt_slot **out) {
  uint32_t index;
  mt_slot *s = slot_of_id(id, &index);
  uint64_t w = atomic_load(&s->word);
  if (id - 1 >= MT_ID_LIMIT - 1) return MT_UNKNOWN;
  return acquire(s, id, w, 4096, out);
}

void slot_unlock(mt_slot *s) { atomic_fetch_and(&s->word, ~(uint64_t)W_LOCK); }

/* Unregisters slot `index` of `u`. Owner thread. With `process` set, kicks
** that were queued behind this slot are armed; the universe's teardown
** passes 0 and drops them. */
void slot_retire(mt_universe *u, uint32_t index, int process) {
  mt_slot *s = slot_at(index);
  uint64_t w = atomic_load(&s->word);
  for (;;) {
    if (w & W_LOCK) {
      cpu_relax();
      w = atomic_load(&s->word);
    } else if (atomic_compare_exchange_weak(&s->word, &w, 0)) {
      break;
    }
  }
  if (w & W_MODE) atomic_fetch_sub(&u->pending, 1);
  /* A kicked slot sits on the kick stack; empty the stack so that the slot
  ** can be reused. Taking the stack skips slots whose id is gone. */
  if (w & W_KICKED) {
    if (process) {
      mt_process_kicks(u);
    } else {
      atomic_store(&u->kick_head, NO_SLOT);
    }
  }
  slot_free(index);
  atomic_fetch_sub(&live_ids, 1);
}

uint64_t mt_id_of(mt_universe *u, void *L, int create) {
  uint32_t index = idmap_get(&u->map, L);
  if (index != NO_SLOT) return word_id(atomic_load_explicit(&slot_at(index)->word, memory_order_relaxed));
  if (!create) return 0;
  uint64_t id;
  index = slot_alloc(&id);
  if (index == NO_SLOT) return 0;
  if (!idmap_put(&u->map, L, index)) {
    slot_free(index);
    return 0;
  }
  mt_slot *s = slot_at(index);
  s->L = L;
  s->u = u;
  atomic_store_explicit(&s->tenant, u->tenant, memory_order_relaxed);
  atomic_store_explicit(&s->word, id << W_ID_SHIFT, memory_order_release);
  atomic_fetch_add(&live_ids, 1);
  return id;
}

int mt_forget(mt_universe *u, void *L) {
  uint32_t index = idmap_remove(&u->map, L);
  if (index == NO_SLOT) return 0;
  slot_retire(u, index, 1);
  return 1;
}

mt_mode mt_peek(mt_universe *u, void *L) {
  uint32_t index = idmap_get(&u->map, L);
  if (index == NO_SLOT) return MT_NONE;
  return (mt_mode)(atomic_load(&slot_at(index)->word) & W_MODE);
}

mt_mode mt_take(mt_universe *u, void *L) {
  uint32_t index = idmap_get(&u->map, L);
  if (index == NO_SLOT) return MT_NONE;
  mt_slot *s = slot_at(index);
  uint64_t w = atomic_load(&s->word);
  do {
    if ((w & W_MODE) != MT_ONCE) return (mt_mode)(w & W_MODE);
  } while (!atomic_compare_exchange_weak(&s->word, &w, w & ~(uint64_t)W_MODE));
  atomic_fetch_sub(&u->pending, 1);
  return MT_ONCE;
}

uint32_t mt_pending_count(mt_universe *u) {
  int32_t n = atomic_load(&u->pending);
  return n > 0 ? (uint32_t)n : 0;
}

int mt_interrupt(uint64_t id, mt_mode mode, mt_mode *was) { return mt_interrupt_from(NULL, id, mode, was); }

/* Long enough for a thread blocked in a wait to be scheduled on a loaded
** machine (measured: up to 36 ms at load 23 on 2 cores; ~10 us quiet). */
#define KICK_WAIT_NS 20000000u

/* The rock arms the target before interrupt() returns (lua_sethook from
** the interrupting thread), and scripts rely on the order: interrupt, then
** send a message, and the target's blocking receive raises before it takes
** the message (mtmsg's nextmsg calls back into Lua, where the armed call
** hook stops it; the message stays in the buffer). Direct arming keeps
** that order by itself; a signal (LuaJIT) arms in the target's handler,
** after the interrupter returned, so the interrupter waits for it. Done
** when the owner took the kick (KICKED cleared, or the slot changed
** hands); when two handlers finished since before the push without
** taking it (the first may have started before the push; one that drops
** it could not prove it runs the state, and the watchdog re-sends); or
** after KICK_WAIT_NS (a descheduled target). Drop-in universes only: a
** host (JavaScript) must never block that long, and its calls and
** messages go through mtint, which sees pending requests. Without locks: the slot and
** the universe outlive any id (their memory is never freed). */
static void kick_wait(mt_universe *u, uint32_t index, uint64_t wid, uint32_t handled) {
  mt_slot *s = slot_at(index);
  uint64_t deadline = 0;
  /* A short spin, then yields: on a busy machine the target may be
  ** waiting for this very core. */
  for (int spins = 0;; spins++) {
    uint64_t w = atomic_load(&s->word);
    if (word_id(w) != wid || !(w & W_KICKED)) return;
    if (atomic_load(&u->kicks_handled) - handled >= 2) return;
    if (spins < 16) {
      cpu_relax();
      continue;
    }
    uint64_t now = mt_now_ns();
    if (deadline == 0) deadline = now + KICK_WAIT_NS;
    else if (now > deadline) return;
    sched_yield();
  }
}

int mt_interrupt_from(const mt_universe *from, uint64_t id, mt_mode mode, mt_mode *was) {
  mt_slot *s;
  uint32_t index;
  if (slot_lock(from, id, &s, &index) != MT_OK) return MT_UNKNOWN;
  mt_universe *u = s->u;
  int arming = atomic_load_explicit(&u->arming, memory_order_relaxed);
  uint32_t handled = atomic_load(&u->kicks_handled); /* before the push: kick_wait */
  /* The owner may clear ONCE and the handler KICKED meanwhile: loop. */
  uint64_t w = atomic_load(&s->word), nw;
  int push, signalling = 0, wake_watchdog = 0;
  do {
    nw = (w & ~(uint64_t)W_MODE) | (uint64_t)mode;
    push = mode != MT_NONE && arming != MT_ARM_DIRECT && !(w & W_KICKED);
    if (push) nw |= W_KICKED;
  } while (!atomic_compare_exchange_weak(&s->word, &w, nw));
  mt_mode before = (mt_mode)(w & W_MODE);
  if (was) *was = before;
  if (before == MT_NONE && mode != MT_NONE) atomic_fetch_add(&u->pending, 1);
  if (before != MT_NONE && mode == MT_NONE) atomic_fetch_sub(&u->pending, 1);
  if (mode != MT_NONE) {
    /* The request is in the slot before the arm (seq_cst above): the
    ** owner reads requests under the arm lock, so either it sees this one
    ** or its disarm is ordered before this arm (kick.c). */
    if (arming != MT_ARM_SIGNAL) {
      kick_direct(u, s->L);
      atomic_store(&u->rearm_id, id);
    }
    if (push) kick_push(u, index);
    mailbox_wake(u);
    if (arming != MT_ARM_DIRECT) signalling = kick(u);
    wake_watchdog = rearm_schedule(u);
  }
  slot_unlock(s);
  /* The signal after the unlock: a drop-in's handler takes the main slot's
  ** lock to prove that it runs the state (kick.c) and gives up after a
  ** bounded spin, so an interrupter preempted while holding it (a loaded
  ** machine) made the kick wait for the watchdog's re-send, ms later.
  ** The watchdog is woken after the signal (rearm_schedule says why) and
  ** before kick_wait, whose wait its re-send may end. */
  int signalled = signalling && kick_signal(u);
  if (wake_watchdog) rearm_wake();
  if (signalled && arming == MT_ARM_SIGNAL && !atomic_load_explicit(&u->hosted, memory_order_relaxed))
    kick_wait(u, index, word_id(nw), handled);
  return MT_OK;
}

/*
** Per-call cancellation. call_seq and cancel_seq are sequentially
** consistent on both sides (Dekker): mt_call_begin stores call_seq, then
** reads cancel_seq; mt_interrupt_call stores cancel_seq, then reads
** call_seq. At least one of them sees the other, so a cancellation is
** either seen at the start of the call or kicks the running call. A
** cancellation names its call's seq, which no later call shares.
*/
/* The CPU seqlock's writer side: the owner only. */
static void cpu_account(mt_universe *u, uint64_t done, uint64_t start) {
  atomic_fetch_add(&u->cpu_seq, 1);
  atomic_store(&u->cpu_done_ns, done);
  atomic_store(&u->cpu_start_ns, start);
  atomic_fetch_add(&u->cpu_seq, 1);
}

int mt_call_begin(mt_universe *u, uint64_t seq) {
  uint64_t now = cpuclock_self_ns();
  cpu_account(u, atomic_load(&u->cpu_done_ns), now ? now : 1);
  atomic_store(&u->call_seq, seq);
  if (atomic_load(&u->cancel_seq) == seq) return 0;
  mt_process_kicks(u);
  return 1;
}

void mt_call_end(mt_universe *u) {
  mt_deadline_clear(u);
  atomic_store(&u->call_seq, 0);
  atomic_store(&u->call_kicked, 0);
  uint64_t start = atomic_load(&u->cpu_start_ns), now = cpuclock_self_ns();
  cpu_account(u, atomic_load(&u->cpu_done_ns) + (now > start ? now - start : 0), 0);
}

/* Reads (done, start) consistently; with the owner's clock for the running part. */
static uint64_t cpu_read(mt_universe *u, uint64_t *done) {
  uint32_t before, after;
  uint64_t start;
  do {
    before = atomic_load(&u->cpu_seq);
    *done = atomic_load(&u->cpu_done_ns);
    start = atomic_load(&u->cpu_start_ns);
    after = atomic_load(&u->cpu_seq);
  } while ((before & 1) || before != after);
  if (start == 0) return 0;
  uint64_t now = cpuclock_ns(atomic_load(&u->owner_clock));
  return now > start ? now - start : 0;
}

uint64_t call_cpu_ns(mt_universe *u) {
  uint64_t done;
  return cpu_read(u, &done);
}

uint64_t mt_cpu_ns(mt_universe *u) {
  uint64_t done;
  uint64_t running = cpu_read(u, &done);
  return done + running;
}

mt_cause mt_call_cause(mt_universe *u) { return (mt_cause)atomic_load(&u->cancel_cause); }

const _Atomic uint64_t *mt_cancel_word(mt_universe *u) { return &u->cancel_seq; }

uint64_t mt_call_current(mt_universe *u) { return atomic_load(&u->call_seq); }

int mt_call_cancelled(mt_universe *u) {
  uint64_t seq = atomic_load(&u->call_seq);
  return seq != 0 && atomic_load(&u->cancel_seq) == seq;
}

int mt_interrupt_call(uint64_t id, uint64_t seq) { return interrupt_call_because(id, seq, MT_CAUSE_HOST); }

int interrupt_call_because(uint64_t id, uint64_t seq, mt_cause cause) {
  mt_slot *s;
  uint32_t index;
  if (seq == 0 || slot_lock(NULL, id, &s, &index) != MT_OK) return MT_UNKNOWN;
  mt_universe *u = s->u;
  if (u->main_id != id) {
    slot_unlock(s);
    return MT_UNKNOWN;
  }
  uint64_t cur = atomic_load(&u->cancel_seq);
  /* The cause goes first: whoever sees the cancellation sees why. A
  ** repeated cancellation (the re-kicks) keeps the first one's cause. */
  if (cur < seq) atomic_store(&u->cancel_cause, cause);
  while (cur < seq && !atomic_compare_exchange_weak(&u->cancel_seq, &cur, seq)) {
  }
  mailbox_wake(u);
  if (atomic_load(&u->call_seq) == seq) {
    if (atomic_load_explicit(&u->arming, memory_order_relaxed) != MT_ARM_SIGNAL) kick_direct(u, s->L);
    atomic_store(&u->call_kicked, 1);
    if (kick(u)) kick_signal(u);
    /* Kicked again every few ms until the call ends (watchdog.c). */
    mt_deadline_set(u, seq, mt_now_ns() + 5000000u, 0);
  }
  slot_unlock(s);
  return MT_OK;
}

int mt_id_known(uint64_t id) { return slot_reach(NULL, id) != 0; }

int mt_id_known_from(const mt_universe *from, uint64_t id) { return slot_reach(from, id) != 0; }

uint64_t mt_live_ids(void) { return atomic_load(&live_ids); }
