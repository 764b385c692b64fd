/*
** The watchdog: one native thread that
**
** - cancels host calls whose time is up, so a timeout fires on time however
**   busy the JavaScript thread that set it is. A call with a CPU limit is
**   looked at when its limit would be used up if it had the CPU all the
**   time (CPU time never runs ahead of the wall clock on one thread), and
**   again when the rest would be, until it is or the wall deadline comes. An expired entry stays in
**   the heap, moved REKICK_NS ahead, until its call ends: a script that
**   removes the interrupt hook through some C module is kicked again. The
**   entry names its universe by main id and call seq, so firing after the
**   call ended does nothing (mt_interrupt_call checks both);
** - ticks a profiled universe every period (PROFILE entries): each tick
**   asks its running call for a sample (inspect.c);
** - re-arms a universe while it has interrupt requests pending (2 ms after
**   the request, then every 4, 8, ... 64 ms), which closes the two windows
**   in which an arm can be undone on the owner thread itself: LuaJIT's
**   hook_enter/hook_leave are plain read-modify-writes of the hook mask, so
**   a kick landing between their load and store loses its count bit; Lua
**   5.4's luaG_traceexec can clear the trap of a frame the kick just set.
**   Both windows are a few instructions wide; the re-arm makes them cost a
**   delay instead of a lost interrupt.
**
** The heap (earliest first) is under wd_lock, and so are the writes of
** every universe's deadline_pos and rekick_pos.
*/
#include <stdlib.h>
#include <time.h>

#include "cond_clock.h"
#include "internal.h"
#include "timer_slack.h"

#define REKICK_NS 5000000u    /* 5 ms */
#define REARM_FIRST_NS 2000000u /* 2 ms */
#define REARM_MAX_NS 64000000u  /* 64 ms */

enum { DEADLINE, REARM, PROFILE };

typedef struct {
  uint64_t when;
  uint64_t main_id;   /* DEADLINE: the call's state */
  uint64_t seq;       /* DEADLINE: the call; REARM: the next interval;
                         PROFILE: the period */
  uint64_t handle;    /* REARM, PROFILE: the universe, validated on firing */
  uint64_t deadline;  /* DEADLINE: the wall-clock one, UINT64_MAX for none */
  uint64_t cpu_limit; /* DEADLINE: ns of CPU, 0 for none (or once fired) */
  mt_universe *u;
  int kind;
  mt_cause cause;     /* DEADLINE: why it fired, for the re-kicks */
} wd_entry;

static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond;
static wd_entry *heap;
static uint32_t heap_len, heap_cap;
static int wd_started;

uint64_t mt_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static _Atomic uint32_t *pos_of(wd_entry *e) {
  return e->kind == DEADLINE ? &e->u->deadline_pos : e->kind == REARM ? &e->u->rekick_pos : &e->u->profile_pos;
}

static void place(uint32_t i, wd_entry e) {
  heap[i] = e;
  *pos_of(&e) = i + 1;
}

