/*
** A pool of small blocks for one Lua state. Only the thread running the
** state allocates from it, so it needs no lock and no atomic: a malloc in
** a multi-threaded process (every Deno or Bun process) takes the arena
** lock whenever its per-thread cache misses, which costs allocation-heavy
** Lua code 5-15% against the single-threaded stock interpreters.
**
** Blocks up to POOL_MAX bytes come in 16-byte classes, each with a free
** list; new ones are cut from 64 KiB slabs. Freed blocks go back to their
** class, and slabs go back to the system when the state closes: a state
** keeps the small-block memory of its peak (bounded by its memory limit).
** Lua passes every block's size when it frees or resizes it, which is what
** lets the class be found without a header.
*/
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define SLAB_SIZE (64 * 1024)

struct mt_slab {
  struct mt_slab *next;
  _Alignas(16) unsigned char blocks[];
};

static size_t class_of(size_t size) { return (size + 15) / 16 - 1; }

void *pool_alloc(mt_pool *p, size_t size) {
  size_t c = class_of(size);
  void *block = p->free[c];
  if (block != NULL) {
    p->free[c] = *(void **)block;
    return block;
  }
  size_t bytes = (c + 1) * 16;
  if (p->left < bytes) {
    struct mt_slab *slab = malloc(SLAB_SIZE);
    if (slab == NULL) return NULL;
    slab->next = p->slabs;
    p->slabs = slab;
    p->bump = slab->blocks;
    p->left = SLAB_SIZE - offsetof(struct mt_slab, blocks);
  }
  block = p->bump;
  p->bump += bytes;
  p->left -= bytes;
  return block;
}

void pool_free(mt_pool *p, void *block, size_t size) {
  size_t c = class_of(size);
  *(void **)block = p->free[c];
  p->free[c] = block;
}

int pool_same_class(size_t a, size_t b) { return class_of(a) == class_of(b); }

void pool_destroy(mt_pool *p) {
  for (struct mt_slab *s = p->slabs, *next; s != NULL; s = next) {
    next = s->next;
    free(s);
  }
  memset(p, 0, sizeof *p);
}
