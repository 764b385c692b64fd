/*
** What this machine allows, in plain C, to read mtint's figures against
** (bench/run.ts builds it with `zig cc` and runs it; bench/results/RESULTS.md
** prints it as "reference floors"):
**
**   signal  a real-time signal (rt_tgsigqueueinfo, as csrc/core/kick.c
**           sends it) to a thread spinning on the other CPU: send → the
**           handler's first instruction;
**   store   an atomic store seen by a thread spinning on it: the latency a
**           design that writes the hook state from the interrupter (the
**           rock's lua_sethook from a foreign thread) could reach;
**   wake    a round trip between two threads that sleep on condition
**           variables (main → thread → main), CPUs idle in between: the
**           floor of any request/reply between a JS thread and a worker
**           that waits for messages (two wake-ups);
**   wait    pthread_cond_timedwait on CLOCK_MONOTONIC (the watchdog's
**           wait, csrc/core/watchdog.c) for 2 ms: how late it returns, with
**           the default timer slack (50 µs) and with PR_SET_TIMERSLACK 1 ns.
**
** Output: "<name> <p50 ns> <p99 ns> <samples>" lines.
*/
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void spin_ns(uint64_t ns) {
  uint64_t until = now() + ns;
  while (now() < until) {
  }
}

static _Atomic int target_tid;
static _Atomic int stop;
static _Atomic uint64_t signal_stamp;
static _Atomic uint64_t store_flag;
static _Atomic uint64_t store_stamp;

static void on_signal(int signo, siginfo_t *si, void *ctx) {
  (void)signo;
  (void)si;
  (void)ctx;
  atomic_store(&signal_stamp, now());
}

static void *spinner(void *arg) {
  (void)arg;
  atomic_store(&target_tid, (int)syscall(SYS_gettid));
  uint64_t seen = 0;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    uint64_t f = atomic_load_explicit(&store_flag, memory_order_acquire);
    if (f != seen) {
      atomic_store(&store_stamp, now());
      seen = f;
    }
  }
  return NULL;
}

static pthread_mutex_t pp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_go = PTHREAD_COND_INITIALIZER, pp_back = PTHREAD_COND_INITIALIZER;
static int pp_turn; /* 1: the thread's turn, 2: main's, 3: quit */

static void *ponger(void *arg) {
  (void)arg;
  pthread_mutex_lock(&pp_lock);
  for (;;) {
    while (pp_turn != 1 && pp_turn != 3) pthread_cond_wait(&pp_go, &pp_lock);
    if (pp_turn == 3) break;
    pp_turn = 2;
    pthread_cond_signal(&pp_back);
  }
  pthread_mutex_unlock(&pp_lock);
  return NULL;
}

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *name, uint64_t *xs, int n) {
  qsort(xs, (size_t)n, sizeof *xs, cmp);
  int i50 = (n + 1) / 2 - 1, i99 = (int)((double)n * 0.99 + 0.999999) - 1;
  printf("%s %llu %llu %d\n", name, (unsigned long long)xs[i50], (unsigned long long)xs[i99], n);
  fflush(stdout);
}

static void timed_waits(const char *name, int n, uint64_t wait_ns) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_t cond;
  pthread_cond_init(&cond, &attr);
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  uint64_t *late = calloc((size_t)n, sizeof *late);
  pthread_mutex_lock(&lock);
  for (int i = 0; i < n; i++) {
    uint64_t deadline = now() + wait_ns;
    struct timespec until = {(time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u)};
    while (pthread_cond_timedwait(&cond, &lock, &until) == 0) {
    }
    uint64_t t = now();
    late[i] = t > deadline ? t - deadline : 0;
  }
  pthread_mutex_unlock(&lock);
  report(name, late, n);
  free(late);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2000;
  int waits = argc > 2 ? atoi(argv[2]) : 200;
  int signo = SIGRTMIN + 7;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(signo, &sa, NULL);

  pthread_t t;
  pthread_create(&t, NULL, spinner, NULL);
  while (atomic_load(&target_tid) == 0) {
  }
  pid_t pid = getpid();
  uint64_t *xs = calloc((size_t)n, sizeof *xs);
  int warm = n / 10;

  for (int i = -warm; i < n; i++) {
    spin_ns(50000 + (uint64_t)(rand() % 150000));
    atomic_store(&signal_stamp, 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = signo;
    si.si_code = SI_QUEUE;
    si.si_pid = pid;
    si.si_uid = getuid();
    uint64_t t0 = now();
    syscall(SYS_rt_tgsigqueueinfo, pid, atomic_load(&target_tid), signo, &si);
    uint64_t t1;
    while ((t1 = atomic_load(&signal_stamp)) == 0) {
    }
    if (i >= 0) xs[i] = t1 - t0;
  }
  report("signal", xs, n);

  for (int i = -warm; i < n; i++) {
    spin_ns(50000 + (uint64_t)(rand() % 150000));
    atomic_store(&store_stamp, 0);
    uint64_t t0 = now();
    atomic_store_explicit(&store_flag, (uint64_t)(i + warm + 1), memory_order_release);
    uint64_t t1;
    while ((t1 = atomic_load(&store_stamp)) == 0) {
    }
    if (i >= 0) xs[i] = t1 > t0 ? t1 - t0 : 0;
  }
  report("store", xs, n);
  atomic_store(&stop, 1);
  pthread_join(t, NULL);

  pthread_t p;
  pthread_create(&p, NULL, ponger, NULL);
  for (int i = -warm; i < n; i++) {
    struct timespec pause = {0, 100000 + rand() % 200000};
    nanosleep(&pause, NULL);
    uint64_t t0 = now();
    pthread_mutex_lock(&pp_lock);
    pp_turn = 1;
    pthread_cond_signal(&pp_go);
    while (pp_turn != 2) pthread_cond_wait(&pp_back, &pp_lock);
    pthread_mutex_unlock(&pp_lock);
    if (i >= 0) xs[i] = now() - t0;
  }
  pthread_mutex_lock(&pp_lock);
  pp_turn = 3;
  pthread_cond_signal(&pp_go);
  pthread_mutex_unlock(&pp_lock);
  pthread_join(p, NULL);
  report("wake", xs, n);

  timed_waits("wait_default_slack", waits, 2000000);
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  timed_waits("wait_slack_1ns", waits, 2000000);
  free(xs);
  return 0;
}
