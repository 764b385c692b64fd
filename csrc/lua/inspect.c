/*
** The hook's side of inspection (csrc/core/inspect.c has the requests and
** their races): at the running call's next instruction, on its own thread,
** the hook takes what the host asked for and
**   - STACK: walks the frames, innermost first, and publishes them in the
**     binary layout below (src/inspect.ts reads it);
**   - SAMPLE: folds the frames into one "outer;inner" line and counts it
**     in the core's table (no allocation unless the line is new);
**   - PAUSE: waits in the core until resumed, interrupted or cancelled,
**     answering stack requests meanwhile.
** The walk crosses coroutines: the running one, then the ones the host
** call is resuming (world->chain, innermost last), then the main state;
** a coroutine resumed by C code that bypassed coroutine.resume shows only
** its own frames and the main state's.
** Nothing here raises a Lua error or leaves anything on a Lua stack: the
** hook may run inside any function, a metamethod or an error handler.
*/
#include <stdlib.h>
#include <string.h>

#include "world.h"

#define STACK_MAX_FRAMES 200  /* stack(): the innermost ones (see README) */
#define SAMPLE_MAX_FRAMES 100 /* profile: the innermost ones, under a root */
#define NAME_MAX_BYTES 200
#define FRAME_BYTES 200       /* one folded frame: name, source, line */
#define KEY_BYTES (SAMPLE_MAX_FRAMES * (FRAME_BYTES + 1) + 32) /* one folded sample line */

/* Stack answer: u32 frame count, u8 truncated, then per frame
**   i32 line, u8 what (index in WHATS), u16 name length (0xFFFF: none),
**   u16 source length, the name's bytes, the source's bytes.
** Native byte order: both ends run in this process. */
static const char *const WHATS[] = {"Lua", "C", "main", "tail"};

struct mt_inspect_scratch {
  char key[KEY_BYTES];
  char frames[SAMPLE_MAX_FRAMES][FRAME_BYTES];
  unsigned short lens[SAMPLE_MAX_FRAMES];
  unsigned char answer[STACK_MAX_FRAMES * (12 + NAME_MAX_BYTES + LUA_IDSIZE) + 8];
};

static mt_inspect_scratch *scratch(mt_world *w) {
  if (w->inspect_scratch == NULL) w->inspect_scratch = malloc(sizeof *w->inspect_scratch);
  return w->inspect_scratch;
}

/* The threads whose frames make the running call's stack, innermost
** first; returns how many. */
static int threads_of(mt_world *w, lua_State *L, lua_State **out) {
  int n = 0;
  out[n++] = L;
  int depth = w->chain_depth;
  atomic_signal_fence(memory_order_acquire);
  if (depth > MT_CHAIN_MAX) depth = MT_CHAIN_MAX;
  for (int i = depth - 1; i >= 0; i--) {
    if (w->chain[i] != L) continue;
    for (int j = i - 1; j >= 0; j--) out[n++] = w->chain[j];
    break;
  }
  if (L != w->main && w->main != NULL) out[n++] = w->main;
  return n;
}

/* Calls `visit` for each frame, innermost first, until it returns 0;
** `host` is set for the main state's C frames below its outermost Lua
** frame seen so far: the host call's own wrappers when nothing follows
** (the visitors drop them at the end). Returns 0 if it stopped, 1 if the
** frames ran out. */
typedef int (*visit_fn)(void *acc, lua_Debug *ar, int host);

static int walk(mt_world *w, lua_State *L, const char *what, visit_fn visit, void *acc) {
  lua_State *threads[MT_CHAIN_MAX + 2];
  int n = threads_of(w, L, threads);
  for (int t = 0; t < n; t++) {
    lua_Debug ar;
    for (int level = 0; lua_getstack(threads[t], level, &ar); level++) {
      if (!lua_getinfo(threads[t], what, &ar)) continue;
      if (!visit(acc, &ar, threads[t] == w->main && *ar.what == 'C')) return 0;
    }
  }
  return 1;
}

static int what_index(const char *what) {
  for (int i = 0; i < 4; i++)
    if (what != NULL && strcmp(what, WHATS[i]) == 0) return i;
  return 1;
}

/* --- stack ------------------------------------------------------------- */

typedef struct {
  unsigned char *p, *start, *kept_p;
  uint32_t count, kept;
} stack_acc;

