/*
** Back-pressure on host.post. A posted value travels to the main thread as
** a worker message, which that thread takes only when its event loop runs:
** a script posting while the loop is busy would queue without bound in the
** host process, outside memoryLimit. So the universe counts the bytes
** posted and not yet taken, and a post that would pass MT_POST_BUDGET waits
** natively until the main thread has taken enough (or the script is
** interrupted or cancelled, as recv waits: the same `wakes` protocol, see
** mailbox_wake). A value larger than the budget passes when nothing is
** unread, so every value the codec accepts can be posted.
*/
#include "internal.h"

/* Only the owner adds, and the main thread only subtracts: a count that
** fits when read still fits when added, so the common case takes no lock. */
static int fits(mt_universe *u, size_t len) {
  uint64_t unread = atomic_load(&u->unread_posts);
  if (unread != 0 && unread + len > MT_POST_BUDGET) return 0;
  atomic_fetch_add(&u->unread_posts, len);
  return 1;
}

int mt_post_reserve(mt_universe *u, size_t len, uint64_t since) {
  if (fits(u, len)) return MT_OK;
  int result;
  pthread_mutex_lock(&u->mbox_lock);
  atomic_store(&u->mbox_waiting, 1);
  for (;;) {
    if (fits(u, len)) {
      result = MT_OK;
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
  return result;
}

/* Subtracts without passing below 0: a take is matched to its reservation
** by the main thread, but a buggy or late caller must not wrap the count
** into a post that waits forever. */
static void unread_sub(mt_universe *u, size_t len) {
  uint64_t unread = atomic_load(&u->unread_posts);
  while (!atomic_compare_exchange_weak(&u->unread_posts, &unread, unread > len ? unread - len : 0)) {
  }
}

void mt_post_unreserve(mt_universe *u, size_t len) { unread_sub(u, len); }

/* The waiter holds mbox_lock from its check to its wait; mailbox_wake bumps
** `wakes` after the subtraction, so the waiter either sees the new count or
** is woken. Posts of a state that has been closed since (a reset) find no
** slot and are dropped. */
int mt_posts_taken(uint64_t id, size_t len) {
  mt_slot *s;
  uint32_t index;
  if (slot_lock(NULL, id, &s, &index) != MT_OK) return MT_UNKNOWN;
  unread_sub(s->u, len);
  mailbox_wake(s->u);
  slot_unlock(s);
  return MT_OK;
}
