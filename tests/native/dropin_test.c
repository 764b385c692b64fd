/*
** The drop-in module the way the rock is used: states on real threads
** (as llthreads2 runs them), ids and values passed between threads (as
** mtmsg does), interrupts from other threads. Each scenario of the rock's
** examples and tests that this host can express, plus the cases of issue
** 12: a state set up on one thread and run on another that never calls
** mtint (with the first thread gone, and alive), LuaJIT with its JIT on
** in a loop calling a C function, an interrupt sent while the state is
** inside coroutine.resume, one sent inside pcall(function() return
** coroutine.resume(co) end), a coroutine.resume saved before require, a
** message that arrives just after an interrupt (it stays).
** Prints interrupt -> hook latency percentiles (bench figures, not checked).
**
** Usage: dropin_test [latency-samples]
*/
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "world.h"

int luaopen_mtint(lua_State *L);

#ifdef MTINT_LUAJIT
#define VERSION_NAME LUAJIT_VERSION
#else
#define VERSION_NAME LUA_VERSION
#endif

#define WAIT_NS 2000000000ull

/* A board of named numbers shared by every state (mtmsg's buffers here). */
#define BOARD 16
static struct { char name[32]; _Atomic double value; _Atomic int set; } board[BOARD];
static pthread_mutex_t board_lock = PTHREAD_MUTEX_INITIALIZER;

static int entry(const char *name) {
  pthread_mutex_lock(&board_lock);
  int i = 0;
  while (i < BOARD && board[i].name[0] && strcmp(board[i].name, name) != 0) i++;
  if (i < BOARD && !board[i].name[0]) snprintf(board[i].name, sizeof board[i].name, "%s", name);
  pthread_mutex_unlock(&board_lock);
  if (i == BOARD) abort();
  return i;
}

static void put(const char *name, double v) {
  int i = entry(name);
  atomic_store(&board[i].value, v);
  atomic_store(&board[i].set, 1);
}

static void clear_board(void) {
  for (int i = 0; i < BOARD; i++) {
    atomic_store(&board[i].set, 0);
    atomic_store(&board[i].value, 0);
    board[i].name[0] = 0;
  }
}

/* Waits up to WAIT_NS for `name`; NAN-free: returns 0 when it never came. */
static double await(const char *name) {
  int i = entry(name);
  uint64_t start = mt_now_ns();
  while (!atomic_load(&board[i].set)) {
    if (mt_now_ns() - start > WAIT_NS) return 0;
    sched_yield();
  }
  return atomic_load(&board[i].value);
}

static int l_put(lua_State *L) {
  put(luaL_checkstring(L, 1), (double)luaL_optnumber(L, 2, 1));
  return 0;
}

static int l_get(lua_State *L) {
  int i = entry(luaL_checkstring(L, 1));
  if (atomic_load(&board[i].set)) lua_pushnumber(L, (lua_Number)atomic_load(&board[i].value));
  else lua_pushnil(L);
  return 1;
}

static int l_noop(lua_State *L) {
  (void)L;
  return 0;
}

static int l_clock(lua_State *L) {
  lua_pushnumber(L, (lua_Number)mt_now_ns());
  return 1;
}

static lua_State *new_state(int jit) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
#ifdef MTINT_LUAJIT
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | (jit ? LUAJIT_MODE_ON : LUAJIT_MODE_OFF));
#else
  (void)jit;
#endif
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_mtint);
  lua_setfield(L, -2, "mtint");
  lua_pop(L, 2);
  lua_register(L, "put", l_put);
  lua_register(L, "get", l_get);
  lua_register(L, "noop", l_noop);
  lua_register(L, "nanos", l_clock);
  return L;
}

/* Runs `code` in L; the error message (or "ok") goes to the board's
** `done` entry as a code: 1 ok, 2 interrupted, 3 other error. */
typedef struct {
  lua_State *L;
  const char *code;
  char error[256];
} job;

static void run_job(job *j) {
  int status = luaL_loadstring(j->L, j->code);
  if (status == 0) status = lua_pcall(j->L, 0, 0, 0);
  j->error[0] = 0;
  if (status != 0) {
    const char *m = lua_tostring(j->L, -1);
    snprintf(j->error, sizeof j->error, "%s", m ? m : "(not a string)");
    lua_pop(j->L, 1);
  }
  put("done", status == 0 ? 1 : strstr(j->error, "mtint.error.interrupted") ? 2 : 3);
}

