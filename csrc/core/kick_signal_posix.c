/*
** Kick signals through POSIX alone (macOS; Linux with -Dkick=posix):
** pthread_kill, which carries no payload and, for the standard signals
** that macOS has, coalesces sends that arrive while one is pending.
**
** Each thread that owns a universe holds a record (kick_thread) in a
** table that is never freed, only reused: its pthread_t, a generation
** (odd while the thread lives), a count of senders inside pthread_kill,
** and the pending word. A universe names its owner's record as
** kick_target = (generation << 32) | index, set by the owner itself in
** kick_signal_attach.
**
** Sender (kick.c's step 3, after it won signal_pending):
**   s1. signal_target = kick_target (only the winner writes it);
**   s2. senders++; if the record's generation is still the target's:
**       pending = 1, pthread_kill; senders--.
** Handler, on the thread the signal reached:
**   h1. finds its own record (by pthread_self, live generation);
**   h2. exchanges pending with 0; if it was 0, returns: a coalesced or
**       repeated delivery whose work an earlier run did;
**   h3. for every open universe whose signal_pending is set and whose
**       signal_target is this record: kick_received (steps a to c).
** All seq_cst. If h2 reads a sender's s2, s1 and kick.c's steps 1 to 3
** before it are visible to h3. If h2 ran before s2, the pthread_kill
** after s2 delivers the signal again (pending in the kernel while a
** handler runs, then delivered), and that run reads it. Coalescing merges
** deliveries, never pending words: each run does all the work flagged.
** h3 scans the universe table (its high-water mark, a few entries in
** practice): the price of a signal without payload.
**
** Thread exit (the record's pthread key destructor, while the thread
** still runs):
**   x1. generation++ (even: senders stop at s2);
**   x2. waits until senders == 0: a sender that read the old generation
**       has finished its pthread_kill to this live thread (Dekker: s2
**       increments then reads the generation, x1 writes it then x2 reads
**       the count);
**   x3. clears signal_pending of every universe whose signal_target is
**       this record: that signal dies with the thread, and an early clear
**       costs at most a duplicate kick;
**   x4. the record goes on the free list.
** So pthread_kill never names a thread that has exited (which would be
** undefined behaviour), and no signal_pending stays set for a signal that
** can no longer arrive. A stale signal_target (a record since reused)
** leads at worst to an early clear, also harmless.
**
** Async-signal-safety: the handler reads atomics and calls pthread_self
** and kick_received; no lock, no malloc, no TLS.
*/
#if !defined(__linux__) || defined(MTINT_KICK_POSIX)
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "kick_signal.h"

#define MAX_THREADS (1u << 16)

typedef struct {
  _Atomic uint32_t gen;    /* odd while a live thread holds the record */
  _Atomic int senders;     /* senders between s2's check and pthread_kill's return */
  _Atomic int pending;     /* a kick was sent here and not yet looked at */
  _Atomic(pthread_t) thread;
  uint32_t index;
  uint32_t next_free;      /* under threads_lock */
} kick_thread;

static _Atomic(kick_thread *) threads[MAX_THREADS];
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t threads_fresh;
static uint32_t threads_free = NO_SLOT;
static pthread_key_t thread_key;
static int kick_signo;

static uint64_t target_of(kick_thread *t) { return ((uint64_t)atomic_load(&t->gen) << 32) | t->index; }

/* h1: the table fills in index order and never shrinks. */
static kick_thread *thread_here(void) {
  pthread_t self = pthread_self();
  for (uint32_t i = 0; i < MAX_THREADS; i++) {
    kick_thread *t = atomic_load(&threads[i]);
    if (t == NULL) break;
    if ((atomic_load(&t->gen) & 1) && pthread_equal(atomic_load(&t->thread), self)) return t;
  }
  return NULL;
}

