/*
** Values crossing between JavaScript and Lua, as bytes (little-endian):
**
**   0x00 nil          0x01 false        0x02 true
**   0x03 integer      i64
**   0x04 number       f64
**   0x05 string       u32 length, UTF-8 bytes
**   0x06 bytes        u32 length, bytes (a Lua string that is not UTF-8)
**   0x07 array        u32 n, n values (a table with keys 1..n)
**   0x08 map          u32 n, n (key, value) pairs; keys are strings, bytes,
**                     numbers or booleans, all different
**   0x09 function     f64 main id of its state, f64 handle number
**                     (handles.h): a Lua function kept for JavaScript
**
** A list of values is a u32 count followed by the values. src/codec.ts is
** the other half; the two must agree byte for byte, and on the limits
** below (tests/codec.test.ts compares them).
*/
#ifndef MTINT_CODEC_H
#define MTINT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "compat.h"

enum {
  TAG_NIL = 0,
  TAG_FALSE = 1,
  TAG_TRUE = 2,
  TAG_INT = 3,
  TAG_NUM = 4,
  TAG_STR = 5,
  TAG_BYTES = 6,
  TAG_ARRAY = 7,
  TAG_MAP = 8,
  TAG_FUNC = 9,
};

#define CODEC_MAX_DEPTH 100
/* Most values one crossing holds: every value, key and table counts, a
** table met at several places counts at each (so a few shared subtables
** cannot stand for millions of copies). */
#define CODEC_MAX_VALUES 4194304 /* 2^22 */
/* Most bytes one encoded crossing takes. */
#define CODEC_MAX_BYTES 67108864 /* 2^26, 64 MiB */

/* A growable output buffer (malloc'd; not Lua memory, so encoding never
** raises and never counts against the state's memory limit). */
typedef struct {
  uint8_t *data;
  size_t len, cap;
  int oom;
} mt_buf;

void buf_reset(mt_buf *b);
void buf_free(mt_buf *b);
void buf_u8(mt_buf *b, uint8_t v);
void buf_u32(mt_buf *b, uint32_t v);
void buf_i32(mt_buf *b, int32_t v);
void buf_bytes(mt_buf *b, const void *p, size_t n);
void buf_str(mt_buf *b, const char *s, size_t n); /* u32 length + bytes */

/* Encodes `n` values from stack index `first` (a u32 count, then each).
** Returns 1, or 0 with a message in `why` ("<path>: <reason>") when a
** value cannot cross, passes a limit above, or the running host call is
** cancelled (checked as it goes; `why` is then "cancelled"). Runs no Lua
** code. With `functions`, a function crosses as a new handle (handles.h:
** Lua memory, may raise; the caller drops the handles of a result that
** does not reach JavaScript); without, it cannot cross and encoding uses
** no Lua memory beyond a stack slot or two. */
int codec_encode(lua_State *L, int first, int n, mt_buf *out, char *why, size_t why_len, const char *root,
                 int functions);

/* 1 when the bytes are valid UTF-8 (what crosses as a string), else 0. */
int codec_utf8_valid(const unsigned char *s, size_t n);

/* Pushes a list of values decoded from `data`. Returns the number pushed,
** or -1 with a message on the stack when the bytes are malformed, pass a
** limit, or a value cannot exist in this Lua (a bigint without integers,
** a NaN key, two keys that are the same Lua value, a function handle that
** is not this state's or was released). May raise (out of memory): call
** it protected. */
int codec_push(lua_State *L, const uint8_t *data, size_t len);

#endif
