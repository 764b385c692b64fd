/*
** The host API: one state per worker, driven through FFI by src/worker.ts.
** Every entry into Lua is under lua_pcall, so a Lua error never longjmps
** across JavaScript. The result of a call is one byte buffer (host.h lists
** the kinds, codec.h the value format) that the worker hands to the main
** thread as it is.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "countloops.h"
#include "handles.h"
#include "host.h"
#include "patterns.h"
#include "recursion.h"
#include "rehook.h"
#include "sort.h"

typedef struct {
  mt_world *w;
  const char *chunk, *name;
  size_t chunk_len, name_len;
  const uint8_t *args;
  size_t args_len;
  int call; /* call the function at path `chunk`, or the first argument when it is empty */
  int bad_args; /* the arguments could not be decoded */
  int load_memory; /* compiling the chunk ran out of memory */
} run_request;

typedef struct {
  int flags;
} create_request;

/* The registry slot that carries an error raised outside the script's own
** pcall to the protected call that reports it (report_outer). */
static int outer_error_key;

static int open_protected(lua_State *L) {
  create_request *c = lua_touserdata(L, 1);
  lua_pushboolean(L, 0);
  mt_setregistry(L, &outer_error_key);
  sandbox_open(L, c->flags & FLAG_FULL_LIBS);
  patterns_install(L);
  sort_install(L);
  countloops_install(L);
  traceback_install(L);
  hostlib_open(L);
  coro_install(L);
  hook_install_debug(L);
  rehook_probe(L);
  return 0;
}

typedef struct {
  double memory_limit;
  int32_t flags;
  mt_stack *stack;
  mt_world *w;
} create_call;

static void create_here(void *p) {
  create_call *cc = p;
  int32_t flags = cc->flags;
  double memory_limit = cc->memory_limit;
  mt_host *h = calloc(1, sizeof *h);
  mt_world *w = h ? world_newstate(1) : NULL;
  if (w == NULL) {
    free(h);
    return;
  }
  lua_State *L = w->main;
  w->host = h;
  h->L = L;
  h->stack = cc->stack;
  create_request c = {flags};
  if (mt_cpcall(L, open_protected, &c) != LUA_OK) {
    lua_close(L); /* detaches the world */
    world_free(w);
    free(h);
    return;
  }
#ifdef MTINT_LUAJIT
  /* Compiled loops never look at hooks: off unless asked for. After the
  ** libraries: opening `jit` turns the compiler on. */
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | ((flags & FLAG_JIT) ? LUAJIT_MODE_ON : LUAJIT_MODE_OFF));
#endif
  atomic_store_explicit(&w->meter.limit, memory_limit > 0 ? (size_t)memory_limit : 0, memory_order_relaxed);
  mt_scope_all(w->u, flags & FLAG_REACH_ALL);
  cc->w = w;
}

/* Every entry into Lua runs on the state's own stack (csrc/core/stack.h). */
MT_EXPORT mt_world *mth_create(double memory_limit, int32_t flags) {
  create_call c = {memory_limit, flags, mt_stack_new(MT_LUA_STACK_SIZE), NULL};
  if (c.stack == NULL) return NULL;
  mt_stack_run(c.stack, create_here, &c);
  if (c.w == NULL) mt_stack_free(c.stack);
  return c.w;
}

/* Lets the state's scripts reach the state whose main id is `id`, and its
** coroutines. 0, -1 when `id` is not a live state's main id, -2 out of
** memory. Before the first run. */
MT_EXPORT int32_t mth_grant(mt_world *w, double id) {
  if (!(id >= 1 && id < (double)MT_ID_LIMIT) || id != floor(id)) return MTINT_E_UNKNOWN;
  switch (mt_scope_grant(w->u, (uint64_t)id)) {
    case MT_OK: return 0;
    case MT_UNKNOWN: return MTINT_E_UNKNOWN;
    default: return MTINT_E_FULL;
  }
}

