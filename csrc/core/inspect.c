/*
** Inspection: the host looks inside a running call without stopping it
** for good. Three requests ride the interrupt machinery (kick.c): a stack
** (lua.stack()), a profile sample (each tick of the watchdog while
** lua.profile() runs) and a pause (lua.pause()). The host sets a bit in
** the universe's request word and arms the hook as a cancellation does
** (a direct store where the version allows, and a kick that arms the
** running call's coroutines); the hook, on the owner thread at its next
** instruction, takes the bits, walks its frames (csrc/lua/inspect.c) and
** leaves the answer here, under insp.lock, for the host to poll through
** FFI: the worker's JavaScript is not running while Lua runs, so nothing
** travels through its event loop.
**
** Interrupt requests live in the slots, inspection requests here: a hook
** that finds both does both (inspection first, then the interrupt).
**
** Keeping the hook armed: the owner settles its hook (hook.c desired())
** with kicks held and looks at `req` there, so a request that lands after
** the hook took the bits keeps the hook armed (the same argument as for
** slot requests in kick.c). An arm the owner undoes by itself (LuaJIT's
** hook-mask read-modify-write, 5.4's trap clearing) costs a delay: the
** host re-kicks while it polls (mtint_inspect_kick), and profile ticks
** re-request every period.
**
** Lifetime: every entry point from the host locks the main state's slot,
** which keeps the universe open (mt_universe_close retires the slots
** first); insp.lock is created at open and destroyed at close.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_ANSWER ((size_t)1 << 20) /* a stack answer is capped far below */

void inspect_init(mt_universe *u) {
  mt_inspect *in = &u->insp;
  atomic_store(&in->req, 0);
  atomic_store(&in->pause_seq, 0);
  atomic_store(&in->paused_seq, 0);
  atomic_store(&in->resume, 0);
  atomic_store(&in->profiling, 0);
  atomic_store(&in->period_ns, 0);
  atomic_store(&u->profile_pos, 0);
  pthread_mutex_init(&in->lock, NULL);
  in->stack_asked = in->stack_answered = 0;
  in->answer = NULL;
  in->answer_len = 0;
  in->entries = NULL;
  in->cap = in->used = 0;
  in->samples = 0;
  in->folded = NULL;
  in->folded_len = 0;
}

static void profile_free(mt_inspect *in) {
  for (size_t i = 0; i < in->cap; i++) free(in->entries[i].key);
  free(in->entries);
  in->entries = NULL;
  in->cap = in->used = 0;
  in->samples = 0;
}

void inspect_destroy(mt_universe *u) {
  mt_inspect *in = &u->insp;
  atomic_store(&in->profiling, 0);
  profile_cancel(u);
  profile_free(in);
  free(in->answer);
  in->answer = NULL;
  free(in->folded);
  in->folded = NULL;
  pthread_mutex_destroy(&in->lock);
}

/* --- the owner's side ---------------------------------------------------- */

const _Atomic uint32_t *mt_inspect_word(mt_universe *u) { return &u->insp.req; }

uint32_t mt_inspect_take(mt_universe *u) {
  mt_inspect *in = &u->insp;
  uint32_t seen = atomic_load(&in->req);
  if (seen == 0) return 0;
  uint32_t bits = seen;
  if (bits & MT_INSPECT_PAUSE) {
    uint64_t call = atomic_load(&u->call_seq);
    if (call != 0 && atomic_load(&in->pause_seq) == call && !mt_call_cancelled(u))
      atomic_store(&in->paused_seq, call); /* before the bit clears: see inspect.h */
    else
      bits &= ~(uint32_t)MT_INSPECT_PAUSE; /* for a call that is over */
  }
  atomic_fetch_and(&in->req, ~seen);
  return bits;
}

void mt_stack_answer(mt_universe *u, const void *bytes, size_t len) {
  mt_inspect *in = &u->insp;
  unsigned char *copy = len && len <= MAX_ANSWER ? malloc(len) : NULL;
  if (copy) memcpy(copy, bytes, len);
  pthread_mutex_lock(&in->lock);
  free(in->answer);
  in->answer = copy;
  in->answer_len = copy ? len : 0;
  in->stack_answered = in->stack_asked;
  pthread_mutex_unlock(&in->lock);
}

static uint64_t hash_bytes(const char *p, size_t len) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211u;
  return h | 1; /* 0 marks an empty entry */
}

/* Doubles the table; 0 when out of memory. insp.lock held. */
static int profile_grow(mt_inspect *in) {
  size_t cap = in->cap ? in->cap * 2 : 64;
  mt_profile_entry *e = calloc(cap, sizeof *e);
  if (e == NULL) return 0;
  for (size_t i = 0; i < in->cap; i++) {
    if (in->entries[i].hash == 0) continue;
    size_t j = in->entries[i].hash & (cap - 1);
    while (e[j].hash != 0) j = (j + 1) & (cap - 1);
    e[j] = in->entries[i];
  }
  free(in->entries);
  in->entries = e;
  in->cap = cap;
  return 1;
}

