/*
** string.find, match, gmatch and gsub that an interrupt, a deadline or a
** cancellation stops while they match (see patterns.h).
**
** Lua's matcher backtracks and looks at no hook: ("a?"):rep(n)..("a"):rep(n)
** against ("a"):rep(n) takes 2^n steps, ".-.-.-x" n^3 on a long subject, a
** plain find n*m; a script could keep its thread for hours past a timeout.
** Here each call first runs the same search with mtint's own matcher (the
** stock algorithm, its steps counted, hook_check every HOOK_CHECK_STEPS), then
** calls the stock function in the same frame, which repeats what the dry run
** did: values, errors and the names in them stay the library's own, and the
** stretch no interrupt reaches is at most the time just spent interruptibly.
** A call whose worst case is small (SMALL_WORK) goes straight to the stock
** function. The dry run only has to cost what the stock search costs: where
** it is unsure (a malformed pattern, too deep, too many captures) it stops
** and lets the stock function say so.
*/
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "compat.h"
#include "libwrap.h"
#include "patterns.h"
#include "world.h"

#define SMALL_WORK (1.0 * (1 << 24)) /* worst-case steps run without a dry run: tens of ms */
#define DEPTH_MAX 200             /* MAXCCALLS of 5.2+, LuaJIT's LJ_MAX_XLEVEL */
#define CAPTURES_MAX 32           /* LUA_MAXCAPTURES */
#define SPECIALS "^$*+?.([%-"
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)

/* Where the matcher stops reading pattern p of length lp: 5.1 and LuaJIT
** read up to the first zero byte. */
static const char *pattern_end(const char *p, size_t lp) {
#if LUA_VERSION_NUM == 501
  (void)lp;
  return p + strlen(p);
#else
  return p + lp;
#endif
}

typedef struct {
  const char *src_init, *src_end, *p_end;
  lua_State *L;
  hook_budget budget;
  int depth, level;
  int bad; /* something the stock function raises an error for */
  struct {
    const char *init;
    ptrdiff_t len;
  } capture[CAPTURES_MAX];
} dry_state;

/* Counts n steps; raises a pending interrupt or cancellation as the hook
** would (nothing of the dry run needs undoing). */
static void steps(dry_state *ms, long n) {
  hook_budget_spend(&ms->budget, ms->L, n);
}

static void step(dry_state *ms) {
  steps(ms, 1);
}

static const char *dry_match(dry_state *ms, const char *s, const char *p);

/* Where the single-character class at p ends; NULL where it is malformed. */
static const char *class_end(const char *p, const char *p_end) {
  switch (*p++) {
    case '%':
      if (p >= p_end) return NULL;
      return p + 1;
    case '[':
      if (*p == '^') p++;
      do {
        if (p >= p_end) return NULL;
        if (*(p++) == '%' && p < p_end) p++;
      } while (*p != ']');
      return p + 1;
    default: return p;
  }
}

/* One item of a pattern as the matcher reads it: a capture bracket, %b,
** %f[set], a back reference, or a single-character class with or without
** a quantifier. */
typedef enum { ITEM_CAPTURE, ITEM_BALANCE, ITEM_FRONTIER, ITEM_BACKREF, ITEM_CLASS } item_kind;

typedef struct {
  item_kind kind;
  const char *class_end; /* ITEM_CLASS: the class is [p, class_end) */
  int quantified;        /* ITEM_CLASS: followed by ?, *, + or - */
} pattern_item;

/* Reads the item at p (< p_end) into `it`; returns where the next one
** starts, or NULL where the pattern is malformed (the matcher says so). */
static const char *item_at(const char *p, const char *p_end, pattern_item *it) {
  it->class_end = NULL;
  it->quantified = 0;
  if (*p == '(' || *p == ')') {
    it->kind = ITEM_CAPTURE;
    return p + 1;
  }
  if (*p == '%' && p + 1 < p_end) {
    if (p[1] == 'b') {
      it->kind = ITEM_BALANCE;
      return p + 4 <= p_end ? p + 4 : NULL;
    }
    if (p[1] == 'f') {
      it->kind = ITEM_FRONTIER;
      return p + 2 < p_end && p[2] == '[' ? class_end(p + 2, p_end) : NULL;
    }
    if (p[1] >= '0' && p[1] <= '9') {
      it->kind = ITEM_BACKREF;
      return p + 2;
    }
  }
  it->kind = ITEM_CLASS;
  it->class_end = class_end(p, p_end);
  if (it->class_end == NULL) return NULL;
  it->quantified = it->class_end < p_end && *it->class_end != '\0' && strchr("?*+-", *it->class_end) != NULL;
  return it->class_end + it->quantified;
}

