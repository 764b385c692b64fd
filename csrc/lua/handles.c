/*
** Function handles (handles.h). The table lives in the registry under the
** address of `handles_key`; the counters live in the host (host.h). Owner
** thread only, like everything that touches the state.
*/
#include "handles.h"

#include "host.h"

static const char handles_key = 0;

static mt_host *host_of(lua_State *L) {
  mt_world *w = world_of(L);
  return w ? w->host : NULL;
}

/* Pushes the handle table; with `create`, makes it when missing (may
** raise), else pushes nil when missing. */
static void push_table(lua_State *L, int create) {
  mt_getregistry(L, &handles_key);
  if (!lua_isnil(L, -1) || !create) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  mt_setregistry(L, &handles_key);
}

int handles_add(lua_State *L, int idx, double *id) {
  mt_host *h = host_of(L);
  if (h == NULL || h->handles_live >= HANDLES_MAX) return 0;
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  luaL_checkstack(L, 3, "registering a function handle");
  push_table(L, 1);
  double next = h->handle_next + 1;
  lua_pushnumber(L, (lua_Number)next);
  lua_pushvalue(L, idx);
  lua_rawset(L, -3); /* may raise: the counters change only after */
  lua_pop(L, 1);
  h->handle_next = next;
  h->handles_live++;
  *id = next;
  return 1;
}

int handles_push(lua_State *L, double state, double id) {
  mt_world *w = world_of(L);
  if (w == NULL || w->host == NULL || w->u == NULL || state != (double)mt_main_id(w->u)) {
    lua_pushliteral(L, "a function handle of another Lua state (another worker, or this one before a reset) "
                       "cannot cross into this one");
    return -1;
  }
  push_table(L, 0);
  if (!lua_isnil(L, -1)) {
    lua_pushnumber(L, (lua_Number)id);
    lua_rawget(L, -2);
    lua_remove(L, -2);
  }
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushfstring(L, "function handle %f was released", (lua_Number)id);
    return -1;
  }
  return 1;
}

/* Forgets the table (on top) once no handle is live: its slots stay
** allocated after their keys are cleared, up to HANDLES_MAX of them. Sets
** an existing registry key, which allocates nothing. */
static void forget_if_empty(lua_State *L, mt_host *h) {
  if (h->handles_live > 0 || lua_isnil(L, -1)) return;
  lua_pushnil(L);
  mt_setregistry(L, &handles_key);
}

/* Removes an existing key only: setting nil on a missing key may grow the
** table (5.1), which must not happen where nothing may raise. */
static int drop(lua_State *L, double id) {
  lua_pushnumber(L, (lua_Number)id);
  lua_rawget(L, -2);
  int found = !lua_isnil(L, -1);
  lua_pop(L, 1);
  if (found) {
    lua_pushnumber(L, (lua_Number)id);
    lua_pushnil(L);
    lua_rawset(L, -3);
  }
  return found;
}

void handles_release(lua_State *L, double id) {
  mt_host *h = host_of(L);
  if (h == NULL) return;
  push_table(L, 0);
  if (!lua_isnil(L, -1) && drop(L, id)) h->handles_live--;
  forget_if_empty(L, h);
  lua_pop(L, 1);
}

double handles_mark(lua_State *L) {
  mt_host *h = host_of(L);
  return h ? h->handle_next : 0;
}

void handles_drop_since(lua_State *L, double mark) {
  mt_host *h = host_of(L);
  if (h == NULL || h->handle_next == mark) return;
  push_table(L, 0);
  if (!lua_isnil(L, -1)) {
    for (double id = mark + 1; id <= h->handle_next; id++)
      if (drop(L, id)) h->handles_live--;
  }
  forget_if_empty(L, h);
  lua_pop(L, 1);
}

uint32_t handles_live(lua_State *L) {
  mt_host *h = host_of(L);
  return h ? h->handles_live : 0;
}