/* The callbacks into the worker's JavaScript. */
MT_EXPORT void mth_callbacks(mt_world *w, mt_print_cb print, mt_post_cb post, mt_call_cb call) {
  w->host->print = print;
  w->host->post = post;
  w->host->call = call;
}

typedef struct {
  int index;
  const char *name;
  size_t len;
} define_request;

static int define_protected(lua_State *L) {
  define_request *d = lua_touserdata(L, 1);
  hostlib_define(L, d->index, d->name, d->len);
  return 0;
}

/* Makes host function `index` callable as host.<name>. Returns 0, or -1
** when the state is out of memory. */
typedef struct {
  mt_world *w;
  define_request d;
  int32_t status;
} define_call;

static void define_here(void *p) {
  define_call *c = p;
  lua_State *L = c->w->host->L;
  c->status = 0;
  if (mt_cpcall(L, define_protected, &c->d) == LUA_OK) return;
  lua_pop(L, 1);
  c->status = -1;
}

MT_EXPORT int32_t mth_define(mt_world *w, int32_t index, const char *name, uint32_t len) {
  define_call c = {w, {index, name, len}, 0};
  mt_stack_run(w->host->stack, define_here, &c);
  return c.status;
}

/* A host function's reply, set by the JavaScript callback before it
** returns: encoded values, or the error message when it returns nonzero. */
MT_EXPORT void mth_reply(mt_world *w, const uint8_t *data, uint32_t len) {
  buf_reset(&w->host->reply);
  buf_bytes(&w->host->reply, data, len);
}

MT_EXPORT double mth_id(mt_world *w) { return (double)mt_main_id(w->u); }

MT_EXPORT const char *mth_version(void) { return LUA_VERSION; }

MT_EXPORT const char *mth_engine(void) {
#ifdef MTINT_LUAJIT
  return LUAJIT_VERSION;
#else
  return LUA_RELEASE;
#endif
}

/* The message handler: notes where the error happened and the traceback,
** and leaves the error value as it is (tables come back intact). */
static int msgh(lua_State *L) {
  mt_world *w = world_of(L);
  mt_host *h = w->host;
  w->limit_lifted = 1; /* a traceback must not fail at the memory limit */
  size_t len = 0;
  const char *msg = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : NULL;
  mt_traceback(L, L, len > CODEC_MAX_BYTES ? NULL : msg, 1); /* a huge message crosses once, cut, not twice */
  free(h->trace);
  h->trace = strdup(lua_tostring(L, -1));
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); level++) {
    lua_getinfo(L, "Sl", &ar);
    if (ar.currentline > 0) {
      strncpy(h->err_src, ar.short_src, sizeof h->err_src - 1);
      h->err_line = ar.currentline;
      break;
    }
  }
  w->limit_lifted = 0;
  lua_settop(L, 1);
  return 1;
}

/* An error record up to its value (host.h). */
static void write_record(mt_host *h, int kind, const char *message, size_t len, const char *trace) {
  buf_reset(&h->out);
  buf_u8(&h->out, (uint8_t)kind);
  buf_str(&h->out, message, len > CODEC_MAX_BYTES ? CODEC_MAX_BYTES : len);
  buf_str(&h->out, h->err_src, strlen(h->err_src));
  buf_i32(&h->out, h->err_line);
  buf_str(&h->out, trace ? trace : "", trace ? strlen(trace) : 0);
}

/* The value of an error whose value is the string `message`: bytes that
** are not UTF-8 cross as bytes, as result strings do (codec.c). */
static void write_string_value(mt_host *h, const char *message, size_t len) {
  if (len > CODEC_MAX_BYTES) {
    buf_u8(&h->out, ERROR_VALUE_NONE);
  } else if (codec_utf8_valid((const unsigned char *)message, len)) {
    buf_u8(&h->out, ERROR_VALUE_MESSAGE);
  } else {
    buf_u8(&h->out, ERROR_VALUE_ENCODED);
    buf_u32(&h->out, 1);
    buf_u8(&h->out, TAG_BYTES);
    buf_str(&h->out, message, len);
  }
}

