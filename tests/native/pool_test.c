/*
** Tests of the small-block pool (csrc/lua/pool.c) against a model: random
** allocations, frees and in-class shrinks keep every live block's bytes;
** no two live blocks overlap; after a peak is freed the pool is back to at
** most one slab per class; strays (pool_keep) go back to malloc.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pool.h"

#define LIVE 20000

typedef struct {
  unsigned char *ptr;
  size_t size;
  unsigned char fill;
} block;

static block live[LIVE];
static size_t nlive;
static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static int intact(const block *b) {
  for (size_t i = 0; i < b->size; i++)
    if (b->ptr[i] != b->fill) return 0;
  return 1;
}

static void allocate(mt_pool *p) {
  block *b = &live[nlive++];
  b->size = 1 + next_random() % POOL_MAX;
  b->fill = (unsigned char)next_random();
  b->ptr = pool_alloc(p, b->size);
  CHECK(b->ptr != NULL && ((uintptr_t)b->ptr & 15) == 0);
  memset(b->ptr, b->fill, b->size);
}

static void release(mt_pool *p, size_t i) {
  CHECK(intact(&live[i]));
  pool_free(p, live[i].ptr);
  live[i] = live[--nlive];
}

static int compare_ptr(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)((const block *)a)->ptr, y = (uintptr_t)((const block *)b)->ptr;
  return x < y ? -1 : x > y;
}

static void check_disjoint(void) {
  qsort(live, nlive, sizeof *live, compare_ptr);
  for (size_t i = 1; i < nlive; i++) CHECK(live[i - 1].ptr + live[i - 1].size <= live[i].ptr);
}

static void random_traffic(mt_pool *p, int rounds) {
  for (int r = 0; r < rounds; r++) {
    uint64_t op = next_random() % 8;
    if (nlive == 0 || (op < 4 && nlive < LIVE)) {
      allocate(p);
    } else if (op < 7) {
      release(p, next_random() % nlive);
    } else { /* a shrink within the class keeps the block */
      block *b = &live[next_random() % nlive];
      size_t smaller = 1 + next_random() % b->size;
      CHECK(intact(b));
      if (pool_same_class(b->size, smaller)) b->size = smaller;
    }
  }
}

int main(void) {
  mt_pool p = {0};

  random_traffic(&p, 2000000);
  for (size_t i = 0; i < nlive; i++) CHECK(intact(&live[i]));
  check_disjoint();

  /* A peak, then everything freed: the slabs go back. */
  while (nlive < LIVE) allocate(&p);
  size_t peak = p.slabs;
  while (nlive > 0) release(&p, next_random() % nlive);
  CHECK(p.slabs <= POOL_CLASSES);
  printf("pool_test: %zu slabs at a peak of %d blocks, %zu after freeing them\n", peak, LIVE, p.slabs);

  /* One block allocated and freed at a slab's edge does not churn slabs. */
  size_t before = p.slabs;
  for (int i = 0; i < 1000; i++) pool_free(&p, pool_alloc(&p, 64));
  CHECK(p.slabs <= before + 1);

  /* Strays go back to malloc, whether freed or left to pool_destroy. */
  void *stray = malloc(300), *kept = malloc(400);
  pool_keep(&p, stray);
  pool_keep(&p, kept);
  pool_free(&p, stray);
  CHECK(p.nstrays == 1);

  random_traffic(&p, 200000);
  pool_destroy(&p);
  CHECK(p.slabs == 0 && p.nstrays == 0);

  if (failures) {
    fprintf(stderr, "pool_test: %d failure(s)\n", failures);
    return 1;
  }
  puts("pool_test: ok");
  return 0;
}
