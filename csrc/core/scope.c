/*
** Interrupt scopes: which states the Lua code of a universe reaches by id
** (mtint.interrupt, mtint.interruptible). A hosted universe starts with its
** own state and coroutines only; the host widens that before the state
** runs. The check itself is in registry.c (reaches), on the lookup path.
*/
#include <stdlib.h>

#include "internal.h"

void mt_scope_all(mt_universe *u, int all) { u->reach_all = all != 0; }

int mt_scope_grant(mt_universe *u, uint64_t main_id) {
  mt_slot *s;
  uint32_t index;
  if (slot_lock(NULL, main_id, &s, &index) != MT_OK) return MT_UNKNOWN;
  mt_universe *target = s->u;
  uint64_t tenant = target->main_id == main_id ? target->tenant : 0;
  slot_unlock(s);
  if (tenant == 0) return MT_UNKNOWN; /* a coroutine's id, not a state's */
  uint64_t *grants = realloc(u->grants, (u->ngrants + 1) * sizeof *grants);
  if (grants == NULL) return MT_FULL;
  grants[u->ngrants++] = tenant;
  u->grants = grants;
  return MT_OK;
}