static void *job_thread(void *arg) {
  run_job(arg);
  return NULL;
}

static pthread_t start(job *j) {
  pthread_t t;
  pthread_create(&t, NULL, job_thread, j);
  return t;
}

static uint64_t id_of(const char *name) { return (uint64_t)await(name); }

/* example01: a thread publishes its id and spins; the main thread stops it. */
static void example01(void) {
  clear_board();
  job j = {.L = new_state(0), .code = "local mtint = require 'mtint'\n"
                         "put('id', mtint.id())\n"
                         "local x = 1\n"
                         "while true do x = x + 1; assert(x == load('return ' .. x)()) end\n"};
#if LUA_VERSION_NUM < 502
  j.code = "local mtint = require 'mtint'\nput('id', mtint.id())\nlocal x = 1\n"
           "while true do x = x + 1; assert(x == loadstring('return ' .. x)()) end\n";
#endif
  pthread_t t = start(&j);
  uint64_t id = id_of("id");
  CHECK(id != 0 && mt_interrupt(id, MT_ONCE, NULL) == MT_OK);
  CHECK(await("done") == 2);
  pthread_join(t, NULL);
  lua_close(j.L);
}

/* example02: a coroutine publishes its id and spins; its resume fails
** with the interrupt and the thread goes on. */
static void example02(void) {
  clear_board();
  job j = {.L = new_state(0), .code = "local mtint = require 'mtint'\n"
                         "local c = coroutine.create(function()\n"
                         "  coroutine.yield(mtint.id())\n"
                         "  put('id', mtint.id())\n"
                         "  local x = 1\n"
                         "  while true do x = x + 1 end\n"
                         "end)\n"
                         "local ok, cid = coroutine.resume(c)\n"
                         "assert(ok and cid == mtint.id(c))\n"
                         "local ok, err = coroutine.resume(c)\n"
                         "assert(not ok and err:match(mtint.error.interrupted))\n"};
  pthread_t t = start(&j);
  CHECK(mt_interrupt(id_of("id"), MT_ONCE, NULL) == MT_OK);
  CHECK(await("done") == 1);
  pthread_join(t, NULL);
  lua_close(j.L);
}

/*
** A state set up on thread A and run on thread B, which never calls mtint.
** `a_stays`: A lives on (blocked) while B runs. The loop body is what the
** version needs to be reachable there (README, drop-in section): nothing
** on 5.1 to 5.3 (direct store), a call on 5.4 (the store is seen at calls
** and returns; the frame traps need a signal B cannot get before it is
** known), an allocation on LuaJIT (signals only, to the thread noted by
** the allocator or the hook).
*/
typedef struct {
  lua_State *L;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int release;
} setup;