static int stack_frame(void *acc_, lua_Debug *ar, int host) {
  stack_acc *acc = acc_;
  if (acc->count == STACK_MAX_FRAMES) return 0;
  int32_t line = ar->currentline;
  size_t name_len = ar->name ? strlen(ar->name) : 0;
  if (name_len > NAME_MAX_BYTES) name_len = NAME_MAX_BYTES;
  uint16_t nl = ar->name ? (uint16_t)name_len : 0xFFFF;
  uint16_t sl = (uint16_t)strnlen(ar->short_src, LUA_IDSIZE);
  unsigned char *p = acc->p;
  memcpy(p, &line, 4);
  p[4] = (unsigned char)what_index(ar->what);
  memcpy(p + 5, &nl, 2);
  memcpy(p + 7, &sl, 2);
  p += 9;
  if (ar->name) memcpy(p, ar->name, name_len), p += name_len;
  memcpy(p, ar->short_src, sl);
  acc->p = p + sl;
  acc->count++;
  if (!host) acc->kept_p = acc->p, acc->kept = acc->count;
  return 1;
}

static void answer_stack(mt_world *w, lua_State *L) {
  mt_inspect_scratch *s = scratch(w);
  if (s == NULL) {
    mt_stack_answer(w->u, NULL, 0); /* out of memory: no frames */
    return;
  }
  stack_acc acc = {s->answer + 5, s->answer, s->answer + 5, 0, 0};
  int complete = walk(w, L, "Sln", stack_frame, &acc);
  if (complete) acc.p = acc.kept_p, acc.count = acc.kept; /* without the host's wrappers */
  memcpy(s->answer, &acc.count, 4);
  s->answer[4] = (unsigned char)!complete;
  mt_stack_answer(w->u, s->answer, (size_t)(acc.p - s->answer));
}

/* --- profile samples ------------------------------------------------------ */

typedef struct {
  mt_inspect_scratch *s;
  int count, kept;
} sample_acc;

/* Copies `src` into `dst` for a folded line: ';' separates frames and a
** newline ends the line, so they, and other control bytes, become '?'. */
static size_t put_clean(char *dst, const char *src, size_t max) {
  size_t n = 0;
  for (; n < max && src[n]; n++) {
    unsigned char c = (unsigned char)src[n];
    dst[n] = c == ';' || c < 0x20 || c == 0x7F ? '?' : (char)c;
  }
  return n;
}

/* ":line" for a folded frame (snprintf was a third of a sample's cost). */
static size_t put_line(char *dst, int line) {
  char digits[12];
  size_t n = 0, len = 0;
  unsigned v = line < 0 ? 0u - (unsigned)line : (unsigned)line;
  do digits[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  dst[len++] = ':';
  if (line < 0) dst[len++] = '-';
  while (n) dst[len++] = digits[--n];
  return len;
}

static int sample_frame(void *acc_, lua_Debug *ar, int host) {
  sample_acc *acc = acc_;
  if (acc->count == SAMPLE_MAX_FRAMES) return 0;
  char *f = acc->s->frames[acc->count];
  size_t n;
  if (ar->name) n = put_clean(f, ar->name, NAME_MAX_BYTES / 2);
  else n = put_clean(f, *ar->what == 'm' ? "main chunk" : "?", 16);
  f[n++] = ' ';
  f[n++] = '(';
  n += put_clean(f + n, ar->short_src, LUA_IDSIZE);
  if (*ar->what != 'C') n += put_line(f + n, ar->linedefined);
  f[n++] = ')';
  acc->s->lens[acc->count++] = (unsigned short)n;
  if (!host) acc->kept = acc->count;
  return 1;
}

static void take_sample(mt_world *w, lua_State *L) {
  mt_inspect_scratch *s = scratch(w);
  if (s == NULL) return;
  sample_acc acc = {s, 0, 0};
  int complete = walk(w, L, "Sn", sample_frame, &acc);
  if (complete) acc.count = acc.kept; /* without the host's wrappers */
  size_t len = 0;
  if (!complete) {
    static const char root[] = "(deeper frames);";
    memcpy(s->key, root, sizeof root - 1);
    len = sizeof root - 1;
  }
  for (int i = acc.count - 1; i >= 0; i--) { /* outermost first */
    memcpy(s->key + len, s->frames[i], s->lens[i]);
    len += s->lens[i];
    if (i > 0) s->key[len++] = ';';
  }
  mt_profile_add(w->u, s->key, len);
}

/* --- the hook's entry ------------------------------------------------------ */

void inspect_run(mt_world *w, lua_State *L) {
  uint32_t bits = mt_inspect_take(w->u);
  if (bits & MT_INSPECT_STACK) answer_stack(w, L);
  if (bits & MT_INSPECT_SAMPLE) take_sample(w, L);
  if (bits & MT_INSPECT_PAUSE)
    while (mt_pause_wait(w->u)) answer_stack(w, L);
}

void inspect_free(mt_world *w) {
  free(w->inspect_scratch);
  w->inspect_scratch = NULL;
}
