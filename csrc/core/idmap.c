/*
** The owner's map from lua_State pointer to slot: open addressing with
** linear probing and backward-shift deletion, so that a million registered
** coroutines cost 16 bytes of table each and lookups stay O(1).
*/
#include <stdlib.h>

#include "internal.h"

#define MIN_CAP 16u

static uint32_t hash_ptr(const void *p, uint32_t mask) {
  uint64_t x = (uint64_t)(uintptr_t)p >> 3; /* objects are 8-aligned */
  x *= 0x9E3779B97F4A7C15ull;
  return (uint32_t)(x >> 32) & mask;
}

uint32_t idmap_get(const mt_idmap *m, const void *key) {
  if (m->count == 0) return NO_SLOT;
  uint32_t mask = m->cap - 1;
  for (uint32_t i = hash_ptr(key, mask);; i = (i + 1) & mask) {
    if (m->entries[i].key == key) return m->entries[i].slot;
    if (m->entries[i].key == NULL) return NO_SLOT;
  }
}

static void insert_fresh(struct idmap_entry *entries, uint32_t mask, void *key, uint32_t slot) {
  uint32_t i = hash_ptr(key, mask);
  while (entries[i].key != NULL) i = (i + 1) & mask;
  entries[i].key = key;
  entries[i].slot = slot;
}

static int grow(mt_idmap *m) {
  uint32_t cap = m->cap ? m->cap * 2 : MIN_CAP;
  struct idmap_entry *e = calloc(cap, sizeof *e);
  if (e == NULL) return 0;
  for (uint32_t i = 0; i < m->cap; i++)
    if (m->entries[i].key) insert_fresh(e, cap - 1, m->entries[i].key, m->entries[i].slot);
  free(m->entries);
  m->entries = e;
  m->cap = cap;
  return 1;
}

int idmap_put(mt_idmap *m, void *key, uint32_t slot) {
  /* Keep the load at or below 1/2: probes stay short. */
  if ((m->count + 1) * 2 > m->cap && !grow(m)) return 0;
  insert_fresh(m->entries, m->cap - 1, key, slot);
  m->count++;
  return 1;
}

uint32_t idmap_remove(mt_idmap *m, const void *key) {
  if (m->count == 0) return NO_SLOT;
  uint32_t mask = m->cap - 1;
  uint32_t i = hash_ptr(key, mask);
  while (m->entries[i].key != key) {
    if (m->entries[i].key == NULL) return NO_SLOT;
    i = (i + 1) & mask;
  }
  uint32_t slot = m->entries[i].slot;
  /* Backward shift: pull later members of the probe run into the hole so
  ** that no tombstones are needed. */
  for (uint32_t j = (i + 1) & mask; m->entries[j].key != NULL; j = (j + 1) & mask) {
    uint32_t home = hash_ptr(m->entries[j].key, mask);
    if (((j - home) & mask) >= ((j - i) & mask)) {
      m->entries[i] = m->entries[j];
      i = j;
    }
  }
  m->entries[i].key = NULL;
  m->count--;
  return slot;
}

void idmap_free(mt_idmap *m) {
  free(m->entries);
  m->entries = NULL;
  m->cap = m->count = 0;
}