void mt_profile_add(mt_universe *u, const char *key, size_t len) {
  mt_inspect *in = &u->insp;
  uint64_t h = hash_bytes(key, len);
  pthread_mutex_lock(&in->lock);
  if (!atomic_load(&in->profiling) || ((in->used + 1) * 2 > in->cap && !profile_grow(in))) {
    pthread_mutex_unlock(&in->lock);
    return;
  }
  size_t j = h & (in->cap - 1);
  for (;; j = (j + 1) & (in->cap - 1)) {
    mt_profile_entry *e = &in->entries[j];
    if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0) {
      e->count++;
      in->samples++;
      break;
    }
    if (e->hash == 0) {
      char *copy = malloc(len ? len : 1);
      if (copy != NULL) {
        memcpy(copy, key, len);
        *e = (mt_profile_entry){h, 1, len, copy};
        in->used++;
        in->samples++;
      }
      break;
    }
  }
  pthread_mutex_unlock(&in->lock);
}

/* Not `wakes`, which recv and post wait on: the main thread taking posts
** bumps it too, and that must not end a pause. An interrupt raises
** `pending` and a cancellation `cancel_seq` before mailbox_wake bumps
** `wakes` and reads mbox_waiting (seq_cst), and this raises mbox_waiting
** before it reads them: either it sees the request, or it is woken. */
uint32_t mt_pause_wait(mt_universe *u) {
  mt_inspect *in = &u->insp;
  uint32_t asked = 0;
  pthread_mutex_lock(&u->mbox_lock);
  atomic_store(&u->mbox_waiting, 1); /* mailbox_wake broadcasts from now on */
  while (!atomic_load(&in->resume) && atomic_load(&u->pending) <= 0 && !mt_call_cancelled(u)) {
    /* A stack asked while paused: mtint_stack_ask broadcasts after its bit. */
    if (atomic_load(&in->req) & MT_INSPECT_STACK) {
      asked = atomic_fetch_and(&in->req, ~(uint32_t)MT_INSPECT_STACK) & MT_INSPECT_STACK;
      break;
    }
    pthread_cond_wait(&u->mbox_cond, &u->mbox_lock);
  }
  atomic_store(&u->mbox_waiting, 0);
  pthread_mutex_unlock(&u->mbox_lock);
  if (!asked) atomic_store(&in->paused_seq, 0);
  return asked;
}

/* --- the host's side (any thread) ----------------------------------------- */

/* Locks the slot of main id `id`; NULL if it is not a live main state. */
static mt_universe *main_lock(uint64_t id, mt_slot **s) {
  uint32_t index;
  if (slot_lock(NULL, id, s, &index) != MT_OK) return NULL;
  if ((*s)->u->main_id != id) {
    slot_unlock(*s);
    return NULL;
  }
  return (*s)->u;
}

/* Sets `bits` and arms the running call as a cancellation does: the main
** state directly where the version allows, and a kick whose arm_call
** reaches the coroutines it is resuming. Main slot locked; returns
** kick()'s answer: the caller sends the signal after unlocking, as
** registry.c does (the handler may need that lock). */
static int poke(mt_universe *u, mt_slot *s, uint32_t bits) {
  atomic_fetch_or(&u->insp.req, bits);
  if (atomic_load_explicit(&u->arming, memory_order_relaxed) != MT_ARM_SIGNAL) kick_direct(u, s->L);
  atomic_store(&u->rearm, 1);
  return kick(u);
}

/* Unlocks the main slot, then sends the signal a poke asked for. */
static void unlock_and_signal(mt_universe *u, mt_slot *s, int signalling) {
  slot_unlock(s);
  if (signalling) kick_signal(u);
}

static double as_id(double d) { return d >= 1 && d < (double)MT_ID_LIMIT && d == (double)(uint64_t)d ? d : 0; }

void mt_resuming(mt_universe *u, int depth) { atomic_store_explicit(&u->resuming, depth, memory_order_relaxed); }

