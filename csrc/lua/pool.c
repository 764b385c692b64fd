/*
** A pool of small blocks for one Lua state. Only the thread running the
** state allocates from it, so it needs no lock and no atomic: a malloc in
** a multi-threaded process (every Deno or Bun process) takes the arena
** lock whenever its per-thread cache misses, which costs allocation-heavy
** Lua code 5-15% against the single-threaded stock interpreters.
**
** Blocks up to POOL_MAX bytes come in 16-byte classes. Each class cuts its
** blocks from slabs of SLAB_SIZE bytes aligned to SLAB_SIZE, so a block's
** slab is its address rounded down: no per-block header. A slab keeps its
** own free list and count of blocks in use; when the count drops to zero
** the slab goes back to malloc, unless it is the only slab of its class
** with room (so a state allocating and freeing one block at a slab's edge
** does not call malloc each time). After a peak the pool thus keeps at most
** one empty slab per class, plus the partly used ones.
**
** Lua gives the size of every block it frees, which routes it (pool or
** malloc) without a header; the slab, not that size, says its class, so a
** block may serve a smaller size than its class (a shrink in place).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define SLAB_SIZE (16 * 1024)

typedef struct mt_slab {
  struct mt_slab *prev, *next; /* in p->room[class], or p->full */
  void *free;                  /* blocks returned to this slab */
  unsigned char *fresh;        /* blocks never used: from here to `end` */
  unsigned char *end;
  uint32_t used;               /* blocks handed out */
  uint32_t class;
  _Alignas(16) unsigned char blocks[];
} mt_slab;

static size_t class_of(size_t size) { return (size + 15) / 16 - 1; }
static size_t class_bytes(size_t c) { return (c + 1) * 16; }

static mt_slab *slab_of(void *block) { return (mt_slab *)((uintptr_t)block & ~(uintptr_t)(SLAB_SIZE - 1)); }

static void unlink_slab(mt_slab **list, mt_slab *s) {
  if (s->prev != NULL) s->prev->next = s->next;
  else *list = s->next;
  if (s->next != NULL) s->next->prev = s->prev;
}

static void push_slab(mt_slab **list, mt_slab *s) {
  s->prev = NULL;
  s->next = *list;
  if (*list != NULL) (*list)->prev = s;
  *list = s;
}

static mt_slab *new_slab(mt_pool *p, size_t c) {
  mt_slab *s = aligned_alloc(SLAB_SIZE, SLAB_SIZE);
  if (s == NULL) return NULL;
  size_t bytes = class_bytes(c);
  s->free = NULL;
  s->fresh = s->blocks;
  s->end = s->blocks + (SLAB_SIZE - offsetof(mt_slab, blocks)) / bytes * bytes;
  s->used = 0;
  s->class = (uint32_t)c;
  push_slab(&p->room[c], s);
  p->slabs++;
  return s;
}

void *pool_alloc(mt_pool *p, size_t size) {
  size_t c = class_of(size);
  mt_slab *s = p->room[c];
  if (s == NULL && (s = new_slab(p, c)) == NULL) return NULL;
  void *block;
  if (s->free != NULL) {
    block = s->free;
    s->free = *(void **)block;
  } else {
    block = s->fresh;
    s->fresh += class_bytes(c);
  }
  s->used++;
  if (s->free == NULL && s->fresh == s->end) { /* no room left */
    unlink_slab(&p->room[c], s);
    push_slab(&p->full, s);
  }
  return block;
}

/* Strays exist only after malloc failed during a shrink, so the search
** costs nothing in normal runs (nstrays is 0). Running out of places for
** them needs POOL_STRAYS such blocks alive at once while malloc fails. */
void pool_keep(mt_pool *p, void *block) {
  if (p->nstrays == POOL_STRAYS) {
    fputs("mtint: out of memory: too many blocks shrunk while malloc fails\n", stderr);
    abort();
  }
  p->strays[p->nstrays++] = block;
}

static int free_stray(mt_pool *p, void *block) {
  for (size_t i = 0; i < p->nstrays; i++) {
    if (p->strays[i] == block) {
      p->strays[i] = p->strays[--p->nstrays];
      free(block);
      return 1;
    }
  }
  return 0;
}

void pool_free(mt_pool *p, void *block) {
  if (p->nstrays != 0 && free_stray(p, block)) return;
  mt_slab *s = slab_of(block);
  mt_slab **room = &p->room[s->class];
  if (s->free == NULL && s->fresh == s->end) { /* was full: has room again */
    unlink_slab(&p->full, s);
    push_slab(room, s);
  }
  *(void **)block = s->free;
  s->free = block;
  if (--s->used == 0 && (s->prev != NULL || s->next != NULL)) {
    unlink_slab(room, s);
    free(s);
    p->slabs--;
  }
}

int pool_same_class(size_t a, size_t b) { return class_of(a) == class_of(b); }

static void free_list(mt_slab *s) {
  for (mt_slab *next; s != NULL; s = next) {
    next = s->next;
    free(s);
  }
}

void pool_destroy(mt_pool *p) {
  for (size_t c = 0; c < POOL_CLASSES; c++) free_list(p->room[c]);
  free_list(p->full);
  for (size_t i = 0; i < p->nstrays; i++) free(p->strays[i]);
  memset(p, 0, sizeof *p);
}
