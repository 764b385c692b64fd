/*
** Kick signals on Linux: rt_tgsigqueueinfo sends a real-time signal to one
** kernel thread with a payload, the universe's handle (index and
** generation). A real-time signal is queued once per send, never
** coalesced, so the handler needs nothing but the payload: it validates
** the handle (a stale generation is dropped) and hands the universe to
** kick_received. The sender checks nothing about the thread: a thread id
** that no longer exists fails the send (signal_pending is cleared and the
** next kick retries); one reused by another thread of the process reaches
** a thread that does not own the universe, whose handler clears
** signal_pending and drops the kick. A full signal queue fails the send
** likewise.
*/
#if defined(__linux__) && !defined(MTINT_KICK_POSIX)
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kick_signal.h"

static int kick_signo;
static pid_t self_pid;

/* No lock, no malloc, no TLS: async-signal-safe. si_pid tells our own
** sends from anyone else's sigqueue of the same number. */
static void on_kick(int signo, siginfo_t *si, void *context) {
  (void)signo;
  (void)context;
  int saved_errno = errno;
  if (si->si_code == SI_QUEUE && si->si_pid == self_pid) {
    mt_universe *u = universe_from_handle((uint64_t)(uintptr_t)si->si_value.sival_ptr);
    if (u != NULL) kick_received(u);
  }
  errno = saved_errno;
}

/* Picks a real-time signal nobody in the process uses (Deno and Bun leave
** them alone), starting a few above SIGRTMIN to stay clear of libraries
** that take the first ones (Bun's JavaScriptCore takes SIGRTMIN+1). */
void kick_signal_setup(void) {
  self_pid = getpid();
  for (int signo = SIGRTMIN + 6; signo <= SIGRTMAX; signo++) {
    struct sigaction old;
    if (sigaction(signo, NULL, &old) != 0) continue;
    if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_kick;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(signo, &sa, NULL) == 0) {
      kick_signo = signo;
      return;
    }
  }
}

/* The owner's kernel id (u->owner_tid) is the target: nothing to record. */
void kick_signal_attach(mt_universe *u) {
  (void)u;
  if (kick_signo == 0) return;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, kick_signo);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int kick_signal_send(mt_universe *u, uint64_t handle) {
  if (kick_signo == 0) return 0;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = kick_signo;
  si.si_code = SI_QUEUE;
  si.si_pid = self_pid;
  si.si_uid = getuid();
  si.si_value.sival_ptr = (void *)(uintptr_t)handle;
  return syscall(SYS_rt_tgsigqueueinfo, self_pid, atomic_load(&u->owner_tid), kick_signo, &si) == 0;
}
#endif
