/*
** Every standard path that turns bytes into a function, text only, in
** both presets of host states (a crafted binary chunk can crash the VM):
**
**   load, loadstring (5.1, 5.2's alias of load, LuaJIT)   always
**   loadfile, dofile, require's Lua-file searcher         full preset
**
** Each is the stock function of its version (arguments, chunk names,
** reader protocol, reader errors returned, env, messages), rewritten here
** because the stock ones pass the caller's mode, or none, to lua_load.
** 5.2+ and LuaJIT refuse binary chunks with their own mode machinery: the
** mode given to lua_load is the caller's without 'b' ("t" by default),
** so the message is the version's own ("attempt to load a binary chunk
** (mode is 't')"; LuaJIT: "attempt to load chunk with wrong mode"). 5.1
** has no modes: the first byte lua_load would see is checked here, with
** the same message as 5.2+.
**
** Not covered, because they load native code, which can do anything a
** binary chunk can: package.loadlib and the C searchers (LuaJIT's also
** loads bytecode that a C library embeds as luaJIT_BC_<name>), and
** LuaJIT's ffi; all only in the full preset. Nor is debug.debug (full
** preset), which runs lines the host process reads from its own stdin,
** where a script cannot write. string.dump is left as it is: what it
** returns loads nowhere.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host.h"

#define BINARY_REFUSED "attempt to load a binary chunk (mode is 't')"

/* --- refusing binary chunks --------------------------------------------- */

#if LUA_VERSION_NUM >= 502 || defined(MTINT_LUAJIT)

/* Pushes `mode` (NULL: "bt") without 'b': the mode lua_load gets. */
static const char *push_text_mode(lua_State *L, const char *mode) {
  return luaL_gsub(L, mode ? mode : "bt", "b", "");
}

/* After a failed load whose lua_load mode was `used` instead of the
** caller's `asked`: a text chunk refused by the caller's own mode reports
** that mode, as stock does (LuaJIT's message names no mode). */
static void report_asked_mode(lua_State *L, const char *used, const char *asked) {
#ifdef MTINT_LUAJIT
  (void)L, (void)used, (void)asked;
#else
  if (asked == NULL || strcmp(used, asked) == 0 || lua_type(L, -1) != LUA_TSTRING) return;
  lua_pushfstring(L, "attempt to load a text chunk (mode is '%s')", used);
  int ours = lua_rawequal(L, -1, -2);
  lua_pop(L, 1);
  if (ours) {
    lua_pop(L, 1);
    lua_pushfstring(L, "attempt to load a text chunk (mode is '%s')", asked);
  }
#endif
}

/* Ends a load begun with push_text_mode: leaves the function or the
** message on top, as lua_load does, and drops the pushed mode. */
static int finish_load(lua_State *L, int status, const char *used, const char *asked) {
  if (status != LUA_OK) report_asked_mode(L, used, asked);
  lua_remove(L, -2); /* the mode */
  return status;
}

static int load_buffer_text(lua_State *L, const char *s, size_t len, const char *name, const char *mode) {
  const char *used = push_text_mode(L, mode);
  return finish_load(L, luaL_loadbufferx(L, s, len, name, used), used, mode);
}

/* fname NULL: stdin, as luaL_loadfilex. */
static int load_file_text(lua_State *L, const char *fname, const char *mode) {
  const char *used = push_text_mode(L, mode);
  return finish_load(L, luaL_loadfilex(L, fname, used), used, mode);
}

#else /* 5.1 */

static int load_buffer_text(lua_State *L, const char *s, size_t len, const char *name, const char *mode) {
  (void)mode;
  return mt_loadtext(L, s, len, name);
}

/* luaL_loadfile of 5.1, refusing what would be a binary chunk. */
typedef struct {
  int extraline;
  FILE *f;
  char buff[LUAL_BUFFERSIZE];
} file_reader;

