/*
** Stress of inspection's shared fields (csrc/core/inspect.c) without Lua:
** an owner thread runs "calls" whose fake hook does what csrc/lua/inspect.c
** does (take the request word, answer stacks, add samples, pause), armed
** only by the core's kicks, while other threads ask for stacks, pause and
** resume, profile, interrupt and cancel calls. Checks that no request is
** lost (every stack ticket is answered or its call ends; every pause is
** reached or ends), that a paused owner is always released (by resume, an
** interrupt or a cancellation), and that the profile's counts add up. Run
** under ThreadSanitizer by `zig build test`.
*/
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "mtint_core.h"

double mtint_stack_ask(double id);
double mtint_stack_read(double id, double ticket, unsigned char *out, double cap);
int mtint_inspect_kick(double id);
int mtint_pause(double id);
int mtint_pause_state(double id);
int mtint_resume(double id);
int mtint_profile_start(double id, double period_ms);
int mtint_profile_stop(double id, double *out);
double mtint_profile_text(double id, unsigned char *out, double cap);

typedef struct {
  mt_universe *u;
  char main_state;
  _Atomic int armed;
  _Atomic uint64_t id;
  _Atomic int ready, stop;
  _Atomic uint64_t answers, samples_added, pauses;
} owner;

static void arm(void *ctx, void *L) {
  (void)L;
  atomic_store(&((owner *)ctx)->armed, 1);
}

static void arm_call(void *ctx) { atomic_store(&((owner *)ctx)->armed, 1); }

static const mt_ops ops = {arm, arm_call, NULL, NULL};

static uint64_t now_ms(void) { return mt_now_ns() / 1000000u; }

/* The fake hook: csrc/lua/inspect.c's inspect_run, then hook.c's settle. */
static void hook(owner *o) {
  uint32_t bits = mt_inspect_take(o->u);
  if (bits & MT_INSPECT_STACK) {
    mt_stack_answer(o->u, "frames", 6);
    atomic_fetch_add(&o->answers, 1);
  }
  if (bits & MT_INSPECT_SAMPLE) {
    mt_profile_add(o->u, (atomic_load(&o->samples_added) & 1) ? "main;a" : "main;b", 6);
    atomic_fetch_add(&o->samples_added, 1);
  }
  if (bits & MT_INSPECT_PAUSE) {
    atomic_fetch_add(&o->pauses, 1);
    while (mt_pause_wait(o->u)) mt_stack_answer(o->u, "paused", 6);
  }
  mt_kicks_hold(o->u);
  if (atomic_load(mt_inspect_word(o->u)) != 0) atomic_store(&o->armed, 1); /* desired() */
  mt_take(o->u, &o->main_state); /* an interrupt: delivered (dropped here) */
  mt_kicks_release(o->u);
}

static void *owner_main(void *arg) {
  owner *o = arg;
  o->u = mt_universe_open(&ops, o, &o->main_state, 1);
  atomic_store(&o->id, mt_main_id(o->u));
  atomic_store(&o->ready, 1);
  for (uint64_t seq = 1; !atomic_load(&o->stop); seq++) {
    if (!mt_call_begin(o->u, seq)) {
      mt_call_end(o->u);
      continue;
    }
    for (int i = 0; i < 2000 && !mt_call_cancelled(o->u); i++) {
      if (atomic_exchange(&o->armed, 0)) hook(o);
      if ((i & 63) == 0) sched_yield();
    }
    mt_call_end(o->u);
  }
  mt_universe_close(o->u);
  return NULL;
}

static owner the_owner;
static _Atomic int stop_askers;
static _Atomic int lost_stacks, lost_pauses;

