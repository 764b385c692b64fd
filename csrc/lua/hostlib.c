/*
** The `host` module of host states (`local host = require "host"`):
**
**   host.post(value)      sends value to the LuaWorker (lua.messages())
**   host.recv([seconds])  waits for a value from lua.send(); nil on timeout;
**                         an interrupt or a cancellation is raised here
**   host.clock()          a monotonic clock, in seconds
**   host.<name>(...)      the functions of the worker's host module
**
** and print(), which writes through the worker's console so that its
** output interleaves with JavaScript's. A function given to
** LuaWorker.create({ functions }) runs on the thread that created the
** worker: the call waits here natively for its answer, as recv waits.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

static int hostfns_key; /* registry: name -> index of a host function */

/* The callbacks into JavaScript run on the thread's own stack, where V8 and
** JavaScriptCore expect to be (csrc/core/stack.h). */
typedef struct {
  mt_host *h;
  const uint8_t *data;
  uint32_t len;
  int32_t fn, status;
} js_call;

static void print_outside(void *p) {
  js_call *c = p;
  c->status = c->h->print(c->data, c->len);
}

static void post_outside(void *p) {
  js_call *c = p;
  c->status = c->h->post(c->data, c->len);
}

static void call_outside(void *p) {
  js_call *c = p;
  c->status = c->h->call(c->fn, c->data, c->len);
}

static mt_host *check_host(lua_State *L, mt_world **wp) {
  mt_world *w = world_of(L);
  if (w == NULL || w->host == NULL || w->u == NULL) luaL_error(L, "host: not available in this state");
  if (wp) *wp = w;
  return w->host;
}

/* Waits, as recv does, while the main thread has not taken enough of the
** earlier posts (csrc/core/posts.c); an interrupt or a cancellation is
** raised meanwhile. */
static int h_post(lua_State *L) {
  mt_world *w;
  mt_host *h = check_host(L, &w);
  char why[320];
  lua_settop(L, 1);
  buf_reset(&h->scratch);
  if (!codec_encode(L, 1, 1, &h->scratch, why, sizeof why, "host.post", 0)) return luaL_error(L, "%s", why);
  size_t len = h->scratch.len;
  for (;;) {
    uint64_t since = mt_mailbox_wakes(w->u);
    hook_check(w, L);
    if (mt_post_reserve(w->u, len, since) == MT_OK) break;
  }
  js_call c = {h, h->scratch.data, (uint32_t)len, 0, 0};
  mt_stack_outside(h->stack, post_outside, &c);
  if (c.status != 0) {
    mt_post_unreserve(w->u, len);
    return luaL_error(L, "host.post: the worker could not post the value");
  }
  return 0;
}

/* Decodes a message after copying it into Lua memory, so that an
** out-of-memory error while decoding cannot leak the C copy. */
static int push_message(lua_State *L, mt_message *m) {
  lua_pushlstring(L, (const char *)m->data, m->len);
  mt_message_free(m);
  size_t len;
  const uint8_t *data = (const uint8_t *)lua_tolstring(L, -1, &len);
  int n = codec_push(L, data, len);
  if (n < 0) return lua_error(L);
  return n;
}

static int h_recv(lua_State *L) {
  mt_world *w;
  check_host(L, &w);
  lua_Number seconds = luaL_optnumber(L, 1, -1);
  if (seconds != seconds) return luaL_argerror(L, 1, "timeout must be a number of seconds, not NaN");
  uint64_t until = 0;
  if (seconds >= 0) until = mt_now_ns() + (seconds > 1e9 ? (uint64_t)1e18 : (uint64_t)(seconds * 1e9));
  lua_settop(L, 0);
  for (;;) {
    uint64_t since = mt_mailbox_wakes(w->u); /* before the check: see mtint_core.h */
    hook_check(w, L); /* raises for an interrupt or a cancellation */
    int64_t wait = -1;
    if (seconds >= 0) {
      uint64_t now = mt_now_ns();
      wait = now >= until ? 0 : (int64_t)(until - now);
    }
    mt_message *m;
    switch (mt_mailbox_recv(w->u, wait, since, &m)) {
      case MT_RECV_MESSAGE: return push_message(L, m);
      case MT_RECV_TIMEOUT: lua_pushnil(L); return 1;
      default: break; /* woken: look again */
    }
  }
}

/* Decodes the values at data (copied into Lua memory first) as results. */
static int push_values(lua_State *L, const uint8_t *data, size_t len) {
  lua_pushlstring(L, len ? (const char *)data : "", len);
  data = (const uint8_t *)lua_tolstring(L, -1, &len);
  int top = lua_gettop(L);
  int n = codec_push(L, data, len);
  if (n < 0) return lua_error(L);
  return lua_gettop(L) - top;
}