static const char *read_file(lua_State *L, void *ud, size_t *size) {
  file_reader *lf = ud;
  (void)L;
  if (lf->extraline) {
    lf->extraline = 0;
    *size = 1;
    return "\n";
  }
  if (feof(lf->f)) return NULL;
  *size = fread(lf->buff, 1, sizeof lf->buff, lf->f);
  return *size > 0 ? lf->buff : NULL;
}

static int file_error(lua_State *L, const char *what, int fname_index) {
  const char *serr = strerror(errno);
  const char *filename = lua_tostring(L, fname_index) + 1;
  lua_pushfstring(L, "cannot %s %s: %s", what, filename, serr);
  lua_remove(L, fname_index);
  return LUA_ERRFILE;
}

static int load_file_text(lua_State *L, const char *fname, const char *mode) {
  file_reader lf;
  int fname_index = lua_gettop(L) + 1;
  (void)mode;
  lf.extraline = 0;
  if (fname == NULL) {
    lua_pushliteral(L, "=stdin");
    lf.f = stdin;
  } else {
    lua_pushfstring(L, "@%s", fname);
    lf.f = fopen(fname, "r");
    if (lf.f == NULL) return file_error(L, "open", fname_index);
  }
  int c = getc(lf.f);
  if (c == '#') { /* a Unix executable: skip the first line, keep its number */
    lf.extraline = 1;
    while ((c = getc(lf.f)) != EOF && c != '\n') continue;
    if (c == '\n') c = getc(lf.f);
  }
  if (c == LUA_SIGNATURE[0]) {
    if (fname) fclose(lf.f);
    lua_pop(L, 1);
    lua_pushliteral(L, BINARY_REFUSED);
    return LUA_ERRSYNTAX;
  }
  ungetc(c, lf.f);
  int status = lua_load(L, read_file, &lf, lua_tostring(L, -1));
  int read_status = ferror(lf.f);
  if (fname) fclose(lf.f);
  if (read_status) {
    lua_settop(L, fname_index);
    return file_error(L, "read", fname_index);
  }
  lua_remove(L, fname_index);
  return status;
}

#endif

/* --- load and loadstring ------------------------------------------------ */

/* The reader of load(f): calls f, keeps its piece in stack slot `slot`.
** On 5.1 it refuses a first piece that starts a binary chunk. */
typedef struct {
  int slot;
  int started;
} reader_state;

static const char *read_function(lua_State *L, void *ud, size_t *size) {
  reader_state *rs = ud;
  luaL_checkstack(L, 2, "too many nested functions");
  lua_pushvalue(L, 1);
  lua_call(L, 0, 1);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    *size = 0;
    return NULL;
  }
  if (!lua_isstring(L, -1)) luaL_error(L, "reader function must return a string");
  lua_replace(L, rs->slot);
  const char *s = lua_tolstring(L, rs->slot, size);
#if LUA_VERSION_NUM < 502 && !defined(MTINT_LUAJIT)
  if (!rs->started && *size > 0 && s[0] == LUA_SIGNATURE[0]) {
    lua_pushliteral(L, BINARY_REFUSED);
    lua_error(L);
  }
#endif
  rs->started = 1;
  return s;
}

#if LUA_VERSION_NUM >= 502 || defined(MTINT_LUAJIT)
static int load_reader_text(lua_State *L, reader_state *rs, const char *name, const char *mode) {
  const char *used = push_text_mode(L, mode);
#ifdef MTINT_LUAJIT
  int status = lua_loadx(L, read_function, rs, name, used);
#else
  int status = lua_load(L, read_function, rs, name, used);
#endif
  return finish_load(L, status, used, mode);
}
#else
static int load_reader_text(lua_State *L, reader_state *rs, const char *name, const char *mode) {
  (void)mode;
  return lua_load(L, read_function, rs, name);
}
#endif

