/*
** Binds the Lua C API at run time, in the library that JavaScript loads
** (<version>/libmtint_lua.so). That library links no Lua: one build runs
** with whichever distribution's Lua runtime is installed (liblua5.4.so.0,
** liblua-5.4.so, liblua.so.5.4, ...), which ffi/lua_runtime.ts finds and
** passes to mth_lua_open before anything else of this library runs.
**
** Why not RTLD_GLOBAL and plain undefined symbols: one process runs several
** Lua versions at once (a worker each), and a global symbol binds to the
** first library that defines it, so 5.4's library would call into 5.3's.
** Instead every API function named in lua_api_list.h is a hidden stub that
** jumps through a pointer set from dlsym on this version's own handle. A
** jump leaves the caller's registers and stack as they are, so one stub
** serves every signature, variadic ones included.
**
** Deliberately no compat.h: its object-like macros (lua_rawlen in 5.1)
** would rename the stubs. lua.h gives LUA_VERSION_NUM and lua_Number only.
*/
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "mtint_core.h"

#ifdef MTINT_LUAJIT
#define EXPECTED "LuaJIT"
#elif LUA_VERSION_NUM == 501
#define EXPECTED "Lua 5.1"
#elif LUA_VERSION_NUM == 502
#define EXPECTED "Lua 5.2"
#elif LUA_VERSION_NUM == 503
#define EXPECTED "Lua 5.3"
#elif LUA_VERSION_NUM == 504
#define EXPECTED "Lua 5.4"
#else
#error "unsupported Lua version"
#endif

/* A function the runtime lacks (one this version never calls, or a runtime
** built without it) stops the process with its name rather than jumping
** to address 0. */
static _Noreturn void missing(const char *name) {
  fprintf(stderr, "mtint: the Lua runtime has no %s (expected %s)\n", name, EXPECTED);
  abort();
}

#define MT_LUA_API(name)                                   \
  static void missing_##name(void) { missing(#name); }     \
  __attribute__((used)) void *mt_lua_fn_##name = (void *)missing_##name;
#include "lua_api_list.h"
#undef MT_LUA_API

/* Hidden, so calls from this library bind to them and nothing outside sees
** them. Only # is applied to `name`: no macro of lua.h can rename it. */
#if defined(__x86_64__) && defined(__ELF__)
#define MT_LUA_API(name)                                                                \
  __asm__(".text\n.globl " #name "\n.hidden " #name "\n.type " #name ",@function\n" #name \
          ":\n\tjmp *mt_lua_fn_" #name "(%rip)\n.size " #name ",.-" #name "\n");
#elif defined(__aarch64__) && defined(__ELF__)
#define MT_LUA_API(name)                                                                     \
  __asm__(".text\n.globl " #name "\n.hidden " #name "\n.type " #name ",%function\n" #name      \
          ":\n\tadrp x16, mt_lua_fn_" #name "\n\tldr x16, [x16, :lo12:mt_lua_fn_" #name "]\n" \
          "\tbr x16\n.size " #name ",.-" #name "\n");
#elif defined(__x86_64__) && defined(__APPLE__)
#define MT_LUA_API(name)                                                        \
  __asm__(".text\n.globl _" #name "\n.private_extern _" #name "\n.p2align 2\n_" #name \
          ":\n\tjmp *_mt_lua_fn_" #name "(%rip)\n");
#elif defined(__aarch64__) && defined(__APPLE__)
#define MT_LUA_API(name)                                                                        \
  __asm__(".text\n.globl _" #name "\n.private_extern _" #name "\n.p2align 2\n_" #name            \
          ":\n\tadrp x16, _mt_lua_fn_" #name "@PAGE\n\tldr x16, [x16, _mt_lua_fn_" #name "@PAGEOFF]\n" \
          "\tbr x16\n");
#else
#error "lua_binding.c: no call stubs for this architecture or object format"
#endif
#include "lua_api_list.h"
#undef MT_LUA_API

struct binding {
  const char *name;
  void **fn;
};

static const struct binding bindings[] = {
#define MT_LUA_API(name) {#name, &mt_lua_fn_##name},
#include "lua_api_list.h"
#undef MT_LUA_API
};

/* Which Lua a runtime is, from the functions only that version has; then
** its own lua_version where one exists (its signature differs per version). */
static const char *identify(void *h, char *detail, size_t size) {
  /* Every version has these; a library without them is no Lua at all. */
  if (!dlsym(h, "lua_newstate") || !dlsym(h, "lua_pushlstring")) return "not a Lua runtime (no lua_newstate)";
  if (dlsym(h, "luaJIT_setmode")) return "LuaJIT";
  void *version = dlsym(h, "lua_version");
  if (version == NULL) return "Lua 5.1";
  double num;
  const char *name;
  if (dlsym(h, "lua_toclose")) {
    num = (double)((lua_Number(*)(void *))version)(NULL);
    name = "Lua 5.4";
  } else {
    num = (double)*((const lua_Number *(*)(void *))version)(NULL);
    name = dlsym(h, "lua_rotate") ? "Lua 5.3" : "Lua 5.2";
  }
  int expected = name[6] == '2' ? 502 : name[6] == '3' ? 503 : 504;
  if ((int)num != expected) {
    snprintf(detail, size, "lua_version() says %g", num);
    return "an unknown Lua";
  }
  return name;
}

static pthread_mutex_t bind_lock = PTHREAD_MUTEX_INITIALIZER;
static char bound_path[4096]; /* under bind_lock; set once */

/* Opens the Lua runtime at `path` (RTLD_LOCAL: see above) and binds the API
** to it. 0 when bound (or already bound to this path); 1 when already bound
** to another runtime, whose path is then in `err`; -1 when it cannot be
** opened, -2 when it is another Lua version: `err` says why. The stubs'
** pointers are written under bind_lock before any Lua runs in this
** process; every thread that runs Lua called this first, so it sees them. */
MT_EXPORT int32_t mth_lua_open(const char *path, char *err, uint32_t errlen) {
  int32_t rc = 0;
  pthread_mutex_lock(&bind_lock);
  if (bound_path[0]) {
    if (strcmp(bound_path, path) != 0) {
      snprintf(err, errlen, "%s", bound_path);
      rc = 1;
    }
    goto out;
  }
  if (strlen(path) >= sizeof bound_path) {
    snprintf(err, errlen, "path too long");
    rc = -1;
    goto out;
  }
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *why = dlerror();
    snprintf(err, errlen, "%s", why ? why : "dlopen failed");
    rc = -1;
    goto out;
  }
  char detail[64] = "";
  const char *found = identify(h, detail, sizeof detail);
  if (strcmp(found, EXPECTED) != 0) {
    snprintf(err, errlen, "it is %s%s%s, not %s", found, detail[0] ? ": " : "", detail, EXPECTED);
    dlclose(h);
    rc = -2;
    goto out;
  }
  for (size_t i = 0; i < sizeof bindings / sizeof *bindings; i++) {
    void *fn = dlsym(h, bindings[i].name);
    if (fn) *bindings[i].fn = fn;
  }
  strcpy(bound_path, path); /* the handle stays open for the process */
out:
  pthread_mutex_unlock(&bind_lock);
  return rc;
}
