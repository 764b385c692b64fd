/*
** Tests of csrc/core without Lua: ids, unknown ids, requests, per-call
** sequence numbers, deadlines, the mailbox, and a stress test in which
** owner threads register and forget states while other threads interrupt
** them. The stress test checks the two promises the Lua side relies on:
** the arm callback never names a state after it was forgotten, and no
** interrupt aimed at a live state is lost.
*/
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "mtint_core.h"

/* --- a fake Lua universe: "states" are slots in arrays ------------------ */

#define STABLE 8
#define TEMPS 256

typedef struct {
  mt_universe *u;
  char main_state;
  char stable[STABLE];
  char temps[TEMPS];
  volatile sig_atomic_t alive[TEMPS];    /* owner's own bookkeeping */
  _Atomic int armed[STABLE];
  _Atomic uint64_t temp_ids[TEMPS];      /* published for interrupters */
  _Atomic uint64_t stable_ids[STABLE];
  _Atomic uint64_t delivered[STABLE];
  _Atomic int bad_arms;                  /* arm of a forgotten state */
  _Atomic uint64_t arms;
  _Atomic int call_arms;
} fake;

static void fake_arm(void *ctx, void *L) {
  fake *f = ctx;
  atomic_fetch_add(&f->arms, 1);
  char *p = L;
  if (p >= f->stable && p < f->stable + STABLE) {
    atomic_store(&f->armed[p - f->stable], 1);
  } else if (p >= f->temps && p < f->temps + TEMPS) {
    if (!f->alive[p - f->temps]) atomic_fetch_add(&f->bad_arms, 1);
  } else if (p != &f->main_state) {
    atomic_fetch_add(&f->bad_arms, 1);
  }
}

static void fake_arm_call(void *ctx) { atomic_fetch_add(&((fake *)ctx)->call_arms, 1); }

static const mt_ops fake_ops = {fake_arm, fake_arm_call, NULL, NULL};

static uint64_t now_ms(void) { return mt_now_ns() / 1000000u; }

/* --- unit tests --------------------------------------------------------- */

static unsigned rand_step(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return *s >> 8;
}

static void test_ids(void) {
  fake *f = calloc(1, sizeof *f);
  f->u = mt_universe_open(&fake_ops, f, &f->main_state, 1);
  CHECK(f->u != NULL);
  uint64_t main_id = mt_main_id(f->u);
  CHECK(main_id >= 1 && main_id < MT_ID_LIMIT);
  CHECK(mt_id_of(f->u, &f->main_state, 0) == main_id);
  uint64_t a = mt_id_of(f->u, &f->temps[0], 1);
  uint64_t b = mt_id_of(f->u, &f->temps[1], 1);
  CHECK(a != 0 && b != 0 && a != b && a != main_id);
  CHECK(mt_id_of(f->u, &f->temps[0], 1) == a); /* stable per state */
  CHECK(mt_id_of(f->u, &f->temps[2], 0) == 0);
  CHECK(mt_id_known(a));
  CHECK(mt_forget(f->u, &f->temps[0]) == 1);
  CHECK(mt_forget(f->u, &f->temps[0]) == 0);
  CHECK(!mt_id_known(a));
  CHECK(mt_interrupt(a, MT_ONCE, NULL) == MT_UNKNOWN);
  uint64_t a2 = mt_id_of(f->u, &f->temps[0], 1);
  CHECK(a2 != a); /* never reused */
  /* Ids that were never issued, and out-of-range values. */
  uint64_t bad[] = {0,
                   1,
                   12345,
                   (uint64_t)-1,
                   (uint64_t)-65,
                   MT_ID_LIMIT,
                   MT_ID_LIMIT + 1,
                   main_id + 1,
                   main_id - 1,
                   main_id ^ ((uint64_t)1 << 40),
                   main_id | MT_ID_LIMIT};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(mt_interrupt(bad[i], MT_ONCE, NULL) == MT_UNKNOWN);
  CHECK(mt_interrupt_call(a2, 1) == MT_UNKNOWN); /* not a main id */
  uint64_t live = mt_live_ids();
  mt_universe_close(f->u);
  CHECK(mt_live_ids() == live - 3);
  CHECK(!mt_id_known(main_id) && !mt_id_known(b));
  free(f);
}


