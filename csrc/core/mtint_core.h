/*
** mtint core: the process-wide registry of interruptible Lua states.
**
** No Lua headers here. A version library (csrc/lua, one per Lua version)
** opens a "universe" for each main state it serves, registers the main state
** and the coroutines whose ids were asked for, and gives the core the
** function that arms its interrupt hook. Any thread, including one that never
** loaded Lua, interrupts by id.
**
** The one rule that makes the concurrency tractable: only the thread that
** runs a universe (its owner) ever touches that universe's Lua memory. A
** foreign interrupter records the request in the registry (our memory) and
** kicks the owner with a signal; the owner arms its own hook, as lua.c and
** luajit.c do for Ctrl-C. See kick.c for the reasoning.
*/
#ifndef MTINT_CORE_H
#define MTINT_CORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define MT_EXPORT __attribute__((visibility("default")))

/* The core is built with hidden visibility; what this header declares is
** its interface to the version libraries, so it is exported. */
#pragma GCC visibility push(default)

/* Ids are positive integers below 2^53 (exact in a double and a JS number). */
#define MT_ID_LIMIT ((uint64_t)1 << 53)

/* An interrupt request, as the rock's flag: nil, true, false. */
typedef enum { MT_NONE = 0, MT_ONCE = 1, MT_ALWAYS = 2 } mt_mode;

/* Results of the operations that name an id. */
enum { MT_OK = 0, MT_UNKNOWN = 1, MT_FULL = 2 };

/* What the mtint_* exports (exports.c) return on failure: an id that names
** nothing live (or a bad argument), or out of memory / too large. */
enum { MTINT_E_UNKNOWN = -1, MTINT_E_FULL = -2 };

typedef struct mt_universe mt_universe;

typedef struct mt_ops {
  /* Make the interrupt hook fire soon on coroutine or main state `L`.
  ** Called on the owner thread only, from normal code or from the kick
  ** signal handler, so it may do no more than lua_sethook does. */
  void (*arm)(void *ctx, void *L);
  /* Arm everything the running host call may be executing (a cancelled
  ** call must stop even inside a coroutine). Same calling rules. */
  void (*arm_call)(void *ctx);
  /* Arm L from any thread, by storing L's hook fields only (hookfields.c
  ** in csrc/lua has the proof); NULL where a version cannot. The core calls
  ** it holding L's slot lock (so L is alive) and the universe's arm lock
  ** (so it never splits the owner's own hook change). */
  void (*arm_direct)(void *ctx, void *L);
  /* In the kick signal handler, on the recorded owner thread: nonzero only
  ** if this thread is proven to be running the universe right now
  ** (`main_L` is its main state, kept alive by its slot lock meanwhile).
  ** NULL: the owner record is trusted (hosted states never move). */
  int (*runs_here)(void *ctx, void *main_L);
} mt_ops;

/* How interrupters reach a universe's states. */
enum {
  MT_ARM_SIGNAL = 0,     /* a kick signal; the owner arms (LuaJIT) */
  MT_ARM_DIRECT_AND_SIGNAL = 1, /* a direct store, then a kick for what the
                                   store cannot reach (5.4: frame traps) */
  MT_ARM_DIRECT = 2,     /* a direct store and nothing else (5.1 to 5.3) */
};

/* --- universes (owner thread) ------------------------------------------ */

/* Opens a universe owned by the calling thread and registers its main
** state `main_L` (NULL if unknown: it then registers like a coroutine). `hosted` is nonzero when a host API brackets every entry
** into Lua with mt_call_begin/end, so that idle states need no signal; zero
** for the drop-in module, where the state may be running at any time.
** Returns NULL when the tables are full. */
mt_universe *mt_universe_open(const mt_ops *ops, void *ctx, void *main_L, int hosted);

/* Chooses how interrupters arm `u` (MT_ARM_*; MT_ARM_SIGNAL until set).
** The version library calls it once its hook-field offsets are verified. */
void mt_universe_arming(mt_universe *u, int how);

/* Unregisters every id of the universe and retires it. Owner thread. */
void mt_universe_close(mt_universe *u);

/* A state's memory, kept by its owner's allocator (relaxed stores: each
** field is read on its own, and a reader only needs a recent value). */
typedef struct mt_meter {
  _Atomic size_t used;           /* bytes now */
  _Atomic size_t peak;           /* most bytes at once */
  _Atomic uint64_t allocations;  /* blocks allocated or grown, since creation */
  _Atomic size_t limit;          /* 0: none */
} mt_meter;

/* Lets any thread read the state's meter (mtint_memory). */
void mt_universe_meter(mt_universe *u, const mt_meter *meter);

/* Records the calling thread as the owner (drop-in states can be created
** on one thread and run on another, as llthreads2 does). Cheap when the
** owner is unchanged. */
void mt_universe_adopt(mt_universe *u);

/* --- ids (owner thread) ------------------------------------------------ */

/* The id of `L` in `u`, registering it when `create` is set. 0 when `L` is
** not registered and `create` is 0, or when the registry is full. */
uint64_t mt_id_of(mt_universe *u, void *L, int create);