static void *setup_thread(void *arg) {
  setup *s = arg;
  if (luaL_dostring(s->L, "mtint = require 'mtint'; put('id', mtint.id()); mtint.id()") != 0) put("done", 3);
  pthread_mutex_lock(&s->lock);
  while (!s->release) pthread_cond_wait(&s->cond, &s->lock);
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

static void moved(int a_stays) {
  clear_board();
  setup s = {new_state(0), PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, !a_stays};
  pthread_t a;
  pthread_create(&a, NULL, setup_thread, &s);
  uint64_t id = id_of("id");
  if (!a_stays) pthread_join(a, NULL);
#if defined(MTINT_LUAJIT)
  const char *loop = "put('running') local t while true do t = {} end";
#elif LUA_VERSION_NUM >= 504
  const char *loop = "put('running') while true do noop() end";
#else
  const char *loop = "put('running') while true do end";
#endif
  job j = {.L = s.L, .code = loop};
  pthread_t b = start(&j);
  await("running");
  CHECK(id != 0 && mt_interrupt(id, MT_ONCE, NULL) == MT_OK);
  CHECK(await("done") == 2);
  pthread_join(b, NULL);
  if (a_stays) {
    pthread_mutex_lock(&s.lock);
    s.release = 1;
    pthread_cond_signal(&s.cond);
    pthread_mutex_unlock(&s.lock);
    pthread_join(a, NULL);
  }
  lua_close(s.L);
}

/* Issue 12, item 5: interrupting the main state while it is inside
** pcall(function() return coroutine.resume(co) end) lands inside the
** pcall (the return of resume), as the rock's does. */
static void inside_pcall_resume(void) {
  clear_board();
  job j = {.L = new_state(0), .code = "local mtint = require 'mtint'\n"
                         "put('id', mtint.id())\n"
                         "local co = coroutine.create(function()\n"
                         "  put('inside')\n"
                         "  while not get('go') do end\n"
                         "end)\n"
                         "local ok, err = pcall(function() return coroutine.resume(co) end)\n"
                         "assert(not ok and err:match(mtint.error.interrupted), tostring(err))\n"
                         "put('caught')\n"};
  pthread_t t = start(&j);
  uint64_t id = id_of("id");
  await("inside");
  CHECK(mt_interrupt(id, MT_ONCE, NULL) == MT_OK);
  put("go", 1);
  CHECK(await("done") == 1);
  CHECK(await("caught") == 1);
  pthread_join(t, NULL);
  lua_close(j.L);
}

/* Issue 12, item 3: an interrupt sent while inside coroutine.resume lands
** when the resume returns, however few instructions follow. */
static void after_resume(void) {
  clear_board();
  job j = {.L = new_state(0), .code = "local mtint = require 'mtint'\n"
                         "put('id', mtint.id())\n"
                         "local co = coroutine.create(function()\n"
                         "  put('inside')\n"
                         "  while not get('go') do end\n"
                         "end)\n"
                         "coroutine.resume(co)\n"
                         "local x = 1\n"};
  pthread_t t = start(&j);
  uint64_t id = id_of("id");
  await("inside");
  CHECK(mt_interrupt(id, MT_ONCE, NULL) == MT_OK);
  put("go", 1);
  CHECK(await("done") == 2);
  pthread_join(t, NULL);
  lua_close(j.L);
}

/* Issue 12, item 3: a coroutine.resume saved before require "mtint" does
** not escape a coroutine's interrupt, even with short runs per resume. */
static void saved_resume(void) {
  clear_board();
  job j = {.L = new_state(0), .code = "local resume = coroutine.resume\n"
                         "local mtint = require 'mtint'\n"
                         "local co = coroutine.create(function() while true do coroutine.yield() end end)\n"
                         "put('id', mtint.id(co))\n"
                         "while true do\n"
                         "  local ok, err = resume(co)\n"
                         "  if not ok then assert(err:match(mtint.error.interrupted)) put('caught') return end\n"
                         "end\n"};
  pthread_t t = start(&j);
  CHECK(mt_interrupt(id_of("id"), MT_ONCE, NULL) == MT_OK);
  CHECK(await("done") == 1);
  CHECK(await("caught") == 1);
  pthread_join(t, NULL);
  lua_close(j.L);
}

/* Issue 12, item 1: with LuaJIT's JIT on, a loop that calls a C function
** (os.clock, or mtmsg.sleep(0) in the rock's test02) stops. Every version
** runs it; only LuaJIT compiles it. */
static void jit_c_loop(void) {
  clear_board();
  job j = {.L = new_state(1), .code = "local mtint = require 'mtint'\n"
                         "put('id', mtint.id())\n"
                         "local x = 0\n"
                         "while true do x = x + 1; os.clock() end\n"};
  pthread_t t = start(&j);
  uint64_t id = id_of("id");
  struct timespec pause = {0, 20000000}; /* 20 ms: long enough to compile */
  nanosleep(&pause, NULL);
  CHECK(mt_interrupt(id, MT_ONCE, NULL) == MT_OK);
  CHECK(await("done") == 2);
  pthread_join(t, NULL);
  lua_close(j.L);
}

/* mtmsg's nextmsg in small: waits in C for a message, hands it over
** through a protected call back into Lua (mtmsg parses it so), and
** removes it only when that succeeded. */
static _Atomic int message;

static int push_message(lua_State *L) {
  lua_pushnumber(L, atomic_load(&message));
  return 1;
}

static int l_take(lua_State *L) {
  put("taking", 1);
  uint64_t start = mt_now_ns();
  /* No system call while it waits: a signal then needs an interprocessor
  ** interrupt, slower than the message's store (the case of issue 12). */
  while (atomic_load(&message) == 0 && mt_now_ns() - start < WAIT_NS) {
  }
  lua_pushcfunction(L, push_message);
  if (lua_pcall(L, 0, 1, 0) != 0) return lua_error(L);
  atomic_store(&message, 0);
  return 1;
}

/* Issue 12, item 5: interrupt, then a message; the receive that was
** waiting raises and the message stays, as with the rock (whose
** interrupt() arms before it returns): the callback's call hook stops it. */
static void message_stays(void) {
  clear_board();
  atomic_store(&message, 0);
  job j = {.L = new_state(0), .code = "local mtint = require 'mtint'\n"
                         "put('id', mtint.id())\n"
                         "local ok, err = pcall(function() return take() end)\n"
                         "assert(not ok and err:match(mtint.error.interrupted), tostring(err))\n"
                         "put('caught')\n"};
  lua_register(j.L, "take", l_take);
  pthread_t t = start(&j);
  uint64_t id = id_of("id");
  await("taking");
  CHECK(mt_interrupt(id, MT_ONCE, NULL) == MT_OK);
  atomic_store(&message, 42);
  CHECK(await("done") == 1);
  CHECK(await("caught") == 1);
  CHECK(atomic_load(&message) == 42);
  pthread_join(t, NULL);
  lua_close(j.L);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* interrupt(id) from this thread -> the handler's first statement in a
** state spinning on another thread (the rock's figure is the same). */
static void latency(int samples) {
  clear_board();
  job j = {.L = new_state(0), .code = "local mtint = require 'mtint'\n"
                         "local n = 0\n"
                         "mtint.sethook(function() local t = nanos() n = n + 1 put('hooked', t) put('n', n) end)\n"
                         "put('id', mtint.id())\n"
                         "while not get('stop') do end\n"};
  pthread_t t = start(&j);
  uint64_t id = id_of("id");
  uint64_t *ns = calloc((size_t)samples, sizeof *ns);
  int got = 0;
  for (int i = 0; i < samples; i++) {
    struct timespec gap = {0, 200000 + (i % 7) * 37000};
    nanosleep(&gap, NULL);
    int n = entry("n");
    double before = atomic_load(&board[n].value);
    uint64_t t0 = mt_now_ns();
    mt_interrupt(id, MT_ONCE, NULL);
    while (atomic_load(&board[n].value) == before) { /* the stamp is the hook's own */
      if (mt_now_ns() - t0 > WAIT_NS) break;
      sched_yield();
    }
    if (atomic_load(&board[n].value) == before) {
      fprintf(stderr, "%s: interrupt %d of %d not delivered\n", VERSION_NAME, i, samples);
      continue;
    }
    uint64_t seen = mt_now_ns() - t0;
    ns[got++] = (uint64_t)await("hooked") - t0;
    if (getenv("DEBUG_LAT")) fprintf(stderr, "%llu %llu\n", (unsigned long long)ns[got-1], (unsigned long long)seen);
  }
  CHECK(got == samples);
  put("stop", 1);
  pthread_join(t, NULL);
  lua_close(j.L);
  if (got > 0) {
    qsort(ns, (size_t)got, sizeof *ns, cmp_u64);
    printf("%s: interrupt -> hook: p50 %.2f us, p99 %.2f us (%d samples)\n", VERSION_NAME, ns[got / 2] / 1e3,
           ns[got * 99 / 100] / 1e3, got);
  }
  free(ns);
}

int main(int argc, char **argv) {
  int samples = argc > 1 ? atoi(argv[1]) : 200;
  alarm(120); /* a lost interrupt leaves a loop running: fail, not hang */
  example01();
  example02();
  moved(0);
  moved(1);
  inside_pcall_resume();
  after_resume();
  saved_resume();
  jit_c_loop();
  for (int i = 0; i < 20; i++) message_stays();
  if (samples > 0) latency(samples);
  if (failures) fprintf(stderr, "%s: %d checks failed\n", VERSION_NAME, failures);
  else printf("%s: drop-in scenarios passed\n", VERSION_NAME);
  return failures != 0;
}