static int match_class(int c, int cl) {
  int res;
  switch (tolower(cl)) {
    case 'a': res = isalpha(c); break;
    case 'c': res = iscntrl(c); break;
    case 'd': res = isdigit(c); break;
    case 'g': res = isgraph(c); break;
    case 'l': res = islower(c); break;
    case 'p': res = ispunct(c); break;
    case 's': res = isspace(c); break;
    case 'u': res = isupper(c); break;
    case 'w': res = isalnum(c); break;
    case 'x': res = isxdigit(c); break;
    case 'z': res = (c == 0); break;
    default: return cl == c;
  }
  return islower(cl) ? res : !res;
}

static int match_bracket(int c, const char *p, const char *ec) {
  int sig = 1;
  if (*(p + 1) == '^') {
    sig = 0;
    p++;
  }
  while (++p < ec) {
    if (*p == '%') {
      p++;
      if (match_class(c, (unsigned char)*p)) return sig;
    } else if (*(p + 1) == '-' && p + 2 < ec) {
      p += 2;
      if ((unsigned char)*(p - 2) <= c && c <= (unsigned char)*p) return sig;
    } else if ((unsigned char)*p == c) return sig;
  }
  return !sig;
}

/* Whether c is in the single-character class [p, ep). */
static int class_matches(int c, const char *p, const char *ep) {
  switch (*p) {
    case '.': return 1;
    case '%': return match_class(c, (unsigned char)*(p + 1));
    case '[': return match_bracket(c, p, ep - 1);
    default: return (unsigned char)*p == c;
  }
}

static int single_match(dry_state *ms, const char *s, const char *p, const char *ep) {
  step(ms);
  return s < ms->src_end && class_matches((unsigned char)*s, p, ep);
}

static const char *match_balance(dry_state *ms, const char *s, const char *p) {
  if (p >= ms->p_end - 1) {
    ms->bad = 1;
    return NULL;
  }
  if (s >= ms->src_end || *s != *p) return NULL;
  int b = *p, e = *(p + 1), cont = 1;
  while (++s < ms->src_end) {
    step(ms);
    if (*s == e) {
      if (--cont == 0) return s + 1;
    } else if (*s == b) cont++;
  }
  return NULL;
}

static const char *max_expand(dry_state *ms, const char *s, const char *p, const char *ep) {
  ptrdiff_t i = 0;
  while (single_match(ms, s + i, p, ep)) i++;
  for (; i >= 0 && !ms->bad; i--) {
    const char *res = dry_match(ms, s + i, ep + 1);
    if (res) return res;
  }
  return NULL;
}

static const char *min_expand(dry_state *ms, const char *s, const char *p, const char *ep) {
  for (;;) {
    const char *res = dry_match(ms, s, ep + 1);
    if (res != NULL || ms->bad) return res;
    if (!single_match(ms, s, p, ep)) return NULL;
    s++;
  }
}

static const char *start_capture(dry_state *ms, const char *s, const char *p, int what) {
  if (ms->level >= CAPTURES_MAX) {
    ms->bad = 1;
    return NULL;
  }
  ms->capture[ms->level].init = s;
  ms->capture[ms->level].len = what;
  ms->level++;
  const char *res = dry_match(ms, s, p);
  if (res == NULL) ms->level--;
  return res;
}

static const char *end_capture(dry_state *ms, const char *s, const char *p) {
  int l = ms->level - 1;
  while (l >= 0 && ms->capture[l].len != CAP_UNFINISHED) l--;
  if (l < 0) {
    ms->bad = 1;
    return NULL;
  }
  ms->capture[l].len = s - ms->capture[l].init;
  const char *res = dry_match(ms, s, p);
  if (res == NULL) ms->capture[l].len = CAP_UNFINISHED;
  return res;
}

