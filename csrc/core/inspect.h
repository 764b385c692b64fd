/*
** Inspection of a running universe (inspect.c): what the host asks the
** interrupt hook to do besides interrupting (take the stack, take a
** profile sample, pause), and where the hook leaves its answers.
*/
#ifndef MTINT_CORE_INSPECT_H
#define MTINT_CORE_INSPECT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mt_profile_entry {
  uint64_t hash;
  uint64_t count;
  size_t len;
  char *key; /* malloc'd folded stack, outer;inner */
} mt_profile_entry;

typedef struct mt_inspect {
  /* MT_INSPECT_* bits: any thread sets them (fetch_or), the owner's hook
  ** clears what it handled (fetch_and of what it read, so a bit set
  ** meanwhile stays for the next hook). */
  _Atomic uint32_t req;
  /* Pause: the call a pause was asked for (written before the PAUSE bit),
  ** the call the hook is paused in (0: none; written by the owner before
  ** it clears the PAUSE bit, so a poller that reads the bit clear and then
  ** this field never misses a pause in progress), and the resume flag,
  ** written under the universe's mbox_lock, on whose condition variable
  ** the paused owner waits. */
  _Atomic uint64_t pause_seq;
  _Atomic uint64_t paused_seq;
  _Atomic int resume;
  /* Profiling: on between mtint_profile_start and stop; the watchdog's
  ** ticks read it without a lock (a tick that races a stop asks for one
  ** sample that mt_profile_add then drops under `lock`). */
  _Atomic int profiling;
  _Atomic uint64_t period_ns;
  /* Under `lock`: the stack answer and the profile table. */
  pthread_mutex_t lock;
  uint64_t stack_asked;    /* tickets handed out */
  uint64_t stack_answered; /* stack_asked when the newest answer was taken */
  unsigned char *answer;
  size_t answer_len;
  mt_profile_entry *entries; /* open addressing, cap a power of two */
  size_t cap, used;
  uint64_t samples;
  char *folded;              /* the text built by mtint_profile_stop */
  size_t folded_len;
} mt_inspect;

#endif
