/*
** Shared between the core's files; nothing here is exported.
*/
#ifndef MTINT_CORE_INTERNAL_H
#define MTINT_CORE_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "cputime.h"
#include "inspect.h"
#include "mtint_core.h"

/*
** Slots. A slot's internal value is (generation << SLOT_BITS) | index: the
** index finds the slot in O(1) without hashing, and the generation, bumped
** each time the slot is reused, makes every value unique for the life of
** the process. The id handed out is that value through a keyed
** permutation (idcipher.c), so that ids cannot be guessed.
*/
#define SLOT_BITS 24
#define SLOT_MASK ((1u << SLOT_BITS) - 1)
#define CHUNK_BITS 12
#define SLOTS_PER_CHUNK (1u << CHUNK_BITS)
#define MAX_CHUNKS (1u << (SLOT_BITS - CHUNK_BITS))
#define GEN_FIRST 1u
#define GEN_LIMIT (1u << (53 - SLOT_BITS))
#define NO_SLOT 0xFFFFFFFFu

/*
** A slot's `word` holds its id and the request flags, so that the id check
** and every flag change are one compare-and-swap:
**   bits 0-1  mode (mt_mode)
**   bit  2    KICKED: the slot is on its universe's kick stack
**   bit  3    LOCK: an interrupter is using the slot's universe; the owner
**             waits for it to clear before it retires the slot
**   bits 11-  id; 0 when the slot is free
*/
#define W_MODE 0x3u
#define W_KICKED 0x4u
#define W_LOCK 0x8u
#define W_ID_SHIFT 11

typedef struct mt_slot {
  _Atomic uint64_t word;
  void *L;          /* constant while registered; written before `word` */
  mt_universe *u;   /* likewise */
  _Atomic uint64_t tenant; /* u->tenant, likewise; atomic because lookups
                              read it before they lock (scope checks) */
  uint32_t gen;     /* generation of the next id; under slots_lock */
  uint32_t link;    /* next on the free list or on a kick stack */
} mt_slot;

static inline uint64_t word_id(uint64_t w) { return w >> W_ID_SHIFT; }

mt_slot *slot_at(uint32_t index); /* NULL when its chunk does not exist */

/* The owner's map from lua_State pointer to slot index. Owner thread only:
** neither interrupters nor the signal handler read it. */
typedef struct {
  struct idmap_entry { void *key; uint32_t slot; } *entries;
  uint32_t cap, count;
} mt_idmap;

uint32_t idmap_get(const mt_idmap *m, const void *key);
int idmap_put(mt_idmap *m, void *key, uint32_t slot);
uint32_t idmap_remove(mt_idmap *m, const void *key);
void idmap_free(mt_idmap *m);

struct mt_universe {
  uint32_t index;
  _Atomic uint32_t gen;        /* odd while open; signals carry it */
  _Atomic int owner_tid;       /* mt_tid() of the owner (thread_self.h) */
  _Atomic unsigned long owner_thread; /* pthread_self() of the owner: what the
                                  handler compares, without a system call */
  volatile sig_atomic_t holding;  /* owner thread and its handler only */
  volatile sig_atomic_t deferred;
  _Atomic int hosted;          /* the watchdog's re-arm reads it unlocked,
                                  maybe while the universe is reused */
  const mt_ops *ops;
  void *ctx;
  uint64_t main_id;            /* 0 until known (drop-in on 5.1/LuaJIT) */
  /* Interrupt scope: which tenants Lua code running here reaches by id
  ** (mt_scope_*). Set by the owner before the first call; read only by
  ** the owner's own lookups. */
  uint64_t tenant;             /* never reused in the process; 0 = none */
  int reach_all;
  uint64_t *grants;            /* tenants granted, besides its own */
  uint32_t ngrants;
  uint32_t next_free;          /* free list of universes; under universes_lock */

  _Atomic uint32_t kick_head;  /* stack of kicked slots (push: any thread,
                                  take-all: owner) */
  _Atomic int signal_pending;  /* a kick signal is on its way */
  _Atomic uint32_t kicks_handled; /* kick handlers finished here (kick_wait) */
  _Atomic uint64_t kick_target;   /* kick_signal_posix.c: the owner thread's */
  _Atomic uint64_t signal_target; /* record, and the one the signal on its
                                     way went to */
  _Atomic int call_kicked;     /* the current call was cancelled: arm_call */
  _Atomic int rearm;           /* the watchdog asks to arm_call again */
  _Atomic uint64_t call_seq;   /* running host call, 0 between calls */
  _Atomic uint64_t cancel_seq; /* highest cancelled call */
  _Atomic int32_t pending;     /* slots with a request (estimate) */
  _Atomic int arming;          /* MT_ARM_*: how interrupters arm */
  _Atomic int resuming;        /* mt_resuming: the owner's coroutine depth */
  _Atomic int arm_lock;        /* serialises hook-field stores: the owner's
                                  own hook changes and direct arms */
  _Atomic uint64_t rearm_id;   /* last id armed directly: what the watchdog
                                  re-arms (it may not walk the universe) */
  _Atomic int cancel_cause;    /* mt_cause of the latest cancellation */