/* A profile tick. Where a direct store arms the state (5.1 to 5.3), it
** reaches the main state at its next instruction, and a signal costs the
** worker more than the sample itself (bench inspect: 10-16 against 3-5 us
** per sample). So the signal, whose handler arms the coroutines the call
** is resuming, goes only while one runs, or when the last tick's sample
** is still waiting: a coroutine entered just after this read `resuming`
** (relaxed: a stale value costs the same) gets its sample one period
** late. Not on 5.4, whose direct store fires only at the next call or
** return (samples would land in the caller), nor LuaJIT (no direct
** store). */
void inspect_tick(uint64_t id) {
  mt_slot *s;
  mt_universe *u = main_lock(id, &s);
  if (u == NULL) return;
  int signalling = 0;
  if (atomic_load(&u->insp.profiling) && atomic_load(&u->call_seq) != 0) {
    int waiting = (atomic_load(&u->insp.req) & MT_INSPECT_SAMPLE) != 0;
    signalling = poke(u, s, MT_INSPECT_SAMPLE);
    if (!waiting && atomic_load_explicit(&u->arming, memory_order_relaxed) == MT_ARM_DIRECT &&
        atomic_load_explicit(&u->resuming, memory_order_relaxed) == 0)
      signalling = 0;
  }
  unlock_and_signal(u, s, signalling);
}

/* Asks the running call of state `id` for its stack. Returns a ticket for
** mtint_stack_read, 0 when no call runs (the stack is null), -1 for an
** unknown id. */
MT_EXPORT double mtint_stack_ask(double id) {
  mt_slot *s;
  mt_universe *u = main_lock((uint64_t)as_id(id), &s);
  if (u == NULL) return -1;
  double ticket = 0;
  int signalling = 0;
  if (atomic_load(&u->call_seq) != 0) {
    pthread_mutex_lock(&u->insp.lock);
    ticket = (double)++u->insp.stack_asked;
    pthread_mutex_unlock(&u->insp.lock);
    signalling = poke(u, s, MT_INSPECT_STACK);
    /* A paused owner answers from its wait. If it is not paused yet, it
    ** sets paused_seq before it looks at the bit under mbox_lock, so
    ** either this sees paused_seq or the owner sees the bit. */
    if (atomic_load(&u->insp.paused_seq) != 0) {
      pthread_mutex_lock(&u->mbox_lock);
      pthread_cond_broadcast(&u->mbox_cond);
      pthread_mutex_unlock(&u->mbox_lock);
    }
  }
  unlock_and_signal(u, s, signalling);
  return ticket;
}

/* The answer to `ticket`: its length (copied into `out` if it fits in
** `cap`, else asked again with a larger buffer), -2 not yet, -3 no call
** runs any more (the stack is null), -1 unknown id. */
MT_EXPORT double mtint_stack_read(double id, double ticket, unsigned char *out, double cap) {
  mt_slot *s;
  if (!(ticket >= 1 && cap >= 0)) return -1;
  mt_universe *u = main_lock((uint64_t)as_id(id), &s);
  if (u == NULL) return -1;
  double result;
  pthread_mutex_lock(&u->insp.lock);
  if (u->insp.stack_answered >= (uint64_t)ticket) {
    result = (double)u->insp.answer_len;
    if (u->insp.answer_len <= cap && u->insp.answer_len) memcpy(out, u->insp.answer, u->insp.answer_len);
  } else {
    result = atomic_load(&u->call_seq) == 0 ? -3 : -2;
  }
  pthread_mutex_unlock(&u->insp.lock);
  slot_unlock(s);
  return result;
}

/* Kicks again while a request waits (an arm the owner undid by itself).
** 0, or -1 for an unknown id. */
MT_EXPORT int mtint_inspect_kick(double id) {
  mt_slot *s;
  mt_universe *u = main_lock((uint64_t)as_id(id), &s);
  if (u == NULL) return -1;
  int signalling = atomic_load(&u->insp.req) != 0 && atomic_load(&u->call_seq) != 0 && poke(u, s, 0);
  unlock_and_signal(u, s, signalling);
  return 0;
}

/* Asks the running call to pause at its next instruction: 1 asked (or
** already paused), 0 no call runs, -1 unknown id. */
MT_EXPORT int mtint_pause(double id) {
  mt_slot *s;
  mt_universe *u = main_lock((uint64_t)as_id(id), &s);
  if (u == NULL) return -1;
  uint64_t call = atomic_load(&u->call_seq);
  int result = call != 0, signalling = 0;
  if (call != 0 && atomic_load(&u->insp.paused_seq) != call) {
    pthread_mutex_lock(&u->mbox_lock); /* resume's lock: a resume after this wins */
    atomic_store(&u->insp.resume, 0);
    pthread_mutex_unlock(&u->mbox_lock);
    atomic_store(&u->insp.pause_seq, call); /* before the bit (mt_inspect_take) */
    signalling = poke(u, s, MT_INSPECT_PAUSE);
  }
  unlock_and_signal(u, s, signalling);
  return result;
}

