/*
** Small blocks for one Lua state, without locks (pool.c).
*/
#ifndef MTINT_POOL_H
#define MTINT_POOL_H

#include <stddef.h>

#define POOL_MAX 256 /* bytes; larger blocks go to malloc */

typedef struct mt_pool {
  void *free[POOL_MAX / 16]; /* a free list per 16-byte class */
  unsigned char *bump; /* the rest of the newest slab */
  size_t left;
  struct mt_slab *slabs;
} mt_pool;

/* A block of 1..POOL_MAX bytes, 16-aligned; NULL when out of memory. */
void *pool_alloc(mt_pool *p, size_t size);
/* Returns a block of `size` bytes (the size it was allocated with). */
void pool_free(mt_pool *p, void *block, size_t size);
/* Whether blocks of these two sizes are interchangeable. */
int pool_same_class(size_t a, size_t b);
/* Frees every slab. */
void pool_destroy(mt_pool *p);

#endif
