/*
** The value codec (format in codec.h).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "handles.h"
#include "world.h"

/* Encoding asks whether its call was cancelled once per this many values. */
#define CANCEL_CHECK_EVERY 4096

#define STR_(x) #x
#define STR(x) STR_(x)

/* --- output buffer ------------------------------------------------------ */

static int buf_grow(mt_buf *b, size_t more) {
  if (b->oom) return 0;
  if (b->len + more <= b->cap) return 1;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more) cap *= 2;
  uint8_t *d = realloc(b->data, cap);
  if (d == NULL) {
    b->oom = 1;
    return 0;
  }
  b->data = d;
  b->cap = cap;
  return 1;
}

/* A buffer that grew past this for a large value is not kept for the next. */
#define BUF_KEEP (1u << 20)

void buf_reset(mt_buf *b) {
  if (b->cap > BUF_KEEP) buf_free(b);
  b->len = 0;
  b->oom = 0;
}

void buf_free(mt_buf *b) {
  free(b->data);
  *b = (mt_buf){0};
}

void buf_bytes(mt_buf *b, const void *p, size_t n) {
  if (n && buf_grow(b, n)) {
    memcpy(b->data + b->len, p, n);
    b->len += n;
  }
}

void buf_u8(mt_buf *b, uint8_t v) { buf_bytes(b, &v, 1); }
void buf_u32(mt_buf *b, uint32_t v) { buf_bytes(b, &v, 4); } /* x86-64 and arm64: little-endian */
void buf_i32(mt_buf *b, int32_t v) { buf_bytes(b, &v, 4); }

void buf_str(mt_buf *b, const char *s, size_t n) {
  buf_u32(b, (uint32_t)n);
  buf_bytes(b, s, n);
}

/* --- encoding: Lua to bytes --------------------------------------------- */

typedef struct {
  lua_State *L;
  mt_world *w; /* NULL: nothing to cancel */
  mt_buf *out;
  size_t start;  /* out->len when encoding began */
  size_t values; /* values encoded so far (CODEC_MAX_VALUES) */
  int functions; /* functions cross as handles */
  const void *path_tables[CODEC_MAX_DEPTH]; /* tables on the current path */
  char path[256];
  size_t path_len;
  char *why;
  size_t why_len;
} encoder;

int codec_utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t len;
    unsigned min;
    if (c < 0x80) { i++; continue; }
    if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; c &= 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; c &= 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; c &= 0x07; }
    else return 0;
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return 0;
      c = (c << 6) | (s[i + k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    i += len;
  }
  return 1;
}

static int fail(encoder *e, const char *reason) {
  snprintf(e->why, e->why_len, "%.*s: %s", (int)e->path_len, e->path, reason);
  return 0;
}

/* Appends a path segment for the value under `key` (at stack index -2 of
** a lua_next loop, or an array index); returns the previous length. */
static size_t path_push_index(encoder *e, long long i) {
  size_t old = e->path_len;
  int n = snprintf(e->path + old, sizeof e->path - old, "[%lld]", i);
  if (n > 0 && old + (size_t)n < sizeof e->path) e->path_len += (size_t)n;
  return old;
}

static size_t path_push_key(encoder *e, int key) {
  size_t old = e->path_len;
  lua_State *L = e->L;
  int n;
  if (lua_type(L, key) == LUA_TSTRING) n = snprintf(e->path + old, sizeof e->path - old, ".%s", lua_tostring(L, key));
  else if (lua_type(L, key) == LUA_TBOOLEAN)
    n = snprintf(e->path + old, sizeof e->path - old, "[%s]", lua_toboolean(L, key) ? "true" : "false");
  else n = snprintf(e->path + old, sizeof e->path - old, "[%.17g]", (double)lua_tonumber(L, key));
  if (n > 0 && old + (size_t)n < sizeof e->path) e->path_len += (size_t)n;
  else e->path_len = sizeof e->path - 1;
  return old;
}

static int encode_value(encoder *e, int idx, int depth);

/* Counts one more value; 0 (with the reason) past a limit or once the
** call is cancelled. */
static int count_value(encoder *e) {
  if (++e->values > CODEC_MAX_VALUES) return fail(e, "the value holds more than " STR(CODEC_MAX_VALUES) " values (the limit)");
  if (e->out->len - e->start > CODEC_MAX_BYTES)
    return fail(e, "the value takes more than " STR(CODEC_MAX_BYTES) " bytes encoded (the limit)");
  if (e->values % CANCEL_CHECK_EVERY == 0 && e->w && e->w->u && mt_call_cancelled(e->w->u)) {
    snprintf(e->why, e->why_len, "cancelled");
    return 0;
  }
  return 1;
}

static void encode_number(encoder *e, int idx) {
#if MT_HAS_INTEGERS
  if (lua_isinteger(e->L, idx)) {
    int64_t i = (int64_t)lua_tointeger(e->L, idx);
    buf_u8(e->out, TAG_INT);
    buf_bytes(e->out, &i, 8);
    return;
  }
#endif
  double d = (double)lua_tonumber(e->L, idx);
  buf_u8(e->out, TAG_NUM);
  buf_bytes(e->out, &d, 8);
}

