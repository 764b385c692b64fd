/*
** The host API: what ffi/ calls to drive a state from JavaScript.
*/
#ifndef MTINT_HOST_H
#define MTINT_HOST_H

#include "codec.h"
#include "stack.h"
#include "world.h"

/* Callbacks into the JavaScript of the worker thread. They run on the
** owner thread, inside the FFI call that runs Lua, and return normally:
** errors come back as a status, so no longjmp ever crosses JavaScript. */
typedef int32_t (*mt_print_cb)(const uint8_t *text, uint32_t len); /* nonzero: failed */
typedef int32_t (*mt_post_cb)(const uint8_t *values, uint32_t len);  /* nonzero: failed */
typedef int32_t (*mt_call_cb)(int32_t fn, const uint8_t *args, uint32_t len);

/* What the call callback returns (src/protocol.ts has the same): the
** function's values are in the reply (OK) or its error message (ERROR); or
** the function runs on the thread that created the worker, and the reply
** holds the token (a double) of the answer to wait for (WAIT). An answer
** (mtint_reply) starts with ANSWER_VALUES and values, or ANSWER_ERROR and
** the message. */
enum { HOST_CALL_OK = 0, HOST_CALL_ERROR = 1, HOST_CALL_WAIT = 2 };
enum { ANSWER_VALUES = 0, ANSWER_ERROR = 1 };

/* Flags of mth_create. */
enum {
  FLAG_FULL_LIBS = 1,
  FLAG_JIT = 2,
  FLAG_REACH_ALL = 4, /* scripts reach every id, as the rock's (scope.c) */
};

/* What mth_run reports (first byte of the result); src/protocol.ts has the
** same, and tests/protocol.test.ts compares them. An error record is
** message, chunk, line, traceback, then the error value: an ERROR_VALUE_*
** byte, and after ERROR_VALUE_ENCODED a list of one value. The strings of
** a record are text for people, the bytes Lua had (not always UTF-8);
** a message is cut at CODEC_MAX_BYTES. */
enum {
  RESULT_OK = 0,          /* values */
  RESULT_ERROR = 1,       /* an error record */
  RESULT_INTERRUPTED = 2, /* an error record (its value is the message) */
  RESULT_MEMORY = 3,      /* an error record (its value is the message) */
  RESULT_CONVERT = 4,     /* message: a result that cannot cross */
  RESULT_SYNTAX = 5,      /* an error record */
  RESULT_CANCELLED = 6,   /* "", chunk, line, traceback, u8 cause (mt_cause) */
};

/* How an error record gives the error value. */
enum {
  ERROR_VALUE_MESSAGE = 0, /* it is the message, a UTF-8 string */
  ERROR_VALUE_ENCODED = 1, /* a list of one value follows */
  ERROR_VALUE_NONE = 2,    /* it cannot cross (a function, coroutine, userdata, a table holding one, a string past
                              CODEC_MAX_BYTES): the message says what it was */
};

struct mt_host {
  lua_State *L;
  mt_stack *stack; /* Lua runs on it; callbacks run off it (hostlib.c) */
  mt_buf out;   /* result of the last call */
  mt_buf reply; /* a host function's reply (mth_reply) */
  mt_buf scratch; /* arguments of host.post and host functions */
  mt_print_cb print;
  mt_post_cb post;
  mt_call_cb call;
  uint64_t seq;   /* running call, 0 between calls */
  char *trace;    /* traceback taken by the message handler */
  char err_src[256];
  int err_line;
  double handle_next;     /* the last handle number given (handles.c) */
  uint32_t handles_live;  /* handles not released */
};

void sandbox_open(lua_State *L, int full);
/* Replaces every standard loader by a text-only one (loaders.c). */
void loaders_install(lua_State *L);
/* Cuts the opened libraries down to the safe preset (allowlist.c). */
void allowlist_apply(lua_State *L);
int luaopen_mtint(lua_State *L);
/* Preloads `host` and `mtint`, and routes print() to the worker. */
void hostlib_open(lua_State *L);
/* Registers host function `index` as host.<name>. */
void hostlib_define(lua_State *L, int index, const char *name, size_t len);

#endif