/* An error record whose value is the string `message`. */
static void write_error(mt_host *h, int kind, const char *message, size_t len, const char *trace) {
  write_record(h, kind, message, len, trace);
  write_string_value(h, message, len);
}

/* "name:LINE: message" -> LINE, as load reports syntax errors. */
static int syntax_line(const char *msg, const char *name, size_t name_len) {
  if (strncmp(msg, name, name_len) != 0 || msg[name_len] != ':') return 0;
  return atoi(msg + name_len + 1);
}

/* Whether path[0..len) is names joined by dots. */
static int path_valid(const char *path, size_t len) {
  int at_start = 1;
  for (size_t i = 0; i < len; i++) {
    char c = path[i];
    int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (c == '.' && !at_start) at_start = 1;
    else if (alpha || (!at_start && c >= '0' && c <= '9')) at_start = 0;
    else return 0;
  }
  return len > 0 && !at_start;
}

/* Whether the value at idx has a metatable with field `event`. */
static int has_meta(lua_State *L, int idx, const char *event) {
  if (!luaL_getmetafield(L, idx, event)) return 0;
  lua_pop(L, 1);
  return 1;
}

/* Pushes the value at the dotted path `r->chunk`, indexing as Lua does
** (__index runs, under the call's deadline); raises a message that names
** the path and what is there when a step cannot be indexed or the end
** cannot be called. */
static void push_callee(lua_State *L, run_request *r) {
  const char *path = r->chunk;
  lua_pushlstring(L, path, r->chunk_len);
  const char *whole = lua_tostring(L, -1); /* kept below the values, for messages */
  if (!path_valid(path, r->chunk_len)) {
    lua_pushfstring(L, "call: \"%s\" is not a name or a dotted path of names", whole);
    lua_error(L);
  }
  const char *seg = path, *end = path + r->chunk_len;
  for (int first = 1; seg < end; first = 0) {
    const char *dot = memchr(seg, '.', (size_t)(end - seg));
    size_t n = (size_t)((dot ? dot : end) - seg);
    lua_pushlstring(L, seg, n);
    if (first) {
      lua_getglobal(L, lua_tostring(L, -1));
    } else {
      int t = lua_type(L, -2);
      if (t != LUA_TTABLE && !has_meta(L, -2, "__index")) {
        lua_pushlstring(L, path, (size_t)(seg - 1 - path));
        lua_pushfstring(L, "call: %s: %s is a %s value, not a table", whole, lua_tostring(L, -1), lua_typename(L, t));
        lua_error(L);
      }
      lua_gettable(L, -2);
    }
    lua_remove(L, -2); /* the name, or the table indexed */
    seg += n + 1;
  }
  int t = lua_type(L, -1);
  if (t != LUA_TFUNCTION && !has_meta(L, -1, "__call")) {
    lua_pushfstring(L, "call: %s is a %s value, not a function", whole, lua_typename(L, t));
    lua_error(L);
  }
  lua_remove(L, -2); /* the path */
}

/* What mth_call runs: arguments from the request, then the callee. */
static void push_call(lua_State *L, run_request *r) {
  int n = codec_push(L, r->args, r->args_len);
  if (n < 0) {
    r->bad_args = 1;
    lua_error(L);
  }
  if (r->chunk_len > 0) {
    push_callee(L, r);
    lua_insert(L, 1);
  } else if (n == 0 || lua_type(L, 1) != LUA_TFUNCTION) { /* src/handles.ts sends the function first */
    r->bad_args = 1;
    lua_pushliteral(L, "mtint: a handle call without its function");
    lua_error(L);
  }
}

static void write_result(lua_State *L, mt_host *h) {
  char why[320];
  buf_reset(&h->out);
  buf_u8(&h->out, RESULT_OK);
  if (!codec_encode(L, 1, lua_gettop(L), &h->out, why, sizeof why, "result", 1)) {
    buf_reset(&h->out);
    buf_u8(&h->out, RESULT_CONVERT);
    buf_str(&h->out, why, strlen(why));
  }
}