/* The internal value of an id (idcipher.c; the tests link the core). */
uint64_t id_encode(uint64_t value);
uint64_t id_decode(uint64_t id);

static int popcount64(uint64_t x) { return __builtin_popcountll(x); }

/* Ids are a keyed permutation of (generation, slot): a bijection below
** 2^53, and neighbours in either coordinate come out unrelated. */
static void test_id_cipher(void) {
  uint64_t samples[] = {0, 1, 2, (1u << 24) - 1, 1u << 24, ((uint64_t)1 << 53) - 1, 0x123456789ABCDull};
  for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
    uint64_t e = id_encode(samples[i]);
    CHECK(e < MT_ID_LIMIT);
    CHECK(id_decode(e) == samples[i]);
  }
  unsigned seed = 99;
  for (int i = 0; i < 100000; i++) {
    uint64_t x = ((uint64_t)rand_step(&seed) << 29 ^ rand_step(&seed)) & (MT_ID_LIMIT - 1);
    CHECK(id_decode(id_encode(x)) == x && id_encode(id_decode(x)) == x);
  }
  /* Consecutive slots, and the next generations of one slot: about half
  ** of the 53 bits differ, never a small difference. */
  long flips = 0;
  int n = 0;
  for (uint64_t gen = 1; gen < 64; gen++)
    for (uint64_t index = 0; index < 64; index++) {
      uint64_t a = id_encode(gen << 24 | index);
      uint64_t right = id_encode(gen << 24 | (index + 1)), up = id_encode((gen + 1) << 24 | index);
      uint64_t d1 = a > right ? a - right : right - a, d2 = a > up ? a - up : up - a;
      CHECK(d1 > (1u << 20) && d2 > (1u << 20));
      flips += popcount64(a ^ right) + popcount64(a ^ up);
      n += 2;
    }
  double mean = (double)flips / n;
  CHECK(mean > 24 && mean < 29);
}

