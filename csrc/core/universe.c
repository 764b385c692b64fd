/*
** Universes: one per Lua main state, with its coroutines. Universe memory
** is never freed, only reused, so the signal handler and the watchdog can
** validate a handle (index + generation) without a lock.
**
** Fields written once at open (ops, ctx, main_id, main_slot) are
** published to other threads by the release store of the main slot's id;
** universes_lock guards the table and the free list.
*/
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kick_signal.h"
#include "thread_self.h"

#define MAX_UNIVERSES (1u << 16)

static _Atomic(mt_universe *) universes[MAX_UNIVERSES];
static pthread_mutex_t universes_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t universes_fresh;
static uint32_t universes_free = NO_SLOT;
static _Atomic uint64_t live_universes;
static _Atomic uint64_t tenants_issued;

uint64_t universe_handle(const mt_universe *u) {
  return ((uint64_t)atomic_load(&((mt_universe *)u)->gen) << 32) | u->index;
}

mt_universe *universe_from_handle(uint64_t handle) {
  uint32_t index = (uint32_t)handle;
  if (index >= MAX_UNIVERSES) return NULL;
  mt_universe *u = atomic_load(&universes[index]);
  if (u == NULL) return NULL;
  uint32_t gen = atomic_load(&u->gen);
  return (gen & 1) && gen == (uint32_t)(handle >> 32) ? u : NULL;
}

mt_universe *universe_at(uint32_t index) { return index < MAX_UNIVERSES ? atomic_load(&universes[index]) : NULL; }

static mt_universe *universe_alloc(void) {
  pthread_mutex_lock(&universes_lock);
  mt_universe *u = NULL;
  if (universes_free != NO_SLOT) {
    u = atomic_load(&universes[universes_free]);
    universes_free = u->next_free;
  } else if (universes_fresh < MAX_UNIVERSES) {
    u = calloc(1, sizeof *u);
    if (u != NULL) {
      u->index = universes_fresh++;
      atomic_store(&universes[u->index], u);
    }
  }
  pthread_mutex_unlock(&universes_lock);
  return u;
}

mt_universe *mt_universe_open(const mt_ops *ops, void *ctx, void *main_L, int hosted) {
  kick_init_once();
  mt_universe *u = universe_alloc();
  if (u == NULL) return NULL;
  u->ops = ops;
  u->ctx = ctx;
  atomic_store_explicit(&u->hosted, hosted, memory_order_relaxed);
  u->map = (mt_idmap){0};
  u->meter = NULL;
  atomic_store(&u->kick_head, NO_SLOT);
  atomic_store(&u->signal_pending, 0);
  atomic_store(&u->call_kicked, 0);
  atomic_store(&u->rearm, 0);
  atomic_store(&u->call_seq, 0);
  atomic_store(&u->resuming, 0);
  atomic_store(&u->cancel_seq, 0);
  atomic_store(&u->pending, 0);
  atomic_store(&u->arming, MT_ARM_SIGNAL);
  atomic_store(&u->arm_lock, 0);
  atomic_store(&u->rearm_id, 0);
  atomic_store(&u->cancel_cause, MT_CAUSE_HOST);
  atomic_store(&u->owner_clock, cpuclock_self());
  atomic_store(&u->cpu_done_ns, 0);
  atomic_store(&u->cpu_start_ns, 0);
  atomic_store(&u->owner_tid, mt_tid());
  atomic_store(&u->owner_thread, (unsigned long)pthread_self());
  u->holding = u->deferred = 0;
  /* A hosted state's scripts reach only their own state until the host
  ** grants more (scope.c); the drop-in keeps the rock's process-wide ids. */
  u->tenant = atomic_fetch_add(&tenants_issued, 1) + 1;
  u->reach_all = !hosted;
  u->grants = NULL;
  u->ngrants = 0;
  mailbox_init(u);
  inspect_init(u);
  atomic_fetch_add(&u->gen, 1); /* odd: open */
  atomic_fetch_add(&live_universes, 1);
  kick_signal_attach(u);
  u->main_id = main_L ? mt_id_of(u, main_L, 1) : 0;
  if (main_L && u->main_id == 0) {
    mt_universe_close(u);
    return NULL;
  }
  return u;
}

void mt_universe_close(mt_universe *u) {
  mt_deadline_clear(u);
  rearm_cancel(u);
  atomic_fetch_add(&u->gen, 1); /* even: signals on their way are stale */
  for (uint32_t i = 0; i < u->map.cap; i++)
    if (u->map.entries[i].key != NULL) slot_retire(u, u->map.entries[i].slot, 0);
  atomic_store(&u->kick_head, NO_SLOT);
  idmap_free(&u->map);
  inspect_destroy(u); /* likewise: the host's entries lock the main slot */
  mailbox_destroy(u); /* no sender: they hold a slot's LOCK, all retired */
  free(u->grants);
  u->grants = NULL;
  u->ngrants = 0;
  atomic_fetch_sub(&live_universes, 1);
  u->main_id = 0;
  pthread_mutex_lock(&universes_lock);
  u->next_free = universes_free;
  universes_free = u->index;
  pthread_mutex_unlock(&universes_lock);
}

void mt_universe_adopt(mt_universe *u) {
  int tid = mt_tid();
  if (atomic_load_explicit(&u->owner_tid, memory_order_relaxed) == tid) return;
  atomic_store(&u->owner_tid, tid);
  atomic_store(&u->owner_thread, (unsigned long)pthread_self());
  atomic_store(&u->owner_clock, cpuclock_self());
  kick_signal_attach(u);
  mt_process_kicks(u); /* kicks sent to the previous owner */
}

void mt_universe_arming(mt_universe *u, int how) {
  if (how == MT_ARM_SIGNAL || u->ops->arm_direct != NULL) atomic_store(&u->arming, how);
}

uint64_t mt_main_id(mt_universe *u) { return u->main_id; }

void mt_universe_meter(mt_universe *u, const mt_meter *meter) { u->meter = meter; }

uint64_t mt_live_universes(void) { return atomic_load(&live_universes); }