static int protected_run(lua_State *L) {
  run_request *r = lua_touserdata(L, 1);
  mt_host *h = r->w->host;
  lua_settop(L, 0);
  if (r->call) {
    push_call(L, r);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    write_result(L, h);
    return 0;
  }
  lua_pushliteral(L, "=");
  lua_pushlstring(L, r->name, r->name_len);
  lua_concat(L, 2); /* "=name": error messages say `name:line:` */
  const char *chunkname = lua_tostring(L, 1);
  int status = mt_loadtext(L, r->chunk, r->chunk_len, chunkname);
  /* Out of memory (or cancelled, which fails every allocation) while
  ** compiling is no syntax error: classify() reports it. */
  if (status != LUA_OK && (status != LUA_ERRSYNTAX || mt_call_cancelled(r->w->u))) {
    r->load_memory = status == LUA_ERRMEM;
    return lua_error(L);
  }
  if (status != LUA_OK) {
    size_t len;
    const char *msg = lua_tolstring(L, -1, &len);
    h->err_line = syntax_line(msg, r->name, r->name_len);
    snprintf(h->err_src, sizeof h->err_src, "%.*s", (int)r->name_len, r->name);
    write_error(h, RESULT_SYNTAX, msg, len, NULL);
    return 0;
  }
  lua_replace(L, 1);
  int n = codec_push(L, r->args, r->args_len);
  if (n < 0) {
    r->bad_args = 1;
    return lua_error(L);
  }
  lua_call(L, n, LUA_MULTRET);
  write_result(L, h);
  return 0;
}

static void write_cancelled(mt_world *w) {
  /* The cause, as a code: the host records its own (src/cancellation.ts). */
  write_record(w->host, RESULT_CANCELLED, "", 0, w->cancel_trace ? w->cancel_trace : w->host->trace);
  buf_u8(&w->host->out, (uint8_t)mt_call_cause(w->u));
}

/* Writes the result of a failed call; the error value is on top. */
static void classify(mt_world *w, lua_State *L, int status, run_request *r) {
  mt_host *h = w->host;
  if (mt_call_cancelled(w->u)) {
    write_cancelled(w);
    return;
  }
  if (status == LUA_ERRMEM || r->load_memory) {
    static const char msg[] = "not enough memory";
    /* concatguard.c: no memory was short, the stack could not move. */
    static const char concat[] = "not enough memory: the Lua stack cannot grow under a __concat metamethod "
                                 "(this liblua5.4's luaV_concat would use the freed stack)";
    if (w->concat_refused && !w->refused) write_error(h, RESULT_MEMORY, concat, sizeof concat - 1, h->trace);
    else write_error(h, RESULT_MEMORY, msg, sizeof msg - 1, h->trace);
    return;
  }
  int err = lua_gettop(L);
  int type = lua_type(L, err);
  size_t len = 0;
  const char *msg = NULL;
  if (type == LUA_TSTRING) {
    msg = lua_tolstring(L, err, &len);
  } else if (type == LUA_TNUMBER) {
    lua_pushvalue(L, err); /* lua_tolstring turns what it converts into a string: the value stays a number */
    msg = lua_tolstring(L, -1, &len);
  }
  /* lauxlib's buffers (5.3, 5.4) report a failed allocation as an error
  ** of their own: "not enough memory for buffer allocation". */
  if (w->refused && msg && strstr(msg, "not enough memory")) {
    write_error(h, RESULT_MEMORY, msg, len, h->trace);
    return;
  }
  if (msg && w->raised_seq == h->seq && strcmp(msg, ERR_INTERRUPTED) == 0) {
    write_error(h, RESULT_INTERRUPTED, msg, len, h->trace);
    return;
  }
  if (r->bad_args) {
    buf_reset(&h->out);
    buf_u8(&h->out, RESULT_CONVERT);
    if (msg == NULL) {
      msg = "args: the values cannot be decoded";
      len = strlen(msg);
    }
    buf_str(&h->out, msg, len);
    return;
  }
  if (type == LUA_TSTRING) {
    write_error(h, RESULT_ERROR, msg, len, h->trace);
    return;
  }
  /* Any other value crosses as a value (a number stays a number), when it
  ** can; the message is its text, or says what it was. */
  char why[320];
  buf_reset(&h->scratch);
  int crossed = codec_encode(L, err, 1, &h->scratch, why, sizeof why, "error", 0);
  if (!crossed && mt_call_cancelled(w->u)) { /* the encoder saw the call cancelled */
    write_cancelled(w);
    return;
  }
  char other[400];
  if (msg == NULL) {
    if (crossed || type != LUA_TTABLE) snprintf(other, sizeof other, "(error object is a %s value)", lua_typename(L, type));
    else snprintf(other, sizeof other, "(error object is a table value that cannot cross: %s)", why);
    msg = other;
    len = strlen(other);
  }
  write_record(h, RESULT_ERROR, msg, len, h->trace);
  if (crossed) {
    buf_u8(&h->out, ERROR_VALUE_ENCODED);
    buf_bytes(&h->out, h->scratch.data, h->scratch.len);
  } else {
    buf_u8(&h->out, ERROR_VALUE_NONE);
  }
  buf_reset(&h->scratch);
}

