/*
** Pins: the rock keeps an id known while any `mtint.interruptible` object
** for it is alive, also after its target is gone: `mtint.interruptible(id)`
** then returns another object, and `mtint.interrupt(id)` returns false
** instead of raising unknown_object (the rock's test01 and test02 rely on
** it). Each object pins its id here; the registry itself forgets a target
** as it dies, as before. A pin remembers the id's tenant, so that scopes
** apply to pinned ids as to live ones.
**
** A hash table with linear probing under one mutex: pins are made and
** dropped as objects are created and collected, and looked up only when
** an id is not live, so the lock is off the hot path. Every lookup of an
** id that is not live takes the lock and probes, pinned or not.
*/
#include <stdlib.h>

#include "internal.h"

typedef struct {
  uint64_t id; /* 0: empty */
  uint64_t tenant;
  uint64_t count;
} pin;

static pthread_mutex_t pins_lock = PTHREAD_MUTEX_INITIALIZER;
static pin *table;
static uint32_t cap, used; /* cap: 0 or a power of two */

/* Ids are already uniformly spread (idcipher.c); the multiply only guards
** against clustering in the low bits. */
static uint32_t home(uint64_t id) { return (uint32_t)((id * 0x9E3779B97F4A7C15u) >> 32) & (cap - 1); }

/* Id 0 marks an empty entry: it is never pinned, and never found. */
static pin *find(uint64_t id) {
  if (cap == 0 || id == 0) return NULL;
  for (uint32_t i = home(id);; i = (i + 1) & (cap - 1)) {
    if (table[i].id == id) return &table[i];
    if (table[i].id == 0) return NULL;
  }
}

static int grow(void) {
  uint32_t ncap = cap ? cap * 2 : 64;
  pin *old = table, *fresh = calloc(ncap, sizeof *fresh);
  if (fresh == NULL) return 0;
  uint32_t ocap = cap;
  table = fresh;
  cap = ncap;
  for (uint32_t i = 0; i < ocap; i++) {
    if (old[i].id == 0) continue;
    uint32_t j = home(old[i].id);
    while (table[j].id != 0) j = (j + 1) & (cap - 1);
    table[j] = old[i];
  }
  free(old);
  return 1;
}

/* Backward-shift deletion: no tombstones, probes stay short. */
static void erase(pin *p) {
  uint32_t i = (uint32_t)(p - table);
  for (uint32_t j = (i + 1) & (cap - 1); table[j].id != 0; j = (j + 1) & (cap - 1)) {
    uint32_t h = home(table[j].id);
    /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
    if (((j - h) & (cap - 1)) >= ((j - i) & (cap - 1))) {
      table[i] = table[j];
      i = j;
    }
  }
  table[i] = (pin){0, 0, 0};
  used--;
}

int mt_pin(const mt_universe *from, uint64_t id) {
  pthread_mutex_lock(&pins_lock);
  /* Under the lock, so that a live id and a pinned one look alike. */
  uint64_t tenant = slot_reach(from, id);
  pin *p = find(id);
  int status = MT_UNKNOWN;
  if (p != NULL && (tenant != 0 || scope_reaches(from, p->tenant))) {
    p->count++;
    status = MT_OK;
  } else if (p == NULL && tenant != 0) {
    if ((used + 1) * 2 > cap && !grow()) {
      status = MT_FULL;
    } else {
      uint32_t i = home(id);
      while (table[i].id != 0) i = (i + 1) & (cap - 1);
      table[i] = (pin){id, tenant, 1};
      used++;
      status = MT_OK;
    }
  }
  pthread_mutex_unlock(&pins_lock);
  return status;
}

void mt_unpin(uint64_t id) {
  pthread_mutex_lock(&pins_lock);
  pin *p = find(id);
  if (p != NULL && --p->count == 0) erase(p);
  pthread_mutex_unlock(&pins_lock);
}

int mt_pinned_from(const mt_universe *from, uint64_t id) {
  pthread_mutex_lock(&pins_lock);
  pin *p = find(id);
  int known = p != NULL && scope_reaches(from, p->tenant);
  pthread_mutex_unlock(&pins_lock);
  return known;
}