static const char *match_capture(dry_state *ms, const char *s, int l) {
  l -= '1';
  if (l < 0 || l >= ms->level || ms->capture[l].len == CAP_UNFINISHED) {
    ms->bad = 1;
    return NULL;
  }
  size_t len = (size_t)ms->capture[l].len;
  steps(ms, 1 + (long)(len / 64));
  if ((size_t)(ms->src_end - s) >= len && memcmp(ms->capture[l].init, s, len) == 0) return s + len;
  return NULL;
}

/* lstrlib's match, counting its steps; NULL with ms->bad set where the
** stock matcher raises an error. */
static const char *dry_match(dry_state *ms, const char *s, const char *p) {
  if (ms->depth++ >= DEPTH_MAX) {
    ms->bad = 1;
    return NULL;
  }
  step(ms);
init:
  if (ms->bad || s == NULL || p == ms->p_end) goto done;
  switch (*p) {
    case '(':
      s = *(p + 1) == ')' ? start_capture(ms, s, p + 2, CAP_POSITION) : start_capture(ms, s, p + 1, CAP_UNFINISHED);
      goto done;
    case ')': s = end_capture(ms, s, p + 1); goto done;
    case '$':
      if (p + 1 != ms->p_end) break;
      s = s == ms->src_end ? s : NULL;
      goto done;
    case '%':
      if (p + 1 >= ms->p_end) break; /* class_end reports it */
      switch (*(p + 1)) {
        case 'b':
          s = match_balance(ms, s, p + 2);
          p += 4;
          goto init;
        case 'f': {
          p += 2;
          const char *ep = *p == '[' ? class_end(p, ms->p_end) : NULL;
          if (ep == NULL) {
            ms->bad = 1;
            goto done;
          }
          char previous = s == ms->src_init ? '\0' : *(s - 1);
          char current = s < ms->src_end ? *s : '\0';
          if (!match_bracket((unsigned char)previous, p, ep - 1) && match_bracket((unsigned char)current, p, ep - 1)) {
            p = ep;
            goto init;
          }
          s = NULL;
          goto done;
        }
        case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
          s = match_capture(ms, s, (unsigned char)*(p + 1));
          p += 2;
          goto init;
        default: break;
      }
      break;
    default: break;
  }
  { /* a single-character class and its optional suffix */
    const char *ep = class_end(p, ms->p_end);
    if (ep == NULL) {
      ms->bad = 1;
      goto done;
    }
    if (!single_match(ms, s, p, ep)) {
      if (ep < ms->p_end && (*ep == '*' || *ep == '?' || *ep == '-')) {
        p = ep + 1;
        goto init;
      }
      s = NULL;
      goto done;
    }
    switch (ep < ms->p_end ? *ep : '\0') {
      case '?': {
        const char *res = dry_match(ms, s + 1, ep + 1);
        if (res != NULL || ms->bad) {
          s = res;
          goto done;
        }
        p = ep + 1;
        goto init;
      }
      case '+': s = max_expand(ms, s + 1, p, ep); goto done;
      case '*': s = max_expand(ms, s, p, ep); goto done;
      case '-': s = min_expand(ms, s, p, ep); goto done;
      default:
        s++;
        p = ep;
        goto init;
    }
  }
done:
  ms->depth--;
  return ms->bad ? NULL : s;
}

/* --- the searches the stock functions make -------------------------------- */

typedef struct {
  const char *s, *p;
  size_t ls, lp;
} subject;

static int read_subject(lua_State *L, subject *sub) {
  if (lua_type(L, 1) != LUA_TSTRING && lua_type(L, 1) != LUA_TNUMBER) return 0;
  if (lua_type(L, 2) != LUA_TSTRING && lua_type(L, 2) != LUA_TNUMBER) return 0;
  sub->s = lua_tolstring(L, 1, &sub->ls); /* converts in place, as luaL_checklstring */
  sub->p = lua_tolstring(L, 2, &sub->lp);
  return 1;
}

#if LUA_VERSION_NUM < 503
/* The integer 5.1, 5.2 and LuaJIT read from n: a C cast to `bits` bits,
** which gives the most negative integer for NaN and values out of range on
** x86-64, and saturates on arm64 (NaN: 0). As a double. */
static double cast_integer(lua_Number n, int bits) {
  double limit = bits == 32 ? 2147483648.0 : 9223372036854775808.0;
  if (n > -limit && n < limit) return trunc(n);
#if defined(__aarch64__)
  if (n != n) return 0;
  return n > 0 ? limit - 1 : -limit;
#else
  return -limit;
#endif
}
#endif