static void *stack_asker(void *arg) {
  (void)arg;
  double id = (double)atomic_load(&the_owner.id);
  unsigned char buf[16];
  while (!atomic_load(&stop_askers)) {
    double ticket = mtint_stack_ask(id);
    if (ticket <= 0) continue;
    uint64_t start = now_ms();
    for (int polls = 0;; polls++) {
      double n = mtint_stack_read(id, ticket, buf, sizeof buf);
      if (n >= 0 || n == -3) break;
      if (now_ms() - start > 2000) {
        atomic_fetch_add(&lost_stacks, 1);
        break;
      }
      if (polls % 8 == 7) mtint_inspect_kick(id);
      sched_yield();
    }
  }
  return NULL;
}

static void *pauser(void *arg) {
  (void)arg;
  double id = (double)atomic_load(&the_owner.id);
  while (!atomic_load(&stop_askers)) {
    if (mtint_pause(id) != 1) continue;
    uint64_t start = now_ms();
    int state;
    while ((state = mtint_pause_state(id)) == 0) {
      if (now_ms() - start > 2000) {
        atomic_fetch_add(&lost_pauses, 1);
        break;
      }
      mtint_inspect_kick(id);
      sched_yield();
    }
    if (state == 1) usleep(200);
    mtint_resume(id);
  }
  return NULL;
}

static void *disturber(void *arg) {
  (void)arg;
  uint64_t id = atomic_load(&the_owner.id);
  unsigned seed = 7;
  while (!atomic_load(&stop_askers)) {
    seed = seed * 1103515245u + 12345u;
    switch ((seed >> 8) % 4) {
      case 0: mt_interrupt(id, MT_ONCE, NULL); break;
      case 1: mt_interrupt_call(id, mt_call_current(the_owner.u)); break;
      case 2: {
        double out[2];
        if (mtint_profile_start((double)id, 0.05) == 0) {
          usleep(2000);
          if (mtint_profile_stop((double)id, out) == 0) {
            char *text = malloc((size_t)out[1] + 1);
            double n = mtint_profile_text((double)id, (unsigned char *)text, out[1]);
            uint64_t sum = 0;
            for (char *p = text, *end = text + (size_t)n; p < end;) {
              char *nl = memchr(p, '\n', (size_t)(end - p));
              if (nl == NULL) break;
              char *sp = p;
              for (char *q = p; q < nl; q++)
                if (*q == ' ') sp = q;
              sum += strtoull(sp + 1, NULL, 10);
              p = nl + 1;
            }
            CHECK(n == out[1] && sum == (uint64_t)out[0]);
            free(text);
          }
        }
        break;
      }
      default: usleep(100);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 3;
  /* Idle and unknown ids. */
  CHECK(mtint_stack_ask(12345) == -1 && mtint_pause(12345) == -1 && mtint_resume(12345) == -1);
  pthread_t o, t[4];
  pthread_create(&o, NULL, owner_main, &the_owner);
  while (!atomic_load(&the_owner.ready)) usleep(100);
  pthread_create(&t[0], NULL, stack_asker, NULL);
  pthread_create(&t[1], NULL, stack_asker, NULL);
  pthread_create(&t[2], NULL, pauser, NULL);
  pthread_create(&t[3], NULL, disturber, NULL);
  sleep((unsigned)seconds);
  atomic_store(&stop_askers, 1);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  atomic_store(&the_owner.stop, 1);
  mtint_resume((double)atomic_load(&the_owner.id));
  pthread_join(o, NULL);
  CHECK(atomic_load(&lost_stacks) == 0);
  CHECK(atomic_load(&lost_pauses) == 0);
  CHECK(atomic_load(&the_owner.answers) > 0 && atomic_load(&the_owner.pauses) > 0);
  CHECK(mt_live_ids() == 0 && mt_live_universes() == 0);
  printf("inspect stress: %d s, %llu stacks, %llu pauses, %llu samples; lost %d stacks, %d pauses\n", seconds,
         (unsigned long long)atomic_load(&the_owner.answers), (unsigned long long)atomic_load(&the_owner.pauses),
         (unsigned long long)atomic_load(&the_owner.samples_added), atomic_load(&lost_stacks),
         atomic_load(&lost_pauses));
  return failures != 0;
}
