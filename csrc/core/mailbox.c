/*
** The mailbox: values sent from JavaScript (any thread) to a running
** script, which waits for them in host.recv. mbox_lock guards the queue;
** the condition variable's timeouts follow the monotonic clock
** (cond_clock.h), not the wall clock. Interrupts bump `wakes`, so a script blocked in
** recv is woken and can raise the interrupt there.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cond_clock.h"
#include "internal.h"

void mailbox_init(mt_universe *u) {
  cond_init_monotonic(&u->mbox_cond);
  pthread_mutex_init(&u->mbox_lock, NULL);
  u->mbox_head = u->mbox_tail = NULL;
  u->reply = NULL;
  u->reply_token = 0;
  atomic_store(&u->reply_posted, 0);
  u->reply_quick = 1;
  atomic_store(&u->mbox_waiting, 0);
  atomic_store(&u->unread_posts, 0);
}

void mailbox_destroy(mt_universe *u) {
  for (mt_message *m = u->mbox_head, *next; m != NULL; m = next) {
    next = m->next;
    free(m);
  }
  u->mbox_head = u->mbox_tail = NULL;
  free(u->reply);
  u->reply = NULL;
  pthread_cond_destroy(&u->mbox_cond);
  pthread_mutex_destroy(&u->mbox_lock);
}

/* Every interrupt calls this, so it takes the lock only when recv waits.
** recv raises mbox_waiting, then reads `wakes`; this bumps `wakes`, then
** reads mbox_waiting (all seq_cst): if this sees no waiter, recv sees the
** new count and does not wait. If it sees one, recv holds mbox_lock until
** it waits, so the broadcast cannot come between its check and its wait. */
void mailbox_wake(mt_universe *u) {
  atomic_fetch_add(&u->wakes, 1);
  if (!atomic_load(&u->mbox_waiting)) return;
  pthread_mutex_lock(&u->mbox_lock);
  pthread_cond_broadcast(&u->mbox_cond);
  pthread_mutex_unlock(&u->mbox_lock);
}

static mt_message *message_new(const void *data, size_t len) {
  mt_message *m = malloc(sizeof *m + len);
  if (m == NULL) return NULL;
  m->next = NULL;
  m->len = len;
  if (len) memcpy(m->data, data, len);
  return m;
}

int mt_mailbox_send(uint64_t id, const void *data, size_t len) {
  mt_message *m = message_new(data, len);
  if (m == NULL) return MT_FULL;
  mt_slot *s;
  uint32_t index;
  if (slot_lock(NULL, id, &s, &index) != MT_OK) {
    free(m);
    return MT_UNKNOWN;
  }
  mt_universe *u = s->u;
  pthread_mutex_lock(&u->mbox_lock);
  if (u->mbox_tail) u->mbox_tail->next = m;
  else u->mbox_head = m;
  u->mbox_tail = m;
  pthread_cond_signal(&u->mbox_cond);
  pthread_mutex_unlock(&u->mbox_lock);
  slot_unlock(s);
  return MT_OK;
}

uint64_t mt_mailbox_wakes(mt_universe *u) { return atomic_load(&u->wakes); }

/* An older token's answer is stale: its caller has moved on. The owner is
** the only thread that waits on mbox_cond. */
int mt_reply_send(uint64_t id, uint64_t token, const void *data, size_t len) {
  mt_message *m = message_new(data, len);
  if (m == NULL) return MT_FULL;
  mt_slot *s;
  uint32_t index;
  if (slot_lock(NULL, id, &s, &index) != MT_OK) {
    free(m);
    return MT_UNKNOWN;
  }
  mt_universe *u = s->u;
  pthread_mutex_lock(&u->mbox_lock);
  if (token >= u->reply_token) {
    free(u->reply);
    u->reply = m;
    u->reply_token = token;
    atomic_store(&u->reply_posted, token);
    m = NULL;
    pthread_cond_signal(&u->mbox_cond);
  }
  pthread_mutex_unlock(&u->mbox_lock);
  slot_unlock(s);
  free(m);
  return MT_OK;
}

/* Waking a sleeping thread costs about 8 us on a small VM (bench/native
** floors.c), more than a creator's function that answers at once takes
** to run; so the owner spins first, while answers keep coming that fast.
** Only a hint: the locked wait below decides. */
#define REPLY_SPIN_NS 50000

static void reply_spin(mt_universe *u, uint64_t token, uint64_t since) {
  uint64_t start = mt_now_ns();
  for (unsigned i = 1; atomic_load(&u->reply_posted) < token && atomic_load(&u->wakes) == since; i++) {
    if (i % 64 == 0 && mt_now_ns() - start > REPLY_SPIN_NS) return;
    cpu_relax();
  }
}

/* The same waiting protocol as mt_mailbox_recv (see mailbox_wake). */
int mt_reply_wait(mt_universe *u, uint64_t token, uint64_t since, mt_message **msg) {
  int result;
  uint64_t start = mt_now_ns();
  if (u->reply_quick) reply_spin(u, token, since);
  pthread_mutex_lock(&u->mbox_lock);
  atomic_store(&u->mbox_waiting, 1);
  for (;;) {
    if (u->reply != NULL && u->reply_token == token) {
      *msg = u->reply;
      u->reply = NULL;
      result = MT_RECV_MESSAGE;
      break;
    }
    if (atomic_load(&u->wakes) != since) {
      result = MT_RECV_WOKEN;
      break;
    }
    pthread_cond_wait(&u->mbox_cond, &u->mbox_lock);
  }
  atomic_store(&u->mbox_waiting, 0);
  pthread_mutex_unlock(&u->mbox_lock);
  if (result == MT_RECV_MESSAGE) u->reply_quick = mt_now_ns() - start <= REPLY_SPIN_NS;
  return result;
}

int mt_mailbox_recv(mt_universe *u, int64_t timeout_ns, uint64_t since, mt_message **msg) {
  uint64_t until = timeout_ns >= 0 ? mt_now_ns() + (uint64_t)timeout_ns : 0;
  int result;
  pthread_mutex_lock(&u->mbox_lock);
  atomic_store(&u->mbox_waiting, 1);
  for (;;) {
    if (u->mbox_head != NULL) {
      *msg = u->mbox_head;
      u->mbox_head = u->mbox_head->next;
      if (u->mbox_head == NULL) u->mbox_tail = NULL;
      result = MT_RECV_MESSAGE;
      break;
    }
    if (atomic_load(&u->wakes) != since) {
      result = MT_RECV_WOKEN;
      break;
    }
    if (timeout_ns < 0) {
      pthread_cond_wait(&u->mbox_cond, &u->mbox_lock);
    } else if (cond_wait_until(&u->mbox_cond, &u->mbox_lock, until) == ETIMEDOUT &&
               u->mbox_head == NULL && atomic_load(&u->wakes) == since) {
      result = MT_RECV_TIMEOUT;
      break;
    }
  }
  atomic_store(&u->mbox_waiting, 0);
  pthread_mutex_unlock(&u->mbox_lock);
  return result;
}

void mt_message_free(mt_message *msg) { free(msg); }