static int encode_table(encoder *e, int idx, int depth) {
  lua_State *L = e->L;
  const void *self = lua_topointer(L, idx);
  if (depth >= CODEC_MAX_DEPTH) return fail(e, "nested deeper than 100 tables");
  for (int i = 0; i < depth; i++)
    if (e->path_tables[i] == self) return fail(e, "a table that contains itself (a cycle) cannot cross");
  e->path_tables[depth] = self;
  if (!lua_checkstack(L, 4)) return fail(e, "Lua stack overflow");

  /* An array when the keys are exactly 1..n (n = raw length; the empty
  ** table is an empty array); otherwise a map. */
  size_t n = lua_rawlen(L, idx), count = 0;
  int all_sequence = 1;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    lua_pop(L, 1);
    count++;
    if (all_sequence) {
      lua_Number k = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
      if (!(k >= 1 && k <= (lua_Number)n && k == floor(k))) all_sequence = 0;
    }
  }
  if (all_sequence && count == n) {
    buf_u8(e->out, TAG_ARRAY);
    buf_u32(e->out, (uint32_t)n);
    for (size_t i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, (int)i);
      size_t old = path_push_index(e, (long long)i);
      int ok = encode_value(e, lua_gettop(L), depth + 1);
      e->path_len = old;
      lua_pop(L, 1);
      if (!ok) return 0;
    }
    return 1;
  }
  buf_u8(e->out, TAG_MAP);
  buf_u32(e->out, (uint32_t)count);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    int key = lua_gettop(L) - 1;
    int kt = lua_type(L, key);
    if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN) {
      lua_pop(L, 2);
      char reason[96];
      snprintf(reason, sizeof reason, "a table key of type %s cannot cross (only strings, numbers and booleans)",
               lua_typename(L, kt));
      return fail(e, reason);
    }
    size_t old = path_push_key(e, key);
    /* Keys go out as they are; lua_tostring would change a number key in
    ** place and confuse lua_next (encode_value converts strings only). */
    int ok = encode_value(e, key, depth + 1);
    ok = ok && encode_value(e, key + 1, depth + 1);
    e->path_len = old;
    lua_pop(L, 1);
    if (!ok) {
      lua_pop(L, 1);
      return 0;
    }
  }
  return 1;
}

static int encode_value(encoder *e, int idx, int depth) {
  lua_State *L = e->L;
  if (!count_value(e)) return 0;
  switch (lua_type(L, idx)) {
    case LUA_TNIL: buf_u8(e->out, TAG_NIL); return 1;
    case LUA_TBOOLEAN: buf_u8(e->out, lua_toboolean(L, idx) ? TAG_TRUE : TAG_FALSE); return 1;
    case LUA_TNUMBER: encode_number(e, idx); return 1;
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      if (n > CODEC_MAX_BYTES) return fail(e, "a string longer than " STR(CODEC_MAX_BYTES) " bytes (the limit)");
      buf_u8(e->out, codec_utf8_valid((const unsigned char *)s, n) ? TAG_STR : TAG_BYTES);
      buf_str(e->out, s, n);
      return 1;
    }
    case LUA_TTABLE: return encode_table(e, idx, depth);
    case LUA_TFUNCTION:
      if (e->functions) {
        double id;
        if (!handles_add(L, idx, &id))
          return fail(e, "the Lua state holds " STR(HANDLES_MAX) " live function handles (the limit): release some");
        double state = (double)mt_main_id(e->w->u);
        buf_u8(e->out, TAG_FUNC);
        buf_bytes(e->out, &state, 8);
        buf_bytes(e->out, &id, 8);
        return 1;
      }
      /* fall through */
    default: {
      char reason[128];
      snprintf(reason, sizeof reason, "a Lua %s cannot cross to JavaScript%s", lua_typename(L, lua_type(L, idx)),
               lua_type(L, idx) == LUA_TFUNCTION ? " here (results of run and call bring functions back as handles)"
                                                 : "");
      return fail(e, reason);
    }
  }
}

int codec_encode(lua_State *L, int first, int n, mt_buf *out, char *why, size_t why_len, const char *root,
                 int functions) {
  encoder e;
  e.L = L;
  e.w = world_of(L);
  e.out = out;
  e.start = out->len;
  e.values = 0;
  e.functions = functions && e.w && e.w->host && e.w->u;
  e.why = why;
  e.why_len = why_len;
  buf_u32(out, (uint32_t)n);
  for (int i = 0; i < n; i++) {
    e.path_len = (size_t)snprintf(e.path, sizeof e.path, "%s[%d]", root, i);
    if (!encode_value(&e, first + i, 0)) return 0;
  }
  if (out->oom) {
    snprintf(why, why_len, "%s: out of memory", root);
    return 0;
  }
  if (out->len - e.start > CODEC_MAX_BYTES) {
    snprintf(why, why_len, "%s: the values take more than " STR(CODEC_MAX_BYTES) " bytes encoded (the limit)", root);
    return 0;
  }
  return 1;
}

/* --- decoding: bytes to Lua --------------------------------------------- */