/* Unregisters `L` if it is registered (called before its memory is freed).
** Returns 1 when it was registered. */
int mt_forget(mt_universe *u, void *L);

/* Consumes the request pending for `L`: a once-request is cleared, an
** always-request stays. Returns what was pending. */
mt_mode mt_take(mt_universe *u, void *L);

/* The request pending for `L`, without consuming it. */
mt_mode mt_peek(mt_universe *u, void *L);

/* Number of slots of `u` with a request pending (an estimate while
** interrupters race; exact when quiet). */
uint32_t mt_pending_count(mt_universe *u);

/* Arms whatever was kicked while no signal could be sent (hosted universes
** between calls). Owner thread, normal code. */
void mt_process_kicks(mt_universe *u);

/* Holds kicks while the owner changes a hook itself: a kick signal that
** arrives meanwhile is deferred to mt_kicks_release, so the handler's
** lua_sethook never splits the owner's, and the universe's arm lock is
** held, so no direct arm from another thread splits it either. Every
** disarm of ours happens held, after reading what is pending. Owner
** thread; not nested. */
void mt_kicks_hold(mt_universe *u);
void mt_kicks_release(mt_universe *u);

/* --- interrupts (any thread) ------------------------------------------- */

/* Interrupts the main state or coroutine `id`. MT_NONE withdraws a pending
** request. Returns MT_OK or MT_UNKNOWN; *was (if not NULL) receives the
** request that was pending before. */
int mt_interrupt(uint64_t id, mt_mode mode, mt_mode *was);

/* Nonzero if `id` is registered now. Any thread. */
int mt_id_known(uint64_t id);

/* --- scopes: what Lua code reaches by id (scope.c) ---------------------- */

/* The _from variants act for Lua code running in universe `from` (NULL:
** the host, which reaches every id): an id outside its scope is unknown,
** with the same answer and the same work as an id never issued. A hosted
** universe reaches its own ids only; a drop-in one, every id (as the rock). */
int mt_interrupt_from(const mt_universe *from, uint64_t id, mt_mode mode, mt_mode *was);
int mt_id_known_from(const mt_universe *from, uint64_t id);
/* Lets the Lua code of `u` reach every id (`all` nonzero) or its own and
** granted ones only. Owner thread, before it runs Lua. */
void mt_scope_all(mt_universe *u, int all);
/* Lets the Lua code of `u` reach the state whose main id is `main_id` and
** its coroutines. Returns MT_OK, MT_UNKNOWN (not a live state's main id)
** or MT_FULL. Owner thread, before it runs Lua. */
int mt_scope_grant(mt_universe *u, uint64_t main_id);

/* --- pins: ids kept known by interruptible objects (pins.c) ------------- */

/* Pins `id` if `from` reaches it, live or pinned: it stays known to
** mt_pinned_from after its target is gone, until every pin is dropped.
** Returns MT_OK, MT_UNKNOWN or MT_FULL. Any thread. */
int mt_pin(const mt_universe *from, uint64_t id);
void mt_unpin(uint64_t id);
/* Nonzero if `id` is pinned and `from` reaches it. */
int mt_pinned_from(const mt_universe *from, uint64_t id);

/* --- host calls -------------------------------------------------------- */

/* Starts host call `seq` (positive, increasing per universe). Returns 0 if
** the call was cancelled before it started, 1 otherwise. Owner thread. */
int mt_call_begin(mt_universe *u, uint64_t seq);
/* Ends the current host call. Owner thread. */
void mt_call_end(mt_universe *u);
/* The highest cancelled call seq, to read inline on a hot path: the owner
** compares it with the seq of the call it runs (relaxed loads suffice:
** it only needs to see a cancellation soon). */
const _Atomic uint64_t *mt_cancel_word(mt_universe *u);
/* The running call's seq, 0 between calls. */
uint64_t mt_call_current(mt_universe *u);
/* Nonzero while the current call has been cancelled. */
int mt_call_cancelled(mt_universe *u);
/* Cancels call `seq` of the universe whose main id is `id`, and only that
** call: it acts if the call is running or has not started, never on a later
** one. Any thread. Returns MT_OK or MT_UNKNOWN. */
int mt_interrupt_call(uint64_t id, uint64_t seq);

/* Why the current call was cancelled: by the host (mt_interrupt_call), or
** by the watchdog for its wall-clock deadline or its CPU limit. */
typedef enum { MT_CAUSE_HOST = 0, MT_CAUSE_DEADLINE = 1, MT_CAUSE_CPU = 2 } mt_cause;
mt_cause mt_call_cause(mt_universe *u);

/* CPU time (ns) the owner thread spent in the universe's host calls,
** including the running one. Any thread holding `u` alive. */
uint64_t mt_cpu_ns(mt_universe *u);

/* --- deadlines (watchdog.c) -------------------------------------------- */