/* The loaded function, with its environment at `env` (0: none) as the
** version sets it; or nil and the message. */
static int load_result(lua_State *L, int status, int env) {
  if (status != LUA_OK) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  if (env != 0) {
#ifdef MTINT_LUAJIT
    if (lua_istable(L, env)) {
      lua_pushvalue(L, env);
      lua_setfenv(L, -2);
    }
#elif LUA_VERSION_NUM >= 502
    lua_pushvalue(L, env);
    if (lua_setupvalue(L, -2, 1) == NULL) lua_pop(L, 1);
#endif
  }
  return 1;
}

#if LUA_VERSION_NUM >= 502 || defined(MTINT_LUAJIT)

/* load(chunk [, chunkname [, mode [, env]]]); LuaJIT's loadstring too. */
static int l_load(lua_State *L) {
  size_t len;
#ifdef MTINT_LUAJIT
  const char *s = lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER ? lua_tolstring(L, 1, &len) : NULL;
  const char *mode = luaL_optstring(L, 3, NULL);
  int env = 4; /* LuaJIT: a table there, or nothing */
#else
  const char *s = lua_tolstring(L, 1, &len);
  const char *mode = luaL_optstring(L, 3, "bt");
  int env = !lua_isnone(L, 4) ? 4 : 0;
#endif
  reader_state rs = {5, 0};
  int status;
  if (s != NULL) {
    const char *name = luaL_optstring(L, 2, s);
    lua_settop(L, 4);
    status = load_buffer_text(L, s, len, name, mode);
  } else {
    const char *name = luaL_optstring(L, 2, "=(load)");
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, rs.slot);
    status = load_reader_text(L, &rs, name, mode);
  }
  return load_result(L, status, env);
}

#else /* 5.1 */

/* load(f [, chunkname]) */
static int l_load(lua_State *L) {
  reader_state rs = {3, 0};
  const char *name = luaL_optstring(L, 2, "=(load)");
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, rs.slot);
  return load_result(L, load_reader_text(L, &rs, name, NULL), 0);
}

/* loadstring(s [, chunkname]) */
static int l_loadstring(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  const char *name = luaL_optstring(L, 2, s);
  return load_result(L, load_buffer_text(L, s, len, name, NULL), 0);
}

#endif

/* --- loadfile and dofile ------------------------------------------------ */

/* loadfile([filename [, mode [, env]]]) (5.1: filename only) */
static int l_loadfile(lua_State *L) {
  const char *fname = luaL_optstring(L, 1, NULL);
#if LUA_VERSION_NUM >= 502 || defined(MTINT_LUAJIT)
  const char *mode = luaL_optstring(L, 2, NULL);
#ifdef MTINT_LUAJIT
  int env = 3;
  lua_settop(L, 3);
#else
  int env = !lua_isnone(L, 3) ? 3 : 0;
#endif
#else
  const char *mode = NULL;
  int env = 0;
#endif
  return load_result(L, load_file_text(L, fname, mode), env);
}

#if LUA_VERSION_NUM >= 503
static int dofile_done(lua_State *L, int status, lua_KContext ctx) {
  (void)status, (void)ctx;
  return lua_gettop(L) - 1;
}
#elif LUA_VERSION_NUM == 502
static int dofile_done(lua_State *L) { return lua_gettop(L) - 1; }
#endif

/* dofile([filename]): runs it, raising its errors; yieldable on 5.2+. */
static int l_dofile(lua_State *L) {
  const char *fname = luaL_optstring(L, 1, NULL);
  lua_settop(L, 1);
  if (load_file_text(L, fname, NULL) != LUA_OK) return lua_error(L);
#if LUA_VERSION_NUM >= 503
  lua_callk(L, 0, LUA_MULTRET, 0, dofile_done);
  return dofile_done(L, 0, 0);
#elif LUA_VERSION_NUM == 502
  lua_callk(L, 0, LUA_MULTRET, 0, dofile_done);
  return dofile_done(L);
#else
  lua_call(L, 0, LUA_MULTRET);
  return lua_gettop(L) - 1;
#endif
}

/* --- require's Lua-file searcher ---------------------------------------- */