  /* CPU accounting of host calls (owner writes, anyone reads): a seqlock,
  ** odd while the owner updates the two fields. */
  _Atomic uint64_t owner_clock;  /* mt_cpuclock of the owner thread */
  _Atomic uint32_t cpu_seq;
  _Atomic uint64_t cpu_done_ns;  /* finished calls */
  _Atomic uint64_t cpu_start_ns; /* the owner's CPU clock when the running call began; 0 between calls */

  mt_idmap map;                /* owner thread only */

  /* Mailbox: the queue and the condition variable are under mbox_lock;
  ** wakes also counts interrupts, so a waiting recv returns for them. */
  pthread_mutex_t mbox_lock;
  pthread_cond_t mbox_cond;
  mt_message *mbox_head, *mbox_tail;
  mt_message *reply;           /* the newest caller answer, for reply_token */
  uint64_t reply_token;
  _Atomic uint64_t reply_posted; /* reply_token, for mt_reply_wait's spin outside the lock */
  int reply_quick;             /* owner only: the last answer came within REPLY_SPIN_NS */
  _Atomic uint64_t wakes;
  _Atomic int mbox_waiting;    /* the owner is in recv: wakes must signal */
  _Atomic uint64_t unread_posts; /* bytes posted, not yet taken (posts.c) */

  const mt_meter *meter;       /* the state's memory (mt_universe_meter) */
  /* 1 + index in the watchdog heap, 0 if none; written under the
  ** watchdog's lock. Read without it where only a change to or from 0
  ** matters: deadline_pos by the owner, who alone adds and removes its
  ** deadline; rekick_pos by rearm_schedule (see there). */
  _Atomic uint32_t deadline_pos;
  _Atomic uint32_t rekick_pos;
  _Atomic uint32_t profile_pos;
  mt_inspect insp;             /* stack, samples, pause (inspect.c) */
};

/* Kick machinery (kick.c). */
void kick_init_once(void);
void kick_push(mt_universe *u, uint32_t index);
/* Arms here when this thread owns u; returns 1 when a signal must go
** (kick_signal), 0 when done or not needed. */
__attribute__((warn_unused_result)) int kick(mt_universe *u);
/* Sends the kick signal; 1 when one is on its way (sent now or earlier). */
int kick_signal(mt_universe *u);
void kick_rearm(mt_universe *u, uint64_t handle);
/* Arms L by a direct store, holding u's arm lock. The caller holds L's
** slot lock. */
void kick_direct(mt_universe *u, void *L);

/* Watchdog (watchdog.c): re-arms `u` while requests are pending. */
int rearm_schedule(mt_universe *u);
void rearm_wake(void);
void rearm_cancel(mt_universe *u);
/* Profile ticks every `period_ns` while u->insp.profiling (watchdog.c). */
int profile_schedule(mt_universe *u, uint64_t period_ns);
void profile_cancel(mt_universe *u);

/* Inspection (inspect.c): set up at open, torn down at close; a tick asks
** the running call of main id `id` for a sample. */
void inspect_init(mt_universe *u);
void inspect_destroy(mt_universe *u);
void inspect_tick(uint64_t id);

/* Universe table (universe.c). */
mt_universe *universe_from_handle(uint64_t handle);
uint64_t universe_handle(const mt_universe *u);
/* The universe at `index` of the table, open or not; NULL past the last
** one ever allocated (the table fills in index order). Signal-safe. */
mt_universe *universe_at(uint32_t index);

/* Cancels call `seq` of `id` for `cause` (registry.c). */
int interrupt_call_because(uint64_t id, uint64_t seq, mt_cause cause);
/* CPU time the running call of `u` has used, 0 between calls. */
uint64_t call_cpu_ns(mt_universe *u);

/* Ids (idcipher.c): a keyed permutation of [0, 2^53). */
uint64_t id_encode(uint64_t value);
uint64_t id_decode(uint64_t id);

/* Registry (registry.c). `from` is the universe whose Lua code asks (its
** scope applies), NULL for the host. An id outside the scope is unknown. */
int slot_lock(const mt_universe *from, uint64_t id, mt_slot **out, uint32_t *index);
/* Whether Lua code of `from` may reach a state of `tenant`. */
int scope_reaches(const mt_universe *from, uint64_t tenant);
/* The tenant of live id `id` if `from` reaches it, else 0; the same work
** either way. */
uint64_t slot_reach(const mt_universe *from, uint64_t id);
/* slot_lock for the host that gives up after a bounded spin (signal handlers). */
int slot_trylock(uint64_t id, mt_slot **out);
void slot_unlock(mt_slot *s);
void slot_retire(mt_universe *u, uint32_t index, int process);

/* Mailbox (mailbox.c). */
void mailbox_init(mt_universe *u);
void mailbox_destroy(mt_universe *u);
void mailbox_wake(mt_universe *u);

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

#endif
