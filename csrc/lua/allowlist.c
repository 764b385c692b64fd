/*
** The safe preset, in one place: exactly which globals, library fields
** and modules exist. A name listed here that a version lacks does not
** exist there either (5.1's gfind, 5.4's coroutine.close); everything
** not listed is removed after the libraries are opened, from _G, from
** the libraries' tables (which package.loaded shares), from
** package.loaded and package.preload. tests/hostile/sandbox.ts walks
** everything a script can reach and compares it with this list.
**
** Left out on purpose: files and processes (io, os but the clock,
** dofile, loadfile), native code (package.loadlib, the C searchers, ffi),
** probing the file system (package.searchpath), the debug library but
** traceback, LuaJIT's jit (jit.util reveals native addresses; opening it
** is still needed, for `jit: true`), and warn (it writes to the host
** process's stderr).
*/
#include <string.h>

#include "host.h"

static const char *const globals[] = {
    "_G", "_VERSION", "assert", "collectgarbage", "error", "gcinfo", "getfenv", "getmetatable", "ipairs", "load",
    "loadstring", "module", "newproxy", "next", "pairs", "pcall", "print", "rawequal", "rawget", "rawlen", "rawset",
    "require", "select", "setfenv", "setmetatable", "tonumber", "tostring", "type", "unpack", "xpcall", NULL,
};

static const char *const coroutine_fields[] = {
    "close", "create", "isyieldable", "resume", "running", "status", "wrap", "yield", NULL,
};
static const char *const string_fields[] = {
    "byte", "char", "dump", "find", "format", "gfind", "gmatch", "gsub", "len", "lower", "match", "pack",
    "packsize", "rep", "reverse", "sub", "unpack", "upper", NULL,
};
static const char *const table_fields[] = {
    "concat", "foreach", "foreachi", "getn", "insert", "maxn", "move", "pack", "remove", "setn", "sort", "unpack", NULL,
};
static const char *const math_fields[] = {
    "abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "cosh", "deg", "exp", "floor", "fmod", "frexp", "huge",
    "ldexp", "log", "log10", "max", "maxinteger", "min", "mininteger", "mod", "modf", "pi", "pow", "rad", "random",
    "randomseed", "sin", "sinh", "sqrt", "tan", "tanh", "tointeger", "type", "ult", NULL,
};
static const char *const utf8_fields[] = {"char", "charpattern", "codepoint", "codes", "len", "offset", NULL};
static const char *const bit32_fields[] = {
    "arshift", "band", "bnot", "bor", "btest", "bxor", "extract", "lrotate", "lshift", "replace", "rrotate", "rshift",
    NULL,
};
static const char *const bit_fields[] = {
    "arshift", "band", "bnot", "bor", "bswap", "bxor", "lshift", "rol", "ror", "rshift", "tobit", "tohex", NULL,
};
/* exit: sandbox.c's, which raises instead of ending the host process. */
static const char *const os_fields[] = {"clock", "date", "difftime", "exit", "time", NULL};
static const char *const debug_fields[] = {"traceback", NULL};
/* searchers/loaders keep only the package.preload searcher (below). */
static const char *const package_fields[] = {
    "config", "cpath", "loaded", "loaders", "path", "preload", "searchers", "seeall", NULL,
};

/* The libraries: globals that are tables, with the fields they keep; each
** is also its package.loaded entry. */
static const struct {
  const char *name;
  const char *const *fields;
} libraries[] = {
    {"coroutine", coroutine_fields}, {"string", string_fields}, {"table", table_fields}, {"math", math_fields},
    {"utf8", utf8_fields},           {"bit32", bit32_fields},   {"bit", bit_fields},     {"os", os_fields},
    {"debug", debug_fields},         {"package", package_fields},
};

/* package.preload: the modules require can load (hostlib.c adds them). */
static const char *const preloaded[] = {"host", "mtint", NULL};

#define N_LIBRARIES (sizeof libraries / sizeof libraries[0])

static int listed(const char *const list[], const char *name) {
  for (int i = 0; list[i]; i++)
    if (strcmp(list[i], name) == 0) return 1;
  return 0;
}

static const char *const *library_fields(const char *name) {
  for (size_t i = 0; i < N_LIBRARIES; i++)
    if (strcmp(libraries[i].name, name) == 0) return libraries[i].fields;
  return NULL;
}

typedef int (*keep_fn)(const char *name, const void *arg);

/* Removes the keys of the table on top for which keep() says no (every
** key that is not a string, too). Assigning nil to a present field during
** lua_next is allowed. */
static void filter_table(lua_State *L, keep_fn keep, const void *arg) {
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING || !keep(lua_tostring(L, -1), arg)) {
      lua_pushvalue(L, -1);
      lua_pushnil(L);
      lua_rawset(L, -4);
    }
  }
}

static int keep_listed(const char *name, const void *list) { return listed(list, name); }

static int keep_global(const char *name, const void *arg) {
  (void)arg;
  return listed(globals, name) || library_fields(name) != NULL;
}

static int keep_loaded(const char *name, const void *arg) {
  (void)arg;
  return strcmp(name, "_G") == 0 || library_fields(name) != NULL || listed(preloaded, name);
}

/* Filters field `name` of the table on top with keep(). */
static void filter_field(lua_State *L, const char *name, keep_fn keep, const void *arg) {
  lua_getfield(L, -1, name);
  if (lua_istable(L, -1)) filter_table(L, keep, arg);
  lua_pop(L, 1);
}

/* require finds preloaded modules only: the first searcher is package.preload's. */
static void preload_searcher_only(lua_State *L) {
  static const char *const lists[] = {"searchers", "loaders"};
  for (int i = 0; i < 2; i++) {
    lua_getfield(L, -1, lists[i]);
    if (lua_istable(L, -1)) {
      for (int k = (int)lua_rawlen(L, -1); k > 1; k--) {
        lua_pushnil(L);
        lua_rawseti(L, -2, k);
      }
    }
    lua_pop(L, 1);
  }
  lua_pushliteral(L, "");
  lua_setfield(L, -2, "path");
  lua_pushliteral(L, "");
  lua_setfield(L, -2, "cpath");
}

void allowlist_apply(lua_State *L) {
#if LUA_VERSION_NUM >= 502
  lua_pushglobaltable(L);
#else
  lua_pushvalue(L, LUA_GLOBALSINDEX);
#endif
  filter_table(L, keep_global, NULL);
  for (size_t i = 0; i < N_LIBRARIES; i++) filter_field(L, libraries[i].name, keep_listed, libraries[i].fields);
  lua_getfield(L, -1, "package");
  if (lua_istable(L, -1)) {
    filter_field(L, "loaded", keep_loaded, NULL);
    filter_field(L, "preload", keep_listed, preloaded);
    preload_searcher_only(L);
  }
  lua_pop(L, 2);
}