/* The integer the stock function reads from argument arg (default def) into
** *out; 0 where it raises an error for it before it searches (not a number,
** or 5.3+ "number has no integer representation"). */
static int stock_integer(lua_State *L, int arg, double def, double *out) {
  if (lua_isnoneornil(L, arg)) {
    *out = def;
    return 1;
  }
  if (!lua_isnumber(L, arg)) return 0; /* strings that read as numbers count, as in luaL_checkinteger */
  lua_Number n = lua_tonumber(L, arg);
#if LUA_VERSION_NUM >= 503
  if (!(n >= -9223372036854775808.0 && n < 9223372036854775808.0) || floor(n) != n) return 0;
  *out = n;
#else
  *out = cast_integer(n, 64); /* lua_Integer: ptrdiff_t */
#endif
  return 1;
}

/* Where a search starts (0-based), as the stock function computes it; -1
** when it finds nothing at all; -2 when it raises an error first. */
static ptrdiff_t start_of(lua_State *L, int arg, size_t len) {
  double pos;
  if (!stock_integer(L, arg, 1, &pos)) return -2;
#ifdef MTINT_LUAJIT
  pos = cast_integer(pos, 32); /* lj_lib_optint: an int32_t */
#endif
#if LUA_VERSION_NUM == 501
  /* posrelat, then clipped to the subject (LuaJIT: the same, from its own arithmetic) */
  if (pos < 0) pos += (double)len + 1;
  if (pos < 1) pos = 1;
  if (pos > (double)len + 1) pos = (double)len + 1;
  return (ptrdiff_t)pos - 1;
#else
  if (pos < 0) pos = pos < -(double)len ? 1 : (double)len + pos + 1;
  if (pos == 0) pos = 1;
  if (pos > (double)len + 1) return -1;
  return (ptrdiff_t)pos - 1;
#endif
}

/* The longest run of subject characters in the single-character class
** [p, ep): the most lengths a quantifier on it can try from one place. */
static double longest_run(const subject *sub, const char *p, const char *ep) {
  size_t best = 0, run = 0;
  for (size_t i = 0; i < sub->ls; i++) {
    run = class_matches((unsigned char)sub->s[i], p, ep) ? run + 1 : 0;
    if (run > best) best = run;
  }
  return (double)best;
}

/* The most steps a search of the whole subject could take: from every
** start, every length each quantified item can take there (its class's
** longest run in the subject), a scan of the rest for each %b and back
** reference, and a step per item. Generous (more dry runs, never fewer);
** stops counting past SMALL_WORK, so its scans of the subject stay within
** about SMALL_WORK class tests. */
static double worst_case(const subject *sub) {
  const char *p = sub->p, *p_end = pattern_end(sub->p, sub->lp);
  double starts = (double)sub->ls + 1, paths = 1, items = 1;
  pattern_item it;
  while (p < p_end && starts * paths * items <= SMALL_WORK) {
    const char *at = p;
    p = item_at(p, p_end, &it);
    if (p == NULL) return INFINITY; /* malformed: the dry run finds where */
    items++;
    if (it.kind == ITEM_BALANCE || it.kind == ITEM_BACKREF) paths *= starts;
    else if (it.quantified) paths *= longest_run(sub, at, it.class_end) + 1;
  }
  return starts * paths * items;
}

#if LUA_VERSION_NUM == 501 && !defined(MTINT_LUAJIT)
/* Lua 5.1's matcher recurses once per quantified item and per capture
** bracket, with no bound: ("a?"):rep(1e6) ran 15 MiB deep and crashed a
** worker. 5.2 and later count the depth and raise "pattern too complex"
** at 200 (MAXCCALLS); a pattern that could go deeper is refused here with
** the same message, before the matcher starts. */
#define PATTERN_DEPTH_MAX 200

static int too_deep(const subject *sub) {
  const char *p = sub->p, *p_end = pattern_end(sub->p, sub->lp);
  int depth = 0;
  pattern_item it;
  if (p < p_end && *p == '^') p++; /* the anchor, read before matching */
  while (p != NULL && p < p_end && depth <= PATTERN_DEPTH_MAX) {
    p = item_at(p, p_end, &it);
    depth += it.kind == ITEM_CAPTURE || it.quantified;
  }
  return depth > PATTERN_DEPTH_MAX;
}
#endif