typedef struct {
  const uint8_t *p, *end;
  size_t values; /* values decoded so far (CODEC_MAX_VALUES) */
} reader;

static int need(reader *r, size_t n) { return (size_t)(r->end - r->p) >= n; }

static int read_u32(reader *r, uint32_t *v) {
  if (!need(r, 4)) return 0;
  memcpy(v, r->p, 4);
  r->p += 4;
  return 1;
}

static int push_value(lua_State *L, reader *r, int depth) {
  if (!need(r, 1) || depth > CODEC_MAX_DEPTH) return 0;
  if (++r->values > CODEC_MAX_VALUES) {
    lua_pushliteral(L, "more than " STR(CODEC_MAX_VALUES) " values in one crossing (the limit)");
    return -1;
  }
  luaL_checkstack(L, 5, "decoding a value");
  uint8_t tag = *r->p++;
  uint32_t n;
  switch (tag) {
    case TAG_NIL: lua_pushnil(L); return 1;
    case TAG_FALSE: lua_pushboolean(L, 0); return 1;
    case TAG_TRUE: lua_pushboolean(L, 1); return 1;
    case TAG_INT: {
      int64_t i;
      if (!need(r, 8)) return 0;
      memcpy(&i, r->p, 8);
      r->p += 8;
#if MT_HAS_INTEGERS
      lua_pushinteger(L, (lua_Integer)i);
      return 1;
#else
      lua_pushfstring(L, "a bigint cannot cross to %s, which has no integers", LUA_VERSION);
      return -1;
#endif
    }
    case TAG_NUM: {
      double d;
      if (!need(r, 8)) return 0;
      memcpy(&d, r->p, 8);
      r->p += 8;
#if MT_HAS_INTEGERS
      /* An integral, safe JavaScript number is an integer in Lua 5.3+. */
      if (d == floor(d) && fabs(d) <= 9007199254740991.0 && !(d == 0 && signbit(d))) {
        lua_pushinteger(L, (lua_Integer)d);
        return 1;
      }
#endif
      lua_pushnumber(L, (lua_Number)d);
      return 1;
    }
    case TAG_STR:
    case TAG_BYTES:
      if (!read_u32(r, &n) || !need(r, n)) return 0;
      lua_pushlstring(L, (const char *)r->p, n);
      r->p += n;
      return 1;
    case TAG_FUNC: {
      double state, id;
      if (!need(r, 16)) return 0;
      memcpy(&state, r->p, 8);
      memcpy(&id, r->p + 8, 8);
      r->p += 16;
      return handles_push(L, state, id);
    }
    case TAG_ARRAY:
    case TAG_MAP: {
      if (!read_u32(r, &n)) return 0;
      if (n > (size_t)(r->end - r->p)) return 0; /* every entry takes a byte */
      lua_createtable(L, tag == TAG_ARRAY ? (int)n : 0, tag == TAG_MAP ? (int)n : 0);
      for (uint32_t i = 0; i < n; i++) {
        int ok;
        if (tag == TAG_MAP && (ok = push_value(L, r, depth + 1)) != 1) return ok;
        if ((ok = push_value(L, r, depth + 1)) != 1) return ok;
        if (tag == TAG_ARRAY) {
          lua_rawseti(L, -2, (int)i + 1);
          continue;
        }
        /* codec.ts refuses these keys, and keys that are the same in Lua
        ** (a Map with two Uint8Arrays of the same bytes, or 1 and 1n). */
        if (lua_isnil(L, -2) || (lua_type(L, -2) == LUA_TNUMBER && lua_tonumber(L, -2) != lua_tonumber(L, -2))) {
          lua_pushliteral(L, "a table key is nil or NaN");
          return -1;
        }
        lua_pushvalue(L, -2);
        lua_rawget(L, -4);
        int taken = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (taken) {
          lua_pushliteral(L, "a table has two keys that are the same Lua value");
          return -1;
        }
        lua_rawset(L, -3);
      }
      return 1;
    }
    default: return 0;
  }
}

int codec_push(lua_State *L, const uint8_t *data, size_t len) {
  reader r = {data, data + len, 0};
  uint32_t n;
  int top = lua_gettop(L);
  if (len == 0) return 0;
  if (len > (size_t)CODEC_MAX_BYTES + 4) {
    lua_pushliteral(L, "more than " STR(CODEC_MAX_BYTES) " bytes in one crossing (the limit)");
    return -1;
  }
  if (!read_u32(&r, &n) || n > len) goto malformed;
  luaL_checkstack(L, (int)n + 3, "too many values");
  for (uint32_t i = 0; i < n; i++) {
    int ok = push_value(L, &r, 0);
    if (ok == -1) { /* the message on top, above what was decoded */
      if (lua_gettop(L) > top + 1) lua_replace(L, top + 1); /* lua_replace onto itself would drop it */
      lua_settop(L, top + 1);
      return -1;
    }
    if (ok == 0) goto malformed;
  }
  return (int)n;
malformed:
  lua_settop(L, top);
  lua_pushliteral(L, "mtint: malformed value bytes");
  return -1;
}