/* Collections after an out-of-memory error, at most (see run_protected). */
#define COLLECT_TRIES 64

static int collect(lua_State *L) {
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}

typedef struct {
  mt_world *w;
  int status;
  run_request *r;
} outer_error;

static int classify_outer(lua_State *L) {
  outer_error *e = lua_touserdata(L, 1);
  mt_getregistry(L, &outer_error_key);
  classify(e->w, L, e->status, e->r);
  return 0;
}

/* An error raised in run_protected outside the script's pcall: a finalizer
** that failed in a collection step of one of its allocations (stock Lua
** raises those from the allocation). Reported as the error it is, under
** protection: its value goes through a registry slot made at create, and
** storing into an existing slot allocates nothing. 0 if that failed too. */
static int report_outer(mt_world *w, lua_State *L, int status, run_request *r) {
  mt_setregistry(L, &outer_error_key);
  outer_error e = {w, status, r};
  int ok = mt_cpcall(L, classify_outer, &e) == LUA_OK;
  if (!ok) lua_pop(L, 1);
  lua_pushboolean(L, 0);
  mt_setregistry(L, &outer_error_key);
  return ok;
}

/* The whole call, under mt_cpcall: the inner lua_pcall runs the chunk
** with msgh; classifying its error can raise too (out of memory). */
static int run_protected(lua_State *L) {
  run_request *r = lua_touserdata(L, 1);
  mt_world *w = r->w;
  lua_settop(L, 0);
  lua_pushcfunction(L, collect); /* 1: pushed now, while there is memory */
  lua_pushcfunction(L, msgh);
  lua_pushcfunction(L, protected_run);
  lua_pushlightuserdata(L, r);
  w->watch_seq = w->host->seq;
  int status = lua_pcall(L, 1, 0, 2);
  w->watch_seq = 0;
  /* A cancelled call rejects even if the script caught the cancellation
  ** and returned before the hook could raise it again. Only a failed call
  ** has an error value on top: a successful one is never classified (a
  ** cancellation read twice may read true, then false). */
  if (status != LUA_OK) classify(w, L, status, r);
  else if (mt_call_cancelled(w->u)) write_cancelled(w);
  w->fail_alloc = 0;
  /* Lua 5.1 and LuaJIT have no emergency collection: after an allocation
  ** failed at the limit the state stays full until someone collects, also
  ** when the script caught the error and returned (the next call would
  ** fail). The finalizers that run are the script's code: under the limit
  ** and the call's deadline (a cancellation fails allocations again); an
  ** error of theirs is dropped (the call has its result), unless it is the
  ** cancellation. A finalizer's error stops the collection after the
  ** sweep, and what it allocated stays until the next one: so again, as
  ** long as finalizers fail (a bounded number of times: they may breed).
  ** The collection's own allocations (5.1 and LuaJIT shrink the string
  ** table by allocating the smaller one, maybe before anything is freed)
  ** may pass the limit; finalizers' may not (world.c collection_may_pass). */
  if ((status == LUA_ERRMEM || r->load_memory || w->refused) && !mt_call_cancelled(w->u)) { /* a cancelled call runs no finalizers */
    w->watch_seq = w->host->seq;
    w->collecting = 1;
    for (int tries = 0; tries < COLLECT_TRIES; tries++) {
      lua_pushvalue(L, 1);
      int collected = lua_pcall(L, 0, 0, 0);
      w->fail_alloc = 0;
      if (collected == LUA_OK) break;
      lua_pop(L, 1);
      if (mt_call_cancelled(w->u)) {
        write_cancelled(w);
        break;
      }
    }
    w->collecting = 0;
    w->watch_seq = 0;
  }
  return 0;
}