/* Scopes: a hosted universe reaches its own ids only, unless granted; an
** id outside the scope answers as one never issued. */
static void test_scopes(void) {
  fake *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b), *d = calloc(1, sizeof *d);
  a->u = mt_universe_open(&fake_ops, a, &a->main_state, 1);
  b->u = mt_universe_open(&fake_ops, b, &b->main_state, 1);
  d->u = mt_universe_open(&fake_ops, d, &d->main_state, 0); /* drop-in */
  uint64_t a_main = mt_main_id(a->u), b_main = mt_main_id(b->u);
  uint64_t a_co = mt_id_of(a->u, &a->stable[0], 1), b_co = mt_id_of(b->u, &b->stable[0], 1);
  CHECK(mt_interrupt_from(a->u, a_co, MT_NONE, NULL) == MT_OK);
  CHECK(mt_interrupt_from(a->u, a_main, MT_NONE, NULL) == MT_OK);
  CHECK(mt_interrupt_from(a->u, b_main, MT_ONCE, NULL) == MT_UNKNOWN);
  CHECK(mt_interrupt_from(a->u, b_co, MT_ALWAYS, NULL) == MT_UNKNOWN);
  CHECK(mt_pending_count(b->u) == 0);
  CHECK(!mt_id_known_from(a->u, b_main) && !mt_id_known_from(a->u, b_co));
  CHECK(mt_id_known_from(NULL, b_co) && mt_id_known_from(d->u, b_co)); /* host, drop-in */
  CHECK(mt_interrupt_from(d->u, b_co, MT_NONE, NULL) == MT_OK);
  /* Grants name a live state's main id, never a coroutine's. */
  CHECK(mt_scope_grant(a->u, b_co) == MT_UNKNOWN);
  CHECK(mt_scope_grant(a->u, b_main + 1) == MT_UNKNOWN);
  CHECK(mt_interrupt_from(a->u, b_co, MT_NONE, NULL) == MT_UNKNOWN);
  CHECK(mt_scope_grant(a->u, b_main) == MT_OK);
  CHECK(mt_interrupt_from(a->u, b_co, MT_ONCE, NULL) == MT_OK);
  CHECK(mt_interrupt_from(a->u, b_main, MT_NONE, NULL) == MT_OK);
  CHECK(mt_interrupt_from(b->u, a_main, MT_NONE, NULL) == MT_UNKNOWN); /* one way */
  mt_scope_all(b->u, 1);
  CHECK(mt_interrupt_from(b->u, a_main, MT_NONE, NULL) == MT_OK);
  mt_scope_all(b->u, 0);
  CHECK(mt_interrupt_from(b->u, a_main, MT_NONE, NULL) == MT_UNKNOWN);
  CHECK(mt_take(b->u, &b->stable[0]) == MT_ONCE);

  /* Pins keep an id known after its target is gone, within scope. */
  uint64_t t = mt_id_of(b->u, &b->temps[0], 1);
  CHECK(mt_pin(b->u, t) == MT_OK);
  CHECK(mt_pin(NULL, t) == MT_OK);
  mt_universe *c_u = mt_universe_open(&fake_ops, d, NULL, 1); /* a third tenant */
  CHECK(mt_pin(c_u, t) == MT_UNKNOWN);
  CHECK(mt_forget(b->u, &b->temps[0]) == 1);
  CHECK(!mt_id_known(t) && mt_interrupt(t, MT_ONCE, NULL) == MT_UNKNOWN);
  CHECK(mt_pinned_from(b->u, t) && mt_pinned_from(a->u, t) && mt_pinned_from(NULL, t));
  CHECK(!mt_pinned_from(c_u, t) && mt_pin(c_u, t) == MT_UNKNOWN);
  CHECK(mt_pin(b->u, t) == MT_OK); /* another object for a gone target */
  mt_unpin(t);
  mt_unpin(t);
  CHECK(mt_pinned_from(NULL, t));
  mt_unpin(t);
  CHECK(!mt_pinned_from(NULL, t) && mt_pin(b->u, t) == MT_UNKNOWN);
  mt_unpin(t); /* unbalanced: harmless */
  /* Many pins: the table grows and shrinks back to nothing. */
  uint64_t many[TEMPS];
  for (int i = 0; i < TEMPS; i++) {
    many[i] = mt_id_of(b->u, &b->temps[i], 1);
    CHECK(mt_pin(b->u, many[i]) == MT_OK);
  }
  for (int i = 0; i < TEMPS; i += 2) mt_forget(b->u, &b->temps[i]);
  for (int i = 0; i < TEMPS; i++) CHECK(mt_pinned_from(b->u, many[i]));
  for (int i = 0; i < TEMPS; i++) mt_unpin(many[i]);
  for (int i = 0; i < TEMPS; i++) CHECK(!mt_pinned_from(b->u, many[i]));

  mt_universe_close(c_u);
  mt_universe_close(a->u);
  mt_universe_close(b->u);
  mt_universe_close(d->u);
  free(a);
  free(b);
  free(d);
}

static void test_requests(void) {
  fake *f = calloc(1, sizeof *f);
  f->u = mt_universe_open(&fake_ops, f, &f->main_state, 1);
  uint64_t id = mt_id_of(f->u, &f->stable[0], 1);
  mt_mode was;
  CHECK(mt_interrupt(id, MT_ONCE, &was) == MT_OK && was == MT_NONE);
  CHECK(mt_pending_count(f->u) == 1);
  CHECK(mt_peek(f->u, &f->stable[0]) == MT_ONCE);
  CHECK(mt_take(f->u, &f->stable[0]) == MT_ONCE);
  CHECK(mt_take(f->u, &f->stable[0]) == MT_NONE);
  CHECK(mt_pending_count(f->u) == 0);
  CHECK(mt_interrupt(id, MT_ALWAYS, NULL) == MT_OK);
  CHECK(mt_take(f->u, &f->stable[0]) == MT_ALWAYS);
  CHECK(mt_take(f->u, &f->stable[0]) == MT_ALWAYS);
  CHECK(mt_interrupt(id, MT_NONE, &was) == MT_OK && was == MT_ALWAYS);
  CHECK(mt_take(f->u, &f->stable[0]) == MT_NONE);
  CHECK(mt_pending_count(f->u) == 0);
  /* Idle hosted universe: no signal, the next call arms. */
  atomic_store(&f->armed[0], 0);
  CHECK(mt_interrupt(id, MT_ONCE, NULL) == MT_OK);
  CHECK(atomic_load(&f->armed[0]) == 0);
  CHECK(mt_call_begin(f->u, 1) == 1);
  CHECK(atomic_load(&f->armed[0]) == 1);
  mt_call_end(f->u);
  mt_universe_close(f->u);
  free(f);
}