#if LUA_VERSION_NUM >= 502 || defined(MTINT_LUAJIT)
#define PATH_ERROR "'package.%s' must be a string"
#else
#define PATH_ERROR "'package.%s' must be a string"
#endif

/* Upvalues: the package table, and (5.2+, LuaJIT) the stock
** package.searchpath, which finds the file or says where it looked
** exactly as the stock searcher does. */
static const char *find_module_file(lua_State *L, const char *name) {
  lua_getfield(L, lua_upvalueindex(1), "path");
  const char *path = lua_tostring(L, -1);
  if (path == NULL) luaL_error(L, PATH_ERROR, "path");
#if LUA_VERSION_NUM >= 502 || defined(MTINT_LUAJIT)
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_pushstring(L, name);
  lua_pushvalue(L, -3);
  lua_call(L, 2, 2);
  if (lua_isstring(L, -2)) {
    lua_pop(L, 1);
    return lua_tostring(L, -1);
  }
  return NULL; /* its message on top */
#else
  name = luaL_gsub(L, name, ".", LUA_DIRSEP);
  lua_pushliteral(L, ""); /* where it looked */
  for (;;) {
    while (*path == *LUA_PATHSEP) path++;
    if (*path == '\0') return NULL;
    const char *end = strchr(path, *LUA_PATHSEP);
    if (end == NULL) end = path + strlen(path);
    lua_pushlstring(L, path, (size_t)(end - path));
    path = end;
    const char *filename = luaL_gsub(L, lua_tostring(L, -1), LUA_PATH_MARK, name);
    lua_remove(L, -2);
    FILE *f = fopen(filename, "r");
    if (f != NULL) {
      fclose(f);
      return filename;
    }
    lua_pushfstring(L, "\n\tno file '%s'", filename);
    lua_remove(L, -2);
    lua_concat(L, 2);
  }
#endif
}

static int searcher_lua(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const char *filename = find_module_file(L, name);
  if (filename == NULL) return 1;
  if (load_file_text(L, filename, NULL) != LUA_OK)
    return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", lua_tostring(L, 1), filename,
                      lua_tostring(L, -1));
#if LUA_VERSION_NUM >= 502
  lua_pushstring(L, filename); /* the loader's second argument */
  return 2;
#else
  return 1;
#endif
}

/* Puts the text-only searcher where the stock Lua-file searcher is (the
** second), in the table require reads. */
static void replace_lua_searcher(lua_State *L) {
  lua_getglobal(L, "package");
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
#if LUA_VERSION_NUM >= 502
  lua_getfield(L, -1, "searchers");
#else
  lua_getfield(L, -1, "loaders");
#endif
  if (lua_istable(L, -1)) {
    lua_pushvalue(L, -2);
#if LUA_VERSION_NUM >= 502 || defined(MTINT_LUAJIT)
    lua_getfield(L, -3, "searchpath");
    lua_pushcclosure(L, searcher_lua, 2);
#else
    lua_pushcclosure(L, searcher_lua, 1);
#endif
    lua_rawseti(L, -2, 2);
  }
  lua_pop(L, 2);
}

/* --- installing --------------------------------------------------------- */

static void set_global_if_present(lua_State *L, const char *name, lua_CFunction f) {
  lua_getglobal(L, name);
  int present = !lua_isnil(L, -1);
  lua_pop(L, 1);
  if (present) {
    lua_pushcfunction(L, f);
    lua_setglobal(L, name);
  }
}

void loaders_install(lua_State *L) {
  lua_pushcfunction(L, l_load);
  lua_setglobal(L, "load");
#if LUA_VERSION_NUM >= 502 || defined(MTINT_LUAJIT)
  set_global_if_present(L, "loadstring", l_load); /* 5.2 and LuaJIT: load */
#else
  set_global_if_present(L, "loadstring", l_loadstring);
#endif
  set_global_if_present(L, "loadfile", l_loadfile);
  set_global_if_present(L, "dofile", l_dofile);
  replace_lua_searcher(L);
}