/* Where a pause stands: 1 paused, 0 asked and not yet reached, 2 not
** pausing (the call ended or was cancelled, or it was resumed), -1 unknown
** id. The bit before paused_seq (see inspect.h). */
MT_EXPORT int mtint_pause_state(double id) {
  mt_slot *s;
  mt_universe *u = main_lock((uint64_t)as_id(id), &s);
  if (u == NULL) return -1;
  uint32_t req = atomic_load(&u->insp.req);
  uint64_t paused = atomic_load(&u->insp.paused_seq);
  uint64_t call = atomic_load(&u->call_seq);
  int result = 2;
  if (paused != 0 && paused == call) result = 1;
  else if ((req & MT_INSPECT_PAUSE) && call != 0 && atomic_load(&u->insp.pause_seq) == call && !mt_call_cancelled(u))
    result = 0;
  slot_unlock(s);
  return result;
}

/* Lets a paused call go on, or withdraws a pause not yet reached. 1 if
** one was paused or asked, 0 if not, -1 unknown id. */
MT_EXPORT int mtint_resume(double id) {
  mt_slot *s;
  mt_universe *u = main_lock((uint64_t)as_id(id), &s);
  if (u == NULL) return -1;
  uint32_t before = atomic_fetch_and(&u->insp.req, ~(uint32_t)MT_INSPECT_PAUSE);
  int was = (before & MT_INSPECT_PAUSE) || atomic_load(&u->insp.paused_seq) != 0;
  pthread_mutex_lock(&u->mbox_lock);
  atomic_store(&u->insp.resume, 1);
  pthread_cond_broadcast(&u->mbox_cond);
  pthread_mutex_unlock(&u->mbox_lock);
  slot_unlock(s);
  return was;
}

/* Starts sampling state `id` every `period_ms` (the watchdog's ticks).
** 0, -1 unknown id, -2 already profiling, -3 the watchdog could not. */
MT_EXPORT int mtint_profile_start(double id, double period_ms) {
  if (!(period_ms >= 0.01 && period_ms <= 60000)) return -3;
  mt_slot *s;
  mt_universe *u = main_lock((uint64_t)as_id(id), &s);
  if (u == NULL) return -1;
  mt_inspect *in = &u->insp;
  int result = 0;
  pthread_mutex_lock(&in->lock);
  if (atomic_load(&in->profiling)) {
    result = -2;
  } else {
    profile_free(in);
    free(in->folded);
    in->folded = NULL;
    in->folded_len = 0;
    atomic_store(&in->profiling, 1);
  }
  pthread_mutex_unlock(&in->lock);
  if (result == 0 && !profile_schedule(u, (uint64_t)(period_ms * 1e6))) {
    atomic_store(&in->profiling, 0);
    result = -3;
  }
  slot_unlock(s);
  return result;
}

/* Stops sampling and builds the folded text ("outer;inner count" lines,
** in no particular order); out[0] = samples, out[1] = the text's length
** (mtint_profile_text). 0, -1 unknown id, -2 not profiling, -3 out of
** memory. */
MT_EXPORT int mtint_profile_stop(double id, double *out) {
  mt_slot *s;
  mt_universe *u = main_lock((uint64_t)as_id(id), &s);
  if (u == NULL) return -1;
  mt_inspect *in = &u->insp;
  profile_cancel(u);
  pthread_mutex_lock(&in->lock);
  int result = atomic_exchange(&in->profiling, 0) ? 0 : -2;
  if (result == 0) {
    size_t len = 0;
    for (size_t i = 0; i < in->cap; i++)
      if (in->entries[i].hash) len += in->entries[i].len + 24;
    free(in->folded);
    in->folded = malloc(len + 1);
    in->folded_len = 0;
    if (in->folded == NULL) {
      result = -3;
    } else {
      for (size_t i = 0; i < in->cap; i++) {
        mt_profile_entry *e = &in->entries[i];
        if (!e->hash) continue;
        memcpy(in->folded + in->folded_len, e->key, e->len);
        in->folded_len += e->len;
        in->folded_len += (size_t)snprintf(in->folded + in->folded_len, 24, " %llu\n", (unsigned long long)e->count);
      }
    }
    out[0] = (double)in->samples;
    out[1] = (double)in->folded_len;
    profile_free(in);
  }
  pthread_mutex_unlock(&in->lock);
  slot_unlock(s);
  return result;
}

/* Copies the text of the last mtint_profile_stop (up to `cap` bytes) and
** frees it. Its length, or -1 for an unknown id. */
MT_EXPORT double mtint_profile_text(double id, unsigned char *out, double cap) {
  if (!(cap >= 0)) return -1;
  mt_slot *s;
  mt_universe *u = main_lock((uint64_t)as_id(id), &s);
  if (u == NULL) return -1;
  mt_inspect *in = &u->insp;
  pthread_mutex_lock(&in->lock);
  size_t n = in->folded_len <= cap ? in->folded_len : (size_t)cap;
  if (n) memcpy(out, in->folded, n);
  free(in->folded);
  in->folded = NULL;
  in->folded_len = 0;
  pthread_mutex_unlock(&in->lock);
  slot_unlock(s);
  return (double)n;
}