static void test_calls(void) {
  fake *f = calloc(1, sizeof *f);
  f->u = mt_universe_open(&fake_ops, f, &f->main_state, 1);
  uint64_t main_id = mt_main_id(f->u);
  CHECK(mt_call_begin(f->u, 1) == 1);
  CHECK(!mt_call_cancelled(f->u));
  CHECK(mt_interrupt_call(main_id, 1) == MT_OK);
  CHECK(mt_call_cancelled(f->u));
  CHECK(atomic_load(&f->call_arms) == 1); /* the owner kicked itself */
  mt_call_end(f->u);
  CHECK(!mt_call_cancelled(f->u));
  /* A late cancellation of call 1 never touches call 2. */
  CHECK(mt_call_begin(f->u, 2) == 1);
  CHECK(mt_interrupt_call(main_id, 1) == MT_OK);
  CHECK(!mt_call_cancelled(f->u));
  mt_call_end(f->u);
  /* Cancelled before it started. */
  CHECK(mt_interrupt_call(main_id, 3) == MT_OK);
  CHECK(mt_call_begin(f->u, 3) == 0);
  mt_call_end(f->u);
  CHECK(mt_call_begin(f->u, 4) == 1);
  CHECK(!mt_call_cancelled(f->u));
  mt_call_end(f->u);
  mt_universe_close(f->u);
  free(f);
}

static void test_deadline(void) {
  fake *f = calloc(1, sizeof *f);
  f->u = mt_universe_open(&fake_ops, f, &f->main_state, 1);
  CHECK(mt_call_begin(f->u, 7) == 1);
  uint64_t start = mt_now_ns();
  CHECK(mt_deadline_set(f->u, 7, start + 20000000u, 0));
  while (!mt_call_cancelled(f->u) && mt_now_ns() - start < 2000000000u) {
  }
  uint64_t took = mt_now_ns() - start;
  CHECK(mt_call_cancelled(f->u));
  CHECK(took >= 20000000u);
  mt_call_end(f->u);
  /* A cleared deadline never fires. */
  CHECK(mt_call_begin(f->u, 8) == 1);
  mt_deadline_set(f->u, 8, mt_now_ns() + 5000000u, 0);
  mt_deadline_clear(f->u);
  usleep(20000);
  CHECK(!mt_call_cancelled(f->u));
  mt_call_end(f->u);
  mt_universe_close(f->u);
  free(f);
}

typedef struct {
  uint64_t id;
  int delay_ms;
} send_args;

static void *sender(void *arg) {
  send_args *a = arg;
  usleep((useconds_t)a->delay_ms * 1000);
  mt_mailbox_send(a->id, "hello", 5);
  return NULL;
}

static void *interrupter_once(void *arg) {
  send_args *a = arg;
  usleep((useconds_t)a->delay_ms * 1000);
  mt_interrupt(a->id, MT_ONCE, NULL);
  return NULL;
}

static void test_mailbox(void) {
  fake *f = calloc(1, sizeof *f);
  f->u = mt_universe_open(&fake_ops, f, &f->main_state, 1);
  uint64_t id = mt_main_id(f->u);
  mt_message *m = NULL;
  CHECK(mt_mailbox_recv(f->u, 1000000, mt_mailbox_wakes(f->u), &m) == MT_RECV_TIMEOUT);
  CHECK(mt_mailbox_send(id, "a", 1) == MT_OK && mt_mailbox_send(id, "bc", 2) == MT_OK);
  CHECK(mt_mailbox_recv(f->u, 0, mt_mailbox_wakes(f->u), &m) == MT_RECV_MESSAGE && m->len == 1 && m->data[0] == 'a');
  mt_message_free(m);
  CHECK(mt_mailbox_recv(f->u, 0, mt_mailbox_wakes(f->u), &m) == MT_RECV_MESSAGE && m->len == 2);
  mt_message_free(m);
  pthread_t t;
  send_args a = {id, 20};
  pthread_create(&t, NULL, sender, &a);
  CHECK(mt_mailbox_recv(f->u, -1, mt_mailbox_wakes(f->u), &m) == MT_RECV_MESSAGE && m->len == 5);
  mt_message_free(m);
  pthread_join(t, NULL);
  /* An interrupt wakes a waiting recv. */
  CHECK(mt_call_begin(f->u, 1) == 1);
  pthread_create(&t, NULL, interrupter_once, &a);
  CHECK(mt_mailbox_recv(f->u, 5000000000, mt_mailbox_wakes(f->u), &m) == MT_RECV_WOKEN);
  pthread_join(t, NULL);
  mt_call_end(f->u);
  CHECK(mt_mailbox_send(id + 1, "x", 1) == MT_UNKNOWN);
  mt_universe_close(f->u);
  CHECK(mt_mailbox_send(id, "x", 1) == MT_UNKNOWN);
  free(f);
}