/* Waits for the answer to `token`; an interrupt or a cancellation is
** raised meanwhile (a late answer is then dropped: see mt_reply_send). */
static int wait_answer(lua_State *L, mt_world *w, const char *name, uint64_t token) {
  mt_message *m;
  for (;;) {
    uint64_t since = mt_mailbox_wakes(w->u);
    hook_check(w, L);
    if (mt_reply_wait(w->u, token, since, &m) == MT_RECV_MESSAGE) break;
  }
  lua_pushlstring(L, (const char *)m->data, m->len); /* Lua memory: see push_message */
  mt_message_free(m);
  size_t len;
  const uint8_t *data = (const uint8_t *)lua_tolstring(L, -1, &len);
  if (len == 0 || data[0] != ANSWER_VALUES) {
    lua_pushlstring(L, len ? (const char *)data + 1 : "", len ? len - 1 : 0);
    return luaL_error(L, "%s: %s", name, lua_tostring(L, -1));
  }
  return push_values(L, data + 1, len - 1);
}

static int h_call(lua_State *L) {
  mt_world *w;
  mt_host *h = check_host(L, &w);
  int fn = (int)lua_tonumber(L, lua_upvalueindex(1));
  const char *name = lua_tostring(L, lua_upvalueindex(2));
  char why[320];
  buf_reset(&h->scratch);
  if (!codec_encode(L, 1, lua_gettop(L), &h->scratch, why, sizeof why, name, 0)) return luaL_error(L, "%s", why);
  buf_reset(&h->reply);
  js_call c = {h, h->scratch.data, (uint32_t)h->scratch.len, fn, 0};
  mt_stack_outside(h->stack, call_outside, &c);
  int32_t status = c.status;
  if (status == HOST_CALL_WAIT) {
    double token = 0;
    if (h->reply.len == sizeof token) memcpy(&token, h->reply.data, sizeof token);
    if (!(token >= 1 && token < (double)MT_ID_LIMIT)) return luaL_error(L, "%s: no answer token", name);
    return wait_answer(L, w, name, (uint64_t)token);
  }
  if (status != HOST_CALL_OK) {
    lua_pushlstring(L, h->reply.data ? (const char *)h->reply.data : "", h->reply.len);
    return luaL_error(L, "%s: %s", name, lua_tostring(L, -1));
  }
  return push_values(L, h->reply.data, h->reply.len);
}

/* host.clock(): CLOCK_MONOTONIC in seconds, the clock of the watchdog and
** of mtint's native timestamps. */
static int h_clock(lua_State *L) {
  lua_pushnumber(L, (lua_Number)mt_now_ns() / 1e9);
  return 1;
}

/* print(...), as the version's own (5.4 converts with luaL_tolstring,
** the others call the global tostring; 5.1 writes each piece up to its
** first zero byte), written through the worker's console as one line. No
** luaL_Buffer: its 8 KiB on the C stack, times the nesting that
** `__tostring = print` allows on LuaJIT, would size the stack. */
static int h_print(lua_State *L) {
  mt_host *h = check_host(L, NULL);
  int n = lua_gettop(L);
  luaL_checkstack(L, 2 * n + 2, "too many arguments to print");
#if LUA_VERSION_NUM < 504
  lua_getglobal(L, "tostring");
#endif
  for (int i = 1; i <= n; i++) {
    if (i > 1) lua_pushliteral(L, "\t");
#if LUA_VERSION_NUM >= 504
    luaL_tolstring(L, i, NULL);
#else
    lua_pushvalue(L, n + 1);
    lua_pushvalue(L, i);
    lua_call(L, 1, 1);
    const char *s = lua_tostring(L, -1);
    if (s == NULL) return luaL_error(L, "'tostring' must return a string to 'print'");
#if !defined(MTINT_LUAJIT) && LUA_VERSION_NUM == 501
    lua_pushlstring(L, s, strlen(s));
    lua_remove(L, -2);
#endif
#endif
  }
  lua_concat(L, n > 0 ? 2 * n - 1 : 0);
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  js_call c = {h, (const uint8_t *)s, (uint32_t)len, 0, 0};
  mt_stack_outside(h->stack, print_outside, &c);
  if (c.status != 0) return luaL_error(L, "print: the worker could not write the text");
  return 0;
}

void hostlib_define(lua_State *L, int index, const char *name, size_t len) {
  mt_getregistry(L, &hostfns_key);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    mt_setregistry(L, &hostfns_key);
  }
  lua_pushlstring(L, name, len);
  lua_pushnumber(L, index);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  /* A function defined after require("host") joins the loaded module. */
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "host");
    if (lua_istable(L, -1)) {
      lua_pushlstring(L, name, len);
      lua_pushnumber(L, index);
      lua_pushvalue(L, -2);
      lua_pushcclosure(L, h_call, 2);
      lua_rawset(L, -3);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

int luaopen_host(lua_State *L) {
  static const luaL_Reg functions[] = {{"post", h_post}, {"recv", h_recv}, {"clock", h_clock}, {NULL, NULL}};
  check_host(L, NULL);
  lua_newtable(L);
  mt_setfuncs(L, functions);
  mt_getregistry(L, &hostfns_key);
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      lua_pushvalue(L, -2); /* name */
      lua_pushcclosure(L, h_call, 2); /* upvalues: index, name */
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -5);
    }
  }
  lua_pop(L, 1);
  return 1;
}

void hostlib_open(lua_State *L) {
  lua_pushcfunction(L, h_print);
  lua_setglobal(L, "print");
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_host);
  lua_setfield(L, -2, "host");
  lua_pushcfunction(L, luaopen_mtint);
  lua_setfield(L, -2, "mtint");
  lua_pop(L, 2);
}