typedef struct {
  mt_world *w;
  run_request r;
  double seq, timeout_ms, cpu_limit_ms;
} run_call;

static void run_here(void *p) {
  run_call *c = p;
  mt_world *w = c->w;
  run_request r = c->r;
  double seq = c->seq, timeout_ms = c->timeout_ms, cpu_limit_ms = c->cpu_limit_ms;
  mt_host *h = w->host;
  lua_State *L = h->L;
  h->seq = (uint64_t)seq;
  h->err_src[0] = '\0';
  h->err_line = 0;
  free(h->trace);
  h->trace = NULL;
  free(w->cancel_trace);
  w->cancel_trace = NULL;
  w->raised_seq = 0;
  w->refused = 0;
  w->chain_depth = 0;
  mt_resuming(w->u, 0);
  w->hook_depth = 0;
  concatguard_call(w, L);
  buf_reset(&h->out);
  if (!mt_call_begin(w->u, h->seq)) {
    write_cancelled(w); /* cancelled before it started */
  } else {
    int wall = timeout_ms >= 0 && isfinite(timeout_ms), cpu = cpu_limit_ms > 0 && isfinite(cpu_limit_ms);
    if (wall || cpu)
      mt_deadline_set(w->u, h->seq, wall ? mt_now_ns() + (uint64_t)(timeout_ms * 1e6) : UINT64_MAX,
                      cpu ? (uint64_t)(cpu_limit_ms * 1e6) : 0);
    int top = lua_gettop(L);
    double mark = handles_mark(L);
    int status = mt_cpcall(L, run_protected, &r);
    if (status != LUA_OK) {
      w->limit_lifted = 0;
      if (mt_call_cancelled(w->u)) { /* a finalizer raised it as the call unwound */
        write_cancelled(w);
      } else if (status == LUA_ERRMEM || !report_outer(w, L, status, &r)) {
        static const char msg[] = "not enough memory";
        write_error(h, RESULT_MEMORY, msg, sizeof msg - 1, NULL);
      }
    }
    lua_settop(L, top);
    w->fail_alloc = 0;
    /* Handles made for a result that will not reach JavaScript. */
    if (h->out.oom || h->out.len == 0 || h->out.data[0] != RESULT_OK) handles_drop_since(L, mark);
  }
  mt_call_end(w->u);
  h->seq = 0;
  if (h->out.oom) {
    buf_reset(&h->out);
    static const char msg[] = "not enough memory for the result";
    write_error(h, RESULT_MEMORY, msg, sizeof msg - 1, NULL);
  }
}

/* Runs call `c` on the state's own stack and returns the length of its
** result, copied into `out` (the caller's channel, src/channel.ts) when it
** fits in `out_cap` bytes, else read with mth_result: the worker can then
** finish a call without copying it out of the native heap first. */
static uint32_t run_into(run_call *c, uint8_t *out, uint32_t out_cap) {
  mt_host *h = c->w->host;
  mt_stack_run(h->stack, run_here, c);
  mt_stack_trim(h->stack);
  if (h->out.len <= out_cap) memcpy(out, h->out.data, h->out.len);
  return (uint32_t)h->out.len;
}

