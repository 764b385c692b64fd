/*
** Small blocks for one Lua state, without locks (pool.c).
*/
#ifndef MTINT_POOL_H
#define MTINT_POOL_H

#include <stddef.h>

#define POOL_MAX 256 /* bytes; larger blocks go to malloc */
#define POOL_CLASSES (POOL_MAX / 16)
#define POOL_STRAYS 64

/* Blocks of 1..POOL_MAX bytes are the pool's; larger ones are malloc's.
** A malloc'd block that Lua shrinks to a small size while no pool block
** can be had stays where it is, as a "stray" (pool_keep). */

typedef struct mt_pool {
  struct mt_slab *room[POOL_CLASSES]; /* per class: slabs with a free block */
  struct mt_slab *full;               /* slabs without one */
  size_t slabs;                       /* how many are allocated */
  void *strays[POOL_STRAYS];
  size_t nstrays;
} mt_pool;

/* A block of 1..POOL_MAX bytes, 16-aligned; NULL when out of memory. */
void *pool_alloc(mt_pool *p, size_t size);
/* Takes a malloc'd block in as a small one: Lua's allocator may not fail
** a shrink, even when no pool block can be had. */
void pool_keep(mt_pool *p, void *block);
/* Returns a small block (from pool_alloc or pool_keep). */
void pool_free(mt_pool *p, void *block);
/* Whether blocks of these two sizes are interchangeable. */
int pool_same_class(size_t a, size_t b);
/* Frees every slab and stray. */
void pool_destroy(mt_pool *p);

#endif