static void sift_up(uint32_t i) {
  wd_entry e = heap[i];
  while (i > 0 && heap[(i - 1) / 2].when > e.when) {
    place(i, heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  place(i, e);
}

static void sift_down(uint32_t i) {
  wd_entry e = heap[i];
  for (;;) {
    uint32_t c = 2 * i + 1;
    if (c >= heap_len) break;
    if (c + 1 < heap_len && heap[c + 1].when < heap[c].when) c++;
    if (heap[c].when >= e.when) break;
    place(i, heap[c]);
    i = c;
  }
  place(i, e);
}

static void heap_remove(uint32_t i) {
  *pos_of(&heap[i]) = 0;
  heap_len--;
  if (i == heap_len) return;
  wd_entry moved = heap[heap_len];
  place(i, moved);
  sift_down(i);
  sift_up(*pos_of(&moved) - 1);
}

/* Adds an entry; 0 when out of memory. wd_lock held. */
static int heap_insert(wd_entry e) {
  if (heap_len == heap_cap) {
    uint32_t cap = heap_cap ? heap_cap * 2 : 16;
    wd_entry *h = realloc(heap, cap * sizeof *h);
    if (h == NULL) return 0;
    heap = h;
    heap_cap = cap;
  }
  heap_len++;
  place(heap_len - 1, e);
  sift_up(heap_len - 1);
  return 1;
}

static int rearm_insert(mt_universe *u);

static void *watchdog(void *arg) {
  (void)arg;
  timer_slack_min(); /* deadlines want timed waits on time */
  pthread_mutex_lock(&wd_lock);
  for (;;) {
    if (heap_len == 0) {
      pthread_cond_wait(&wd_cond, &wd_lock);
      continue;
    }
    uint64_t now = mt_now_ns();
    if (heap[0].when > now) {
      cond_wait_until(&wd_cond, &wd_lock, heap[0].when);
      continue;
    }
    wd_entry e = heap[0];
    if (e.kind == DEADLINE) {
      if (e.cpu_limit != 0 && now < e.deadline) {
        uint64_t used = call_cpu_ns(e.u);
        if (used < e.cpu_limit) { /* not yet: look again when it could be */
          uint64_t again = now + (e.cpu_limit - used);
          heap[0].when = again < e.deadline ? again : e.deadline;
          sift_down(0);
          continue;
        }
        e.cause = MT_CAUSE_CPU;
      } else if (e.cpu_limit != 0) {
        e.cause = MT_CAUSE_DEADLINE;
      }
      heap[0].cause = e.cause;
      heap[0].cpu_limit = 0;
      heap[0].when = now + REKICK_NS;
      sift_down(0);
    } else if (e.kind == PROFILE) {
      if (universe_from_handle(e.handle) != e.u || !atomic_load(&e.u->insp.profiling)) {
        heap_remove(0);
        continue;
      }
      heap[0].when = e.when + e.seq > now ? e.when + e.seq : now + e.seq; /* no burst after a stall */
      sift_down(0);
    } else if (universe_from_handle(e.handle) == e.u && mt_pending_count(e.u) > 0) {
      heap[0].seq = e.seq * 2 < REARM_MAX_NS ? e.seq * 2 : REARM_MAX_NS;
      heap[0].when = now + heap[0].seq;
      sift_down(0);
    } else {
      heap_remove(0);
      /* rearm_schedule skips wd_lock while rekick_pos is set: a request
      ** that raised `pending` just before the removal is seen here. */
      if (universe_from_handle(e.handle) == e.u && mt_pending_count(e.u) > 0) (void)rearm_insert(e.u); /* the loop reads the heap next */
      continue;
    }
    pthread_mutex_unlock(&wd_lock);
    /* Without wd_lock: sending the signal takes microseconds, and every
    ** owner takes wd_lock at the end of every call. */
    if (e.kind == DEADLINE) interrupt_call_because(e.main_id, e.seq, e.cause);
    else if (e.kind == PROFILE) inspect_tick(e.main_id); /* checks the id under its slot lock */
    else kick_rearm(e.u, e.handle);
    pthread_mutex_lock(&wd_lock);
  }
  return NULL;
}

static int start_locked(void) {
  if (wd_started) return 1;
  cond_init_monotonic(&wd_cond);
  pthread_attr_t tattr;
  pthread_attr_init(&tattr);
  pthread_attr_setdetachstate(&tattr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&tattr, 64 * 1024);
  pthread_t t;
  wd_started = pthread_create(&t, &tattr, watchdog, NULL) == 0;
  pthread_attr_destroy(&tattr);
  return wd_started;
}

int mt_deadline_set(mt_universe *u, uint64_t seq, uint64_t deadline_ns, uint64_t cpu_limit_ns) {
  uint64_t when = deadline_ns;
  if (cpu_limit_ns != 0) {
    uint64_t by_cpu = mt_now_ns() + cpu_limit_ns;
    if (by_cpu < when) when = by_cpu;
  }
  pthread_mutex_lock(&wd_lock);
  if (!start_locked()) {
    pthread_mutex_unlock(&wd_lock);
    return 0;
  }
  wd_entry e = {when, u->main_id, seq, 0, deadline_ns, cpu_limit_ns, u, DEADLINE, MT_CAUSE_DEADLINE};
  if (u->deadline_pos) {
    uint32_t i = u->deadline_pos - 1;
    place(i, e);
    sift_up(i);
    sift_down(u->deadline_pos - 1);
  } else if (!heap_insert(e)) {
    pthread_mutex_unlock(&wd_lock);
    return 0;
  }
  if (u->deadline_pos == 1) pthread_cond_signal(&wd_cond); /* new earliest */
  pthread_mutex_unlock(&wd_lock);
  return 1;
}

void mt_deadline_clear(mt_universe *u) {
  if (atomic_load_explicit(&u->deadline_pos, memory_order_relaxed) == 0) return; /* the usual call */
  pthread_mutex_lock(&wd_lock);
  if (u->deadline_pos) heap_remove(u->deadline_pos - 1);
  pthread_mutex_unlock(&wd_lock);
}

/* wd_lock held. */
/* 1 when the entry is the new earliest: the watchdog must be woken. */
static int rearm_insert(mt_universe *u) {
  if (u->rekick_pos != 0 || !start_locked()) return 0;
  wd_entry e = {mt_now_ns() + REARM_FIRST_NS, 0, REARM_FIRST_NS, universe_handle(u), 0, 0, u, REARM, MT_CAUSE_HOST};
  return heap_insert(e) && u->rekick_pos == 1;
}

/* Called after `pending` was raised. While the universe has its entry,
** there is nothing to do, and no lock is taken: the watchdog clears
** rekick_pos before it reads `pending` to decide the entry is done, this
** reads rekick_pos after raising `pending` (both seq_cst), so one of the
** two sees the other's write. 1 when the caller must wake the watchdog
** (rearm_wake), which it does after its kick signal: a woken watchdog can
** take the very CPU the signal's target runs on (2 cores: interrupt() to
** the handler took 25-30 us with the wake first, ~10 us after). */
int rearm_schedule(mt_universe *u) {
  if (atomic_load(&u->rekick_pos) != 0) return 0;
  pthread_mutex_lock(&wd_lock);
  int wake = rearm_insert(u);
  pthread_mutex_unlock(&wd_lock);
  return wake;
}

/* Without wd_lock: the watchdog checks the heap under it before it waits. */
void rearm_wake(void) { pthread_cond_signal(&wd_cond); }

void rearm_cancel(mt_universe *u) {
  pthread_mutex_lock(&wd_lock);
  if (u->rekick_pos) heap_remove(u->rekick_pos - 1);
  pthread_mutex_unlock(&wd_lock);
}

/* Schedules u's profile ticks (one entry per universe); 0 if the watchdog
** could not start or is out of memory. The caller holds u's main slot. */
int profile_schedule(mt_universe *u, uint64_t period_ns) {
  pthread_mutex_lock(&wd_lock);
  int ok = start_locked();
  if (ok && u->profile_pos == 0) {
    wd_entry e = {mt_now_ns() + period_ns, u->main_id, period_ns, universe_handle(u), 0, 0, u, PROFILE, MT_CAUSE_HOST};
    ok = heap_insert(e);
    if (ok && u->profile_pos == 1) pthread_cond_signal(&wd_cond);
  }
  pthread_mutex_unlock(&wd_lock);
  return ok;
}

void profile_cancel(mt_universe *u) {
  if (atomic_load_explicit(&u->profile_pos, memory_order_relaxed) == 0) return; /* not profiled: no lock */
  pthread_mutex_lock(&wd_lock);
  if (u->profile_pos) heap_remove(u->profile_pos - 1);
  pthread_mutex_unlock(&wd_lock);
}