/* Answers to a waiting owner (mt_reply_wait): quick ones, found by its
** spin, and late ones, found after it sleeps; stale answers in between
** must be dropped; interrupts wake the wait without losing an answer. */
#define REPLIES 3000

typedef struct {
  uint64_t id;
  _Atomic uint64_t asked;
  _Atomic int done;
} reply_args;

static void *replier(void *arg) {
  reply_args *a = arg;
  for (uint64_t t = 1; t <= REPLIES; t++) {
    while (atomic_load(&a->asked) < t) sched_yield();
    if (t % 7 == 0) usleep(200); /* past the owner's spin */
    if (t > 1) mt_reply_send(a->id, t - 1, "stale", 5);
    mt_reply_send(a->id, t, &t, sizeof t);
  }
  return NULL;
}

static void *reply_interrupter(void *arg) {
  reply_args *a = arg;
  while (!atomic_load(&a->done)) {
    mt_interrupt(a->id, MT_ONCE, NULL);
    usleep(50);
  }
  return NULL;
}

static void test_replies(void) {
  fake *f = calloc(1, sizeof *f);
  f->u = mt_universe_open(&fake_ops, f, &f->main_state, 1);
  reply_args a = {.id = mt_main_id(f->u)};
  CHECK(mt_call_begin(f->u, 1) == 1);
  pthread_t t1, t2;
  pthread_create(&t1, NULL, replier, &a);
  pthread_create(&t2, NULL, reply_interrupter, &a);
  int wrong = 0;
  for (uint64_t t = 1; t <= REPLIES; t++) {
    atomic_store(&a.asked, t);
    mt_message *m = NULL;
    while (mt_reply_wait(f->u, t, mt_mailbox_wakes(f->u), &m) != MT_RECV_MESSAGE) {}
    uint64_t got = 0;
    if (m->len == sizeof got) memcpy(&got, m->data, sizeof got);
    wrong += got != t;
    mt_message_free(m);
  }
  atomic_store(&a.done, 1);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  CHECK(wrong == 0);
  mt_call_end(f->u);
  mt_universe_close(f->u);
  free(f);
}

/* --- stress ------------------------------------------------------------- */

#define OWNERS 3
#define INTERRUPTERS 3

static fake *owners[OWNERS];
static _Atomic int owners_ready;
static _Atomic int stop_owners, stop_interrupters;
static _Atomic int lost;
static _Atomic int escaped; /* a scoped interrupt reached another tenant */

static unsigned next_rand(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return *s >> 8;
}

static void *owner_main(void *arg) {
  fake *f = arg;
  unsigned seed = (unsigned)(uintptr_t)arg;
  f->u = mt_universe_open(&fake_ops, f, &f->main_state, 0);
  for (int i = 0; i < STABLE; i++) atomic_store(&f->stable_ids[i], mt_id_of(f->u, &f->stable[i], 1));
  atomic_fetch_add(&owners_ready, 1);
  while (!atomic_load(&stop_owners)) {
    for (int k = 0; k < 64; k++) {
      unsigned i = next_rand(&seed) % TEMPS;
      if (f->alive[i]) {
        mt_forget(f->u, &f->temps[i]);
        f->alive[i] = 0; /* after: the core may still arm it until forget returns */
      } else {
        f->alive[i] = 1;
        atomic_store(&f->temp_ids[i], mt_id_of(f->u, &f->temps[i], 1));
      }
    }
    for (int s = 0; s < STABLE; s++)
      if (atomic_exchange(&f->armed[s], 0) && mt_take(f->u, &f->stable[s]) == MT_ONCE)
        atomic_fetch_add(&f->delivered[s], 1);
  }
  mt_universe_close(f->u);
  return NULL;
}