static int plain_search(lua_State *L, const subject *sub) {
  if (lua_toboolean(L, 4)) return 1;
#if LUA_VERSION_NUM == 501 && !defined(MTINT_LUAJIT)
  return strpbrk(sub->p, SPECIALS) == NULL;
#else
  for (size_t i = 0; i < sub->lp; i++) {
    if (sub->p[i] != '\0' && strchr(SPECIALS, sub->p[i]) != NULL) return 0;
  }
  return 1;
#endif
}

static void dry_init(dry_state *ms, lua_State *L, const subject *sub) {
  ms->L = L;
  ms->budget = hook_budget_of(L);
  ms->bad = 0;
  ms->src_init = sub->s;
  ms->src_end = sub->s + sub->ls;
  ms->p_end = pattern_end(sub->p, sub->lp);
}

static const char *dry_attempt(dry_state *ms, const char *s, const char *p) {
  ms->level = 0;
  ms->depth = 0;
  return dry_match(ms, s, p);
}

/* find and match: the stock search, first start to last. */
static void dry_find(lua_State *L, const subject *sub, size_t init, int find) {
  dry_state ms;
  dry_init(&ms, L, sub);
  if (find && plain_search(L, sub)) { /* lmemfind: memchr for the first byte, memcmp for the rest */
    if (sub->lp == 0 || sub->lp > sub->ls - init) return;
    const char *at = sub->s + init, *last = sub->s + sub->ls - sub->lp;
    while (at <= last && (at = memchr(at, sub->p[0], (size_t)(last - at) + 1)) != NULL) {
      steps(&ms, 1 + (long)(sub->lp / 64));
      if (memcmp(at + 1, sub->p + 1, sub->lp - 1) == 0) return;
      at++;
    }
    return;
  }
  const char *p = sub->p;
  int anchor = *p == '^';
  if (anchor) {
    p++;
    ms.p_end = pattern_end(p, sub->lp - 1);
  }
  const char *s1 = sub->s + init;
  do {
    if (dry_attempt(&ms, s1, p) != NULL || ms.bad) return;
  } while (s1++ < ms.src_end && !anchor);
}

/* gsub: the stock loop, replacements left out (they do not move it). */
static void dry_gsub(lua_State *L, const subject *sub, double max_s) {
  dry_state ms;
  dry_init(&ms, L, sub);
  const char *p = sub->p, *src = sub->s;
  int anchor = *p == '^';
  if (anchor) {
    p++;
    ms.p_end = pattern_end(p, sub->lp - 1);
  }
  const char *lastmatch = NULL;
  for (double n = 0; n < max_s;) {
    const char *e = dry_attempt(&ms, src, p);
    if (ms.bad) return;
#if LUA_VERSION_NUM >= 503
    if (e != NULL && e != lastmatch) {
      n++;
      src = lastmatch = e;
    }
#else
    (void)lastmatch;
    if (e != NULL) n++;
    if (e != NULL && e > src) src = e;
#endif
    else if (src < ms.src_end) src++;
    else break;
    if (anchor) break;
  }
}

/* --- the wrappers --------------------------------------------------------- */