static void on_kick(int signo) {
  (void)signo;
  int saved_errno = errno;
  kick_thread *t = thread_here();
  if (t != NULL && atomic_exchange(&t->pending, 0)) {
    uint64_t mine = target_of(t);
    mt_universe *u;
    for (uint32_t i = 0; (u = universe_at(i)) != NULL; i++) {
      if (atomic_load(&u->signal_pending) && atomic_load(&u->signal_target) == mine && (atomic_load(&u->gen) & 1))
        kick_received(u);
    }
  }
  errno = saved_errno;
}

static void thread_exit(void *p) {
  kick_thread *t = p;
  uint64_t was = target_of(t);
  atomic_fetch_add(&t->gen, 1); /* x1 */
  while (atomic_load(&t->senders) != 0) sched_yield(); /* x2 */
  mt_universe *u;
  for (uint32_t i = 0; (u = universe_at(i)) != NULL; i++) /* x3 */
    if (atomic_load(&u->signal_target) == was) atomic_store(&u->signal_pending, 0);
  pthread_mutex_lock(&threads_lock); /* x4 */
  t->next_free = threads_free;
  threads_free = t->index;
  pthread_mutex_unlock(&threads_lock);
}

static kick_thread *thread_acquire(void) {
  kick_thread *t = NULL;
  pthread_mutex_lock(&threads_lock);
  if (threads_free != NO_SLOT) {
    t = atomic_load(&threads[threads_free]);
    threads_free = t->next_free;
  } else if (threads_fresh < MAX_THREADS) {
    t = calloc(1, sizeof *t);
    if (t != NULL) {
      t->index = threads_fresh++;
      atomic_store(&threads[t->index], t);
    }
  }
  pthread_mutex_unlock(&threads_lock);
  if (t == NULL) return NULL;
  atomic_store(&t->thread, pthread_self());
  atomic_store(&t->pending, 0);
  atomic_fetch_add(&t->gen, 1); /* odd: live, after `thread` */
  return t;
}

static int install(int signo) {
  struct sigaction old;
  if (sigaction(signo, NULL, &old) != 0) return 0;
  if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) return 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_kick;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  return sigaction(signo, &sa, NULL) == 0;
}

/* SIGUSR2, else SIGUSR1 (Deno and Bun leave both alone; a program that
** installs its own handler on one later takes the kicks away), else a
** real-time signal where there are any. On Linux this is deliberately the
** macOS choice: a standard signal, so coalescing is tested here. */
void kick_signal_setup(void) {
  if (pthread_key_create(&thread_key, thread_exit) != 0) return;
  if (install(SIGUSR2)) kick_signo = SIGUSR2;
  else if (install(SIGUSR1)) kick_signo = SIGUSR1;
#ifdef SIGRTMIN
  else
    for (int signo = SIGRTMIN + 6; signo <= SIGRTMAX && kick_signo == 0; signo++)
      if (install(signo)) kick_signo = signo;
#endif
}

void kick_signal_attach(mt_universe *u) {
  if (kick_signo == 0) return;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, kick_signo);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  kick_thread *t = pthread_getspecific(thread_key);
  if (t == NULL && (t = thread_acquire()) != NULL) pthread_setspecific(thread_key, t);
  atomic_store(&u->kick_target, t != NULL ? target_of(t) : 0);
}

int kick_signal_send(mt_universe *u, uint64_t handle) {
  (void)handle; /* no payload: the pending word and signal_target say it */
  uint64_t target = atomic_load(&u->kick_target);
  if (kick_signo == 0 || target == 0 || (uint32_t)target >= MAX_THREADS) return 0;
  kick_thread *t = atomic_load(&threads[(uint32_t)target]);
  if (t == NULL) return 0;
  atomic_store(&u->signal_target, target); /* s1 */
  int sent = 0;
  atomic_fetch_add(&t->senders, 1); /* s2 */
  if (atomic_load(&t->gen) == (uint32_t)(target >> 32)) {
    atomic_store(&t->pending, 1);
    sent = pthread_kill(atomic_load(&t->thread), kick_signo) == 0;
  }
  atomic_fetch_sub(&t->senders, 1);
  return sent;
}
#endif
