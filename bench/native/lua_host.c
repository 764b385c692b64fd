/*
** A minimal Lua host, to tell apart what makes a CPU-bound program slower
** in a LuaWorker than under the stock interpreter:
**
**   lua_host [-thread] [-idle-thread] [-wrap] [-joff] file.lua scale rounds
**
** runs `file.lua scale` `rounds` times in one state and prints the median
** wall time in seconds. Link it against the static library (as the stock
** lua5.x binary is) or the shared one (as mtint loads it), run it on the
** main thread or a new pthread (as a Web Worker does), with or without a
** pass-through allocator wrapper shaped like csrc/lua/world.c's; with
** -idle-thread a sleeping thread exists while the main thread runs Lua (a
** multi-threaded process: glibc's malloc then takes its arena lock on every
** call that misses the thread cache, as in every Deno or Bun process).
**
** bench/sections/cpu.ts builds it against each version's shared library
** (as mtint loads it; -DHOST_LUAJIT for LuaJIT, where -joff turns the JIT
** off as a LuaWorker does by default) and runs it with -thread next to the
** stock interpreter and the LuaWorker: the "C host" column.
**
**   zig cc -O2 -I/usr/include/lua5.4 bench/native/lua_host.c -o /tmp/host-shared -llua5.4 -lm -pthread
**   zig cc -O2 -I/usr/include/lua5.4 bench/native/lua_host.c -o /tmp/host-static \
**     /usr/lib/x86_64-linux-gnu/liblua5.4.a -lm -ldl -pthread
*/
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#ifdef HOST_LUAJIT
#include <luajit.h>
#endif
#ifndef LUA_OK
#define LUA_OK 0
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
  lua_Alloc orig;
  void *orig_ud;
  _Atomic size_t used;
  size_t thread_size;
} wrap_t;

/* The shape of world_alloc: a size meter, a limit check, a coroutine-size
** compare on free. */
static void *wrapped_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  wrap_t *w = ud;
  size_t old = ptr ? osize : 0;
  size_t used = atomic_load_explicit(&w->used, memory_order_relaxed);
  if (nsize == 0) {
    if (ptr == NULL) return NULL;
    if (old == w->thread_size) __asm__ volatile("" ::: "memory");
    atomic_store_explicit(&w->used, used - old, memory_order_relaxed);
    w->orig(w->orig_ud, ptr, osize, 0);
    return NULL;
  }
  void *p = w->orig(w->orig_ud, ptr, osize, nsize);
  if (p != NULL) atomic_store_explicit(&w->used, used - old + nsize, memory_order_relaxed);
  return p;
}

typedef struct {
  const char *file;
  const char *scale;
  int rounds, wrap, joff;
  double median;
} job_t;

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void *idle(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

static void *run(void *arg) {
  job_t *job = arg;
  lua_State *L = luaL_newstate();
  static wrap_t w;
  if (job->wrap) {
    w.orig = lua_getallocf(L, &w.orig_ud);
    w.thread_size = 208;
    lua_setallocf(L, wrapped_alloc, &w);
  }
  luaL_openlibs(L);
#ifdef HOST_LUAJIT
  if (job->joff) luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
#endif
  double times[64];
  int n = job->rounds > 64 ? 64 : job->rounds;
  for (int i = 0; i < n; i++) {
    if (luaL_loadfile(L, job->file) != LUA_OK) {
      fprintf(stderr, "%s\n", lua_tostring(L, -1));
      exit(1);
    }
    lua_pushstring(L, job->scale);
    double t0 = now();
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
      fprintf(stderr, "%s\n", lua_tostring(L, -1));
      exit(1);
    }
    times[i] = now() - t0;
  }
  qsort(times, (size_t)n, sizeof *times, cmp);
  job->median = times[(n - 1) / 2];
  lua_close(L);
  return NULL;
}

int main(int argc, char **argv) {
  int thread = 0, wrap = 0, idle_thread = 0, joff = 0, i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "-thread") == 0) thread = 1;
    if (strcmp(argv[i], "-wrap") == 0) wrap = 1;
    if (strcmp(argv[i], "-idle-thread") == 0) idle_thread = 1;
    if (strcmp(argv[i], "-joff") == 0) joff = 1;
  }
  if (argc - i < 3) {
    fprintf(stderr, "usage: lua_host [-thread] [-idle-thread] [-wrap] [-joff] file.lua scale rounds\n");
    return 2;
  }
  job_t job = {argv[i], argv[i + 1], atoi(argv[i + 2]), wrap, joff, 0};
  if (idle_thread) {
    pthread_t t;
    pthread_create(&t, NULL, idle, NULL);
  }
  if (thread) {
    pthread_t t;
    pthread_create(&t, NULL, run, &job);
    pthread_join(t, NULL);
  } else {
    run(&job);
  }
  printf("%.4f\n", job.median);
  return 0;
}
