/*
** Ids that cannot be guessed. An id handed to Lua or JavaScript is a
** capability, so it must tell nothing about other ids: the registry's
** internal value (generation << SLOT_BITS | slot index, 53 bits) goes
** through a keyed permutation of [0, 2^53) whose key is drawn from the
** kernel when the core loads. Consecutive slots and generations come out
** unrelated; the permutation is a bijection, so ids stay unique and below
** 2^53, and a lookup decodes the id to find its slot in O(1).
**
** The permutation is an alternating (unbalanced) Feistel network over a
** 26-bit and a 27-bit half: no cycle-walking is needed for the 53-bit
** domain. The round function is a keyed 64x64->128 multiply folded to 64
** bits, about 6 cycles; ID_ROUNDS rounds keep a decode near 10-15 ns
** (bench/native/id_lookup.c), the budget of an interrupt from JavaScript.
*/
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h> /* getentropy on macOS; glibc and musl also declare it in unistd.h */
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define ID_ROUNDS 6
#define HIGH_BITS 26
#define LOW_BITS 27
#define HIGH_MASK ((1u << HIGH_BITS) - 1)
#define LOW_MASK ((1u << LOW_BITS) - 1)

/* Written once, before any id exists (the constructor below). */
static uint64_t round_keys[ID_ROUNDS][2];

/* A product of two keyed copies of the half: quadratic in it, so carries
** mix every input bit into the folded result, at one multiply's latency. */
static inline uint64_t round_fn(int r, uint64_t half) {
  __uint128_t p = (__uint128_t)(half + round_keys[r][0]) * (half ^ round_keys[r][1]);
  return (uint64_t)p ^ (uint64_t)(p >> 64);
}

uint64_t id_encode(uint64_t x) {
  uint32_t hi = (uint32_t)(x >> LOW_BITS) & HIGH_MASK, lo = (uint32_t)x & LOW_MASK;
  for (int r = 0; r < ID_ROUNDS; r += 2) {
    lo ^= (uint32_t)round_fn(r, hi) & LOW_MASK;
    hi ^= (uint32_t)round_fn(r + 1, lo) & HIGH_MASK;
  }
  return ((uint64_t)hi << LOW_BITS) | lo;
}

uint64_t id_decode(uint64_t id) {
  uint32_t hi = (uint32_t)(id >> LOW_BITS) & HIGH_MASK, lo = (uint32_t)id & LOW_MASK;
  for (int r = ID_ROUNDS - 2; r >= 0; r -= 2) {
    hi ^= (uint32_t)round_fn(r + 1, lo) & HIGH_MASK;
    lo ^= (uint32_t)round_fn(r, hi) & LOW_MASK;
  }
  return ((uint64_t)hi << LOW_BITS) | lo;
}

static int read_urandom(void *buf, size_t len) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  return got == len ? 0 : -1;
}

/* getentropy (glibc, musl, macOS, the BSDs) takes at most 256 bytes. */
__attribute__((constructor)) static void id_key_init(void) {
  _Static_assert(sizeof round_keys <= 256, "one getentropy call");
  if (getentropy(round_keys, sizeof round_keys) == 0 || read_urandom(round_keys, sizeof round_keys) == 0) return;
  /* No kernel randomness at all: ids stay unique but become guessable. */
  fprintf(stderr, "mtint: no system randomness (getentropy, /dev/urandom); ids are predictable\n");
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)(uintptr_t)&ts ^ (uint64_t)getpid();
  for (int r = 0; r < ID_ROUNDS; r++)
    for (int k = 0; k < 2; k++) {
      seed += 0x9E3779B97F4A7C15u; /* splitmix64 */
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
      round_keys[r][k] = z ^ (z >> 31);
    }
}
