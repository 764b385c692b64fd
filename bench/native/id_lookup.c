/*
** What a lookup by id costs in the core, without Lua or FFI around it:
** mt_interrupt on a live idle state (once, then withdraw), mt_id_known on a
** live id and on ids never issued, and from a hosted state's scope (the
** path mtint.interrupt takes in Lua) on its own id and on another
** tenant's. Uses only the core's public interface, so the same file
** measures an older core too. Prints "key ns" lines.
**
**   zig cc -O2 -pthread -DMTINT_SCOPES -Icsrc/core bench/native/id_lookup.c csrc/core/<each .c> -o id_lookup
*/
#include <stdio.h>
#include <stdlib.h>

#include "mtint_core.h"

static void arm(void *ctx, void *L) { (void)ctx, (void)L; }
static void arm_call(void *ctx) { (void)ctx; }
static const mt_ops ops = {arm, arm_call};

static volatile int sink;

static double per_call(long n, uint64_t t0) { return (double)(mt_now_ns() - t0) / (double)n; }

#define MEASURE(key, n, expr)                                                        \
  do {                                                                               \
    double best = 1e30;                                                              \
    for (int round = 0; round < 7; round++) {                                        \
      uint64_t t0 = mt_now_ns();                                                     \
      for (long i = 0; i < (n); i++) sink += (expr);                                 \
      double x = per_call((n), t0);                                                  \
      if (x < best) best = x;                                                        \
    }                                                                                \
    printf("%s %.1f\n", key, best);                                                  \
  } while (0)

#define TARGETS 64

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  char a_main, b_main, b_co[TARGETS];
  mt_universe *a = mt_universe_open(&ops, NULL, &a_main, 1);
  mt_universe *b = mt_universe_open(&ops, NULL, &b_main, 1);
  /* Several targets, cycled, so that no compiler hoists a lookup. */
  uint64_t other[TARGETS], never[TARGETS];
  for (int i = 0; i < TARGETS; i++) {
    other[i] = mt_id_of(b, &b_co[i], 1);
    never[i] = other[i] ^ 0x5A5A5A5A5Aull;
  }
  uint64_t own = mt_main_id(a);
  MEASURE("interrupt_once", n, mt_interrupt(other[i & (TARGETS - 1)], MT_ONCE, NULL));
  MEASURE("interrupt_withdraw", n, mt_interrupt(other[i & (TARGETS - 1)], MT_NONE, NULL));
  MEASURE("id_known_live", n, mt_id_known(other[i & (TARGETS - 1)]));
  MEASURE("id_known_never", n, mt_id_known(never[i & (TARGETS - 1)]));
#ifdef MTINT_SCOPES
  MEASURE("scoped_interrupt_own", n, mt_interrupt_from(a, own, MT_ONCE, NULL));
  MEASURE("scoped_interrupt_other_tenant", n, mt_interrupt_from(a, other[i & (TARGETS - 1)], MT_ONCE, NULL));
  MEASURE("scoped_interrupt_never", n, mt_interrupt_from(a, never[i & (TARGETS - 1)], MT_ONCE, NULL));
#else
  (void)own;
#endif
  mt_universe_close(a);
  mt_universe_close(b);
  return 0;
}
