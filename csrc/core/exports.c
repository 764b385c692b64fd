/*
** The core's entry points for JavaScript (ffi/symbols.ts). Ids and call
** sequence numbers travel as doubles, which hold every integer below 2^53
** exactly; the TypeScript side has already rejected anything else, and
** these checks keep a bad value from reaching the registry anyway.
*/
#include <math.h>

#include "internal.h"

static uint64_t as_id(double d) {
  if (!(d >= 1 && d < (double)MT_ID_LIMIT) || d != floor(d)) return 0;
  return (uint64_t)d;
}

/* mode: 0 withdraw, 1 once, 2 always. Returns 1 if a request was pending
** before, 0 if not, -1 for an unknown id. */
MT_EXPORT int mtint_interrupt(double id, int mode) {
  if (mode < MT_NONE || mode > MT_ALWAYS) return MTINT_E_UNKNOWN;
  mt_mode was;
  if (mt_interrupt(as_id(id), (mt_mode)mode, &was) != MT_OK) return MTINT_E_UNKNOWN;
  return was != MT_NONE;
}

/* Cancels host call `seq` of the state `id`. 0 on success, -1 unknown. */
MT_EXPORT int mtint_interrupt_call(double id, double seq) {
  return mt_interrupt_call(as_id(id), as_id(seq)) == MT_OK ? 0 : MTINT_E_UNKNOWN;
}

/* Queues `len` bytes for host.recv in the state `id`. 0 on success, -1
** unknown id, -2 out of memory. */
MT_EXPORT int mtint_send(double id, const void *data, double len) {
  if (!(len >= 0 && len < 4294967296.0)) return MTINT_E_FULL;
  switch (mt_mailbox_send(as_id(id), data, (size_t)len)) {
    case MT_OK: return 0;
    case MT_UNKNOWN: return MTINT_E_UNKNOWN;
    default: return MTINT_E_FULL;
  }
}

/* Answers call `token` of a function a script in state `id` waits on
** (mt_reply_send). 0 on success, -1 unknown id, -2 out of memory. */
MT_EXPORT int mtint_reply(double id, double token, const void *data, double len) {
  if (!(len >= 0 && len < 4294967296.0)) return MTINT_E_FULL;
  switch (mt_reply_send(as_id(id), as_id(token), data, (size_t)len)) {
    case MT_OK: return 0;
    case MT_UNKNOWN: return MTINT_E_UNKNOWN;
    default: return MTINT_E_FULL;
  }
}

/* The main thread has taken a value of `len` bytes that the state `id`
** posted (mt_posts_taken). 0, or -1 for an id closed since. */
MT_EXPORT int mtint_posts_taken(double id, double len) {
  if (!(len >= 0 && len < 4294967296.0)) return MTINT_E_UNKNOWN;
  return mt_posts_taken(as_id(id), (size_t)len) == MT_OK ? 0 : MTINT_E_UNKNOWN;
}

/* Bytes used by the state `id`, -1 if unknown. Any thread, also while the
** state runs. */
MT_EXPORT double mtint_memory_used(double id) {
  mt_slot *s;
  uint32_t index;
  if (slot_lock(NULL, as_id(id), &s, &index) != MT_OK) return MTINT_E_UNKNOWN;
  const mt_meter *meter = s->u->meter;
  double used = meter ? (double)atomic_load_explicit(&meter->used, memory_order_relaxed) : -1;
  slot_unlock(s);
  return used;
}

/* The state's meter into out[0..3]: used, peak, allocations, limit (0:
** none). 0, or -1 if the id is unknown. Any thread. */
MT_EXPORT int mtint_memory(double id, double *out) {
  mt_slot *s;
  uint32_t index;
  if (slot_lock(NULL, as_id(id), &s, &index) != MT_OK) return MTINT_E_UNKNOWN;
  const mt_meter *m = s->u->meter;
  if (m != NULL) {
    out[0] = (double)atomic_load_explicit(&m->used, memory_order_relaxed);
    out[1] = (double)atomic_load_explicit(&m->peak, memory_order_relaxed);
    out[2] = (double)atomic_load_explicit(&m->allocations, memory_order_relaxed);
    out[3] = (double)atomic_load_explicit(&m->limit, memory_order_relaxed);
  }
  slot_unlock(s);
  return m != NULL ? 0 : MTINT_E_UNKNOWN;
}

/* CPU time in ns that the state `id` has spent in host calls (the running
** one included); -1 if unknown. Any thread. */
MT_EXPORT double mtint_cpu_ns(double id) {
  mt_slot *s;
  uint32_t index;
  if (slot_lock(NULL, as_id(id), &s, &index) != MT_OK) return MTINT_E_UNKNOWN;
  double ns = (double)mt_cpu_ns(s->u);
  slot_unlock(s);
  return ns;
}

/* CLOCK_MONOTONIC in ns, the clock of host.clock() in Lua: timestamps
** taken on different threads compare. */
MT_EXPORT double mtint_now_ns(void) { return (double)mt_now_ns(); }

MT_EXPORT double mtint_live_ids(void) { return (double)mt_live_ids(); }

MT_EXPORT double mtint_live_universes(void) { return (double)mt_live_universes(); }