/* Cancels call `seq` of `u` when CLOCK_MONOTONIC passes `deadline_ns`
** (UINT64_MAX: never), or once the call has used `cpu_limit_ns` of CPU
** time (0: no limit), and again every few milliseconds until the call
** ends. One deadline per universe: a later one replaces it. Any thread
** holding `u` alive (its owner, or an interrupter holding a slot lock).
** Returns 0 if the watchdog could not start. */
int mt_deadline_set(mt_universe *u, uint64_t seq, uint64_t deadline_ns, uint64_t cpu_limit_ns);
void mt_deadline_clear(mt_universe *u);
uint64_t mt_now_ns(void);

/* --- mailbox (mailbox.c) ----------------------------------------------- */

/* Queues a copy of `len` bytes for the universe whose main id is `id`.
** Any thread. Returns MT_OK, MT_UNKNOWN, or MT_FULL (out of memory). */
int mt_mailbox_send(uint64_t id, const void *data, size_t len);

typedef struct mt_message {
  struct mt_message *next;
  size_t len;
  unsigned char data[];
} mt_message;

/* Counts the interrupts and cancellations that reached the universe. Read
** it before checking for pending requests, then pass it to recv, so that
** one arriving in between is not slept through. */
uint64_t mt_mailbox_wakes(mt_universe *u);

enum { MT_RECV_MESSAGE = 0, MT_RECV_TIMEOUT = 1, MT_RECV_WOKEN = 2 };
/* Waits until a message arrives (*msg then owns it: mt_message_free),
** `timeout_ns` passes (negative: forever), or the wake count moves past
** `since`. Owner thread. */
int mt_mailbox_recv(mt_universe *u, int64_t timeout_ns, uint64_t since, mt_message **msg);
void mt_message_free(mt_message *msg);

/* --- replies (mailbox.c) ------------------------------------------------ */

/* A script that calls a function of the thread that created its worker
** waits for that thread's answer, as recv waits for a message. Answers
** carry the token of their call (increasing per universe); the universe
** keeps the newest, so an answer that comes after its caller gave up
** (cancelled, interrupted) is dropped by the next one or at close. */

/* Delivers the answer to call `token` of the universe whose main id is
** `id`. Any thread. Returns MT_OK, MT_UNKNOWN, or MT_FULL (out of memory). */
int mt_reply_send(uint64_t id, uint64_t token, const void *data, size_t len);
/* Waits until the answer to `token` arrives (*msg then owns it) or the
** wake count moves past `since`. Owner thread. Returns MT_RECV_MESSAGE or
** MT_RECV_WOKEN. */
int mt_reply_wait(mt_universe *u, uint64_t token, uint64_t since, mt_message **msg);

/* --- posts (posts.c) --------------------------------------------------- */

/* Bytes of posted values the main thread may not have taken yet. */
#define MT_POST_BUDGET ((size_t)16 << 20)
/* Reserves `len` bytes of the budget for a post (MT_OK), or waits until the
** main thread has taken enough or the wake count moves past `since`
** (MT_RECV_WOKEN). Owner thread. */
int mt_post_reserve(mt_universe *u, size_t len, uint64_t since);
/* Gives back a reservation whose post failed. Owner thread. */
void mt_post_unreserve(mt_universe *u, size_t len);
/* The main thread has taken `len` bytes posted by the universe whose main
** id is `id`. Any thread. MT_OK or MT_UNKNOWN (closed since). */
int mt_posts_taken(uint64_t id, size_t len);

/* --- inspection: stack, profile samples, pause (inspect.c) --------------- */

/* What the host asks the running call's hook to do, besides interrupting. */
enum { MT_INSPECT_STACK = 1, MT_INSPECT_SAMPLE = 2, MT_INSPECT_PAUSE = 4 };

/* The request word, to read inline in the hook (relaxed: a request is
** followed by its own arm, which makes the hook look again). */
const _Atomic uint32_t *mt_inspect_word(mt_universe *u);
/* Takes the requests pending (MT_INSPECT_* bits) for the owner's hook. A
** PAUSE bit is returned only for the running call, which then counts as
** paused until mt_pause_wait returns. Owner thread. */
uint32_t mt_inspect_take(mt_universe *u);
/* Publishes the answer to every stack request made so far. Owner thread. */
void mt_stack_answer(mt_universe *u, const void *bytes, size_t len);
/* Counts one sample of folded stack `key` (dropped when not profiling).
** Owner thread; copies the key only the first time it is seen. */
void mt_profile_add(mt_universe *u, const char *key, size_t len);
/* Waits, natively, until the host resumes, or an interrupt or a
** cancellation reaches the universe (they win over a pause). Returns 0
** when the pause is over, MT_INSPECT_STACK when the host asked for the
** stack meanwhile: the caller answers and waits again. Owner thread. */
uint32_t mt_pause_wait(mt_universe *u);
/* How many coroutines the running host call is resuming (0 in the main
** state): a profile tick on 5.1 to 5.3 signals only when a coroutine runs
** (inspect_tick). Owner thread. */
void mt_resuming(mt_universe *u, int depth);

/* --- introspection ----------------------------------------------------- */

/* Live registered ids, all universes. */
uint64_t mt_live_ids(void);
/* Open universes. */
uint64_t mt_live_universes(void);
/* The main id of a universe. */
uint64_t mt_main_id(mt_universe *u);

#pragma GCC visibility pop

#endif