/* The stock function (upvalue 1) in this frame: lstrlib's and LuaJIT's use
** no upvalues, and errors name the function as they would. */
static int stock(lua_State *L) {
  return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

static int too_deep_51(lua_State *L, const subject *sub, int find) {
  (void)find;
#if LUA_VERSION_NUM == 501 && !defined(MTINT_LUAJIT)
  if (!(find && lua_toboolean(L, 4)) && too_deep(sub)) return 1;
#else
  (void)L;
  (void)sub;
#endif
  return 0;
}

static int find_or_match(lua_State *L, int find) {
  subject sub;
  if (read_subject(L, &sub)) {
    if (too_deep_51(L, &sub, find)) return luaL_error(L, "pattern too complex");
    ptrdiff_t init = start_of(L, 3, sub.ls);
    int plain = find && plain_search(L, &sub);
    double work = plain ? ((double)sub.ls + 1) * ((double)sub.lp + 1) : worst_case(&sub);
    if (init >= 0 && work > SMALL_WORK) dry_find(L, &sub, (size_t)init, find);
  }
  return stock(L);
}

static int p_find(lua_State *L) {
  return find_or_match(L, 1);
}

static int p_match(lua_State *L) {
  return find_or_match(L, 0);
}

static int p_gsub(lua_State *L) {
  subject sub;
  if (read_subject(L, &sub)) {
    if (too_deep_51(L, &sub, 0)) return luaL_error(L, "pattern too complex");
    double max_s;
    if (!stock_integer(L, 4, (double)sub.ls + 1, &max_s)) return stock(L);
#if LUA_VERSION_NUM == 501
    max_s = (double)(int32_t)(uint32_t)(uint64_t)(int64_t)max_s; /* luaL_optint: an int */
#elif LUA_VERSION_NUM == 502
    if (max_s < 0) max_s = (double)sub.ls + 1; /* a size_t there: no limit */
#endif
    if (worst_case(&sub) > SMALL_WORK) dry_gsub(L, &sub, max_s);
  }
  return stock(L);
}

/* Where a gmatch stands: its subject and pattern (kept alive by the stock
** iterator's upvalues, in every version), where the next search starts and
** where the last match ended (-1: none), as offsets; and the stock
** iterator's function. */
typedef struct {
  subject sub;
  ptrdiff_t src, last;
  lua_CFunction stock_next;
} gmatch_state;

#define GMATCH_UPVALUES 3 /* the stock iterator's: subject, pattern, its state */

/* gmatch's iterator: the stock iterator's upvalues, then the gmatch_state.
** The stock function runs in this frame, on these upvalues, so that its
** errors say where the loop is, as they would. */
static int gmatch_next(lua_State *L) {
  gmatch_state *gm = lua_touserdata(L, lua_upvalueindex(GMATCH_UPVALUES + 1));
  const subject *sub = &gm->sub;
  dry_state ms;
  dry_init(&ms, L, sub);
  for (ptrdiff_t src = gm->src; src <= (ptrdiff_t)sub->ls; src++) {
    const char *e = dry_attempt(&ms, sub->s + src, sub->p);
    if (ms.bad) break;
#if LUA_VERSION_NUM >= 503
    if (e != NULL && e - sub->s != gm->last) {
      gm->src = gm->last = e - sub->s;
      break;
    }
#else
    if (e != NULL) {
      gm->src = e - sub->s + (e == sub->s + src); /* an empty match moves on by one */
      break;
    }
#endif
  }
  return gm->stock_next(L);
}

static int p_gmatch(lua_State *L) {
  subject sub;
  int dry = 0;
  ptrdiff_t init = 0;
  if (read_subject(L, &sub)) {
    if (too_deep_51(L, &sub, 0)) return luaL_error(L, "pattern too complex");
#if LUA_VERSION_NUM >= 504
    init = start_of(L, 3, sub.ls);
    if (init == -1) init = (ptrdiff_t)sub.ls + 1;
#endif
    dry = init >= 0 && worst_case(&sub) > SMALL_WORK;
  }
  int n = stock(L); /* leaves its iterator alone on the stack */
  int iter = lua_gettop(L);
  lua_CFunction stock_next = lua_tocfunction(L, iter);
  if (!dry || n != 1 || stock_next == NULL) return n;
  for (int i = 1; i <= GMATCH_UPVALUES; i++) {
    if (lua_getupvalue(L, iter, i) == NULL) return n; /* not the iterator known here */
  }
  if (lua_getupvalue(L, iter, GMATCH_UPVALUES + 1) != NULL) {
    lua_settop(L, iter);
    return n;
  }
  gmatch_state *gm = lua_newuserdata(L, sizeof *gm);
  gm->sub = sub;
  gm->src = init;
  gm->last = -1;
  gm->stock_next = stock_next;
  lua_pushcclosure(L, gmatch_next, GMATCH_UPVALUES + 1);
  return 1;
}

void patterns_install(lua_State *L) {
  libwrap(L, "string", "find", p_find, 0);
  libwrap(L, "string", "match", p_match, 0);
  libwrap(L, "string", "gmatch", p_gmatch, 0);
  libwrap(L, "string", "gsub", p_gsub, 0);
}