/* Runs `chunk` (named `name`) with encoded `args` as host call `seq`,
** cancelled after `timeout_ms` (negative: none) or once it has used
** `cpu_limit_ms` of CPU time (negative: none). Returns the length of the
** result (run_into). */
MT_EXPORT uint32_t mth_run(mt_world *w, double seq, const char *chunk, uint32_t chunk_len, const char *name,
                           uint32_t name_len, const uint8_t *args, uint32_t args_len, double timeout_ms,
                           double cpu_limit_ms, uint8_t *out, uint32_t out_cap) {
  run_call c = {w, {w, chunk, name, chunk_len, name_len, args, args_len, 0, 0, 0}, seq, timeout_ms, cpu_limit_ms};
  return run_into(&c, out, out_cap);
}

/* Calls the function at the dotted path `path` (a global name, or names
** joined by dots: "game.update") with encoded `args`, as mth_run runs a
** chunk; an empty path calls the first argument (a function handle).
** Nothing is compiled. */
MT_EXPORT uint32_t mth_call(mt_world *w, double seq, const char *path, uint32_t path_len, const uint8_t *args,
                            uint32_t args_len, double timeout_ms, double cpu_limit_ms, uint8_t *out,
                            uint32_t out_cap) {
  run_call c = {w, {w, path, "", path_len, 0, args, args_len, 1, 0, 0}, seq, timeout_ms, cpu_limit_ms};
  return run_into(&c, out, out_cap);
}

typedef struct {
  mt_world *w;
  const double *ids;
  uint32_t n;
} release_call;

static void release_here(void *p) {
  release_call *c = p;
  for (uint32_t i = 0; i < c->n; i++) handles_release(c->w->host->L, c->ids[i]);
}

/* Drops the function handles numbered `ids` (src/handles.ts releases them
** in batches, between calls); returns how many stay live. */
MT_EXPORT uint32_t mth_release(mt_world *w, const double *ids, uint32_t n) {
  release_call c = {w, ids, n};
  mt_stack_run(w->host->stack, release_here, &c);
  return handles_live(w->host->L);
}

MT_EXPORT const uint8_t *mth_result(mt_world *w) { return w->host->out.data; }

#if LUA_VERSION_NUM == 503 && !defined(MTINT_LUAJIT)
/* Lua 5.3 (lgc.c) hangs in lua_close when a finalizer collects: close
** moves every finalizable object to `tobefnz` without setting `gcfinnum`,
** and a collection left in GCScallfin with gcfinnum 0 (what a cycle that
** emptied tobefnz leaves) runs zero finalizers per step forever. A full
** collection first ends in GCSpause, from where a finalizer's collection
** passes atomic(), which sets gcfinnum. Retried while finalizers fail
** (each error stops it; bounded, as they may breed). */
#define PRECLOSE_TRIES 16

static void preclose(lua_State *L) {
  for (int tries = 0; tries < PRECLOSE_TRIES; tries++) {
    lua_settop(L, 0);
    if (mt_cpcall(L, collect, NULL) == LUA_OK) break;
  }
  lua_settop(L, 0);
}
#else
static void preclose(lua_State *L) { (void)L; }
#endif

static void close_here(void *p) {
  mt_world *w = p;
  preclose(w->host->L);
  w->closing = 1;
  w->close_used = atomic_load_explicit(&w->meter.used, memory_order_relaxed);
  lua_close(w->host->L); /* the sentinel detaches the world on the way */
}

/* Closes the state. Its finalizers run inside lua_close, still
** interruptible as call `seq`; the sentinel detaches the world at the end.
** Owner thread, between calls. */
MT_EXPORT void mth_close(mt_world *w, double seq) {
  mt_host *h = w->host;
  mt_call_begin(w->u, (uint64_t)seq);
  w->watch_seq = (uint64_t)seq;
  mt_stack_run(h->stack, close_here, w);
  world_free(w);
  mt_stack_free(h->stack);
  buf_free(&h->out);
  buf_free(&h->reply);
  buf_free(&h->scratch);
  free(h->trace);
  free(h);
}