/* Each interrupter owns stable slot `n` of every owner: it sends a once
** request and waits for its delivery (lost if it takes > 2 s), and fires
** at temporary and made-up ids in between. */
static void *interrupter_main(void *arg) {
  int n = (int)(intptr_t)arg;
  unsigned seed = 77u * (unsigned)n + 1;
  uint64_t sent[OWNERS] = {0};
  /* A tenant of its own, whose scoped lookups, pins and unpins race the
  ** owners' registrations and forgets: it must never reach them. */
  fake *self = calloc(1, sizeof *self);
  mt_universe *mine = mt_universe_open(&fake_ops, self, &self->main_state, 1);
  while (!atomic_load(&stop_interrupters)) {
    for (int o = 0; o < OWNERS; o++) {
      fake *f = owners[o];
      uint64_t before = atomic_load(&f->delivered[n]);
      mt_interrupt(atomic_load(&f->stable_ids[n]), MT_ONCE, NULL);
      sent[o]++;
      for (int k = 0; k < 16; k++) {
        uint64_t id = atomic_load(&f->temp_ids[next_rand(&seed) % TEMPS]);
        mt_interrupt(id, (mt_mode)(next_rand(&seed) % 3), NULL);
        mt_interrupt(next_rand(&seed) | ((uint64_t)next_rand(&seed) << 24), MT_ONCE, NULL);
        if (mt_interrupt_from(mine, id, MT_ONCE, NULL) == MT_OK || mt_id_known_from(mine, id) ||
            mt_pinned_from(mine, id))
          atomic_fetch_add(&escaped, 1);
        if (mt_pin(NULL, id) == MT_OK) {
          if (mt_pin(mine, id) == MT_OK) atomic_fetch_add(&escaped, 1);
          mt_unpin(id);
        }
      }
      uint64_t start = now_ms();
      while (atomic_load(&f->delivered[n]) == before) {
        if (now_ms() - start > 2000) {
          atomic_fetch_add(&lost, 1);
          break;
        }
        sched_yield();
      }
    }
  }
  mt_universe_close(mine);
  free(self);
  return NULL;
}

static void test_stress(int seconds) {
  pthread_t o[OWNERS], in[INTERRUPTERS];
  for (int i = 0; i < OWNERS; i++) {
    owners[i] = calloc(1, sizeof(fake));
    pthread_create(&o[i], NULL, owner_main, owners[i]);
  }
  while (atomic_load(&owners_ready) < OWNERS) usleep(1000);
  for (intptr_t i = 0; i < INTERRUPTERS; i++) pthread_create(&in[i], NULL, interrupter_main, (void *)i);
  sleep((unsigned)seconds);
  atomic_store(&stop_interrupters, 1); /* owners keep delivering meanwhile */
  for (int i = 0; i < INTERRUPTERS; i++) pthread_join(in[i], NULL);
  atomic_store(&stop_owners, 1);
  for (int i = 0; i < OWNERS; i++) pthread_join(o[i], NULL);
  uint64_t delivered = 0, arms = 0;
  for (int i = 0; i < OWNERS; i++) {
    CHECK(atomic_load(&owners[i]->bad_arms) == 0);
    for (int s = 0; s < STABLE; s++) delivered += atomic_load(&owners[i]->delivered[s]);
    arms += atomic_load(&owners[i]->arms);
    free(owners[i]);
  }
  CHECK(atomic_load(&lost) == 0);
  CHECK(atomic_load(&escaped) == 0);
  CHECK(delivered > 0);
  CHECK(mt_live_ids() == 0 && mt_live_universes() == 0);
  printf("stress: %d s, %llu deliveries, %llu arms, %d lost\n", seconds, (unsigned long long)delivered,
         (unsigned long long)arms, atomic_load(&lost));
}

int main(int argc, char **argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 3;
  test_ids();
  test_id_cipher();
  test_scopes();
  test_requests();
  test_calls();
  test_deadline();
  test_mailbox();
  test_replies();
  CHECK(mt_live_ids() == 0);
  test_stress(seconds);
  if (failures) {
    fprintf(stderr, "core_test: %d failure(s)\n", failures);
    return 1;
  }
  printf("core_test: ok\n");
  return 0;
}
