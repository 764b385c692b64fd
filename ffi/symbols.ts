/**
 * The C symbols mtint calls, in Deno's FFI vocabulary (ffi/bun.ts maps it
 * for bun:ffi). Ids and call sequence numbers are doubles: they are
 * integers below 2^53, exact in a JavaScript number.
 *
 * @module
 */

/** libmtint_core.so: the process-wide registry (csrc/core/exports.c). */
export const coreSymbols = {
  /** Interrupts a main state or coroutine; returns 1 if a request was pending before, 0 if not, -1 for an unknown id. */
  mtint_interrupt: {
    parameters: [
      "f64", // id
      "i32", // mode: 0 withdraw, 1 once, 2 always
    ],
    result: "i32",
  },
  /** Cancels one host call of a state, and only that call; 0, or -1 for an unknown id. */
  mtint_interrupt_call: {
    parameters: [
      "f64", // main state id
      "f64", // call sequence number
    ],
    result: "i32",
  },
  /** Queues bytes for host.recv(); 0, -1 unknown id, -2 out of memory. */
  mtint_send: {
    parameters: [
      "f64", // main state id
      "buffer", // encoded value (src/codec.ts)
      "f64", // its length
    ],
    result: "i32",
  },
  /** The main thread has taken a value the state posted (host.post's back-pressure); 0, or -1 for a state closed since. */
  mtint_posts_taken: {
    parameters: [
      "f64", // main state id
      "f64", // bytes of the encoded value
    ],
    result: "i32",
  },
  /** Answers a script waiting on a function of the worker's creator; 0, -1 unknown id, -2 out of memory. */
  mtint_reply: {
    parameters: [
      "f64", // main state id
      "f64", // the call's token
      "buffer", // answer: ANSWER_VALUES and encoded values, or ANSWER_ERROR and the message
      "f64", // its length
    ],
    result: "i32",
  },
  /** Bytes the state uses, readable while it runs; -1 for an unknown id. */
  mtint_memory_used: {
    parameters: [
      "f64", // main state id
    ],
    result: "f64",
  },
  /** The state's memory into a Float64Array(4): used, peak, allocations, limit; 0, or -1 for an unknown id. */
  mtint_memory: {
    parameters: [
      "f64", // main state id
      "buffer", // Float64Array(4)
    ],
    result: "i32",
  },
  /** CPU time (ns) the state spent in calls, the running one included; -1 for an unknown id. */
  mtint_cpu_ns: {
    parameters: [
      "f64", // main state id
    ],
    result: "f64",
  },
  /** Asks the running call for its stack: a ticket, 0 when no call runs, -1 for an unknown id (csrc/core/inspect.c). */
  mtint_stack_ask: { parameters: ["f64"], result: "f64" },
  /** The stack answering a ticket: its length (copied if it fits), -2 not yet, -3 no call runs, -1 unknown id. */
  mtint_stack_read: {
    parameters: [
      "f64", // main state id
      "f64", // ticket
      "buffer", // out
      "f64", // its size
    ],
    result: "f64",
  },
  /** Kicks the running call again while an inspection request waits; 0, or -1 for an unknown id. */
  mtint_inspect_kick: { parameters: ["f64"], result: "i32" },
  /** Asks the running call to pause: 1 asked or paused, 0 no call runs, -1 unknown id. */
  mtint_pause: { parameters: ["f64"], result: "i32" },
  /** 1 paused, 0 pause asked and not reached yet, 2 not pausing, -1 unknown id. */
  mtint_pause_state: { parameters: ["f64"], result: "i32" },
  /** Lets a paused call go on (or withdraws the request): 1 if one was paused or asked, 0 if not, -1 unknown id. */
  mtint_resume: { parameters: ["f64"], result: "i32" },
  /** Starts sampling every period; 0, -1 unknown id, -2 already profiling, -3 watchdog failed or bad period. */
  mtint_profile_start: {
    parameters: [
      "f64", // main state id
      "f64", // period in ms
    ],
    result: "i32",
  },
  /** Stops sampling; fills a Float64Array(2): samples, length of the folded text. 0, -1 unknown id, -2 not profiling, -3 out of memory. */
  mtint_profile_stop: {
    parameters: [
      "f64", // main state id
      "buffer", // Float64Array(2)
    ],
    result: "i32",
  },
  /** Copies the folded text of the last stop (and frees it); its length, -1 unknown id. */
  mtint_profile_text: {
    parameters: [
      "f64", // main state id
      "buffer", // out
      "f64", // its size
    ],
    result: "f64",
  },
  /** CLOCK_MONOTONIC in ns; host.clock() in Lua reads the same clock. */
  mtint_now_ns: { parameters: [], result: "f64" },
  /** Registered ids (main states and coroutines) in the process. */
  mtint_live_ids: { parameters: [], result: "f64" },
  /** Open Lua states in the process. */
  mtint_live_universes: { parameters: [], result: "f64" },
} as const;

/** <version>/libmtint_lua.so: the host API (csrc/lua/host.c, csrc/lua/lua_binding.c). */
export const luaSymbols = {
  /** Binds the Lua API to a runtime library; 0, 1 already bound to another (path in err), -1 cannot open, -2 another version. */
  mth_lua_open: {
    parameters: [
      "buffer", // path, NUL-terminated
      "buffer", // err: the message, NUL-terminated
      "u32", // err's size
    ],
    result: "i32",
  },
  /** Creates a state; NULL when out of memory. */
  mth_create: {
    parameters: [
      "f64", // memory limit in bytes, 0 for none
      "i32", // flags: 1 full libraries, 2 LuaJIT's JIT on, 4 scripts reach every id
    ],
    result: "pointer",
  },
  /** Sets the callbacks into the worker's JavaScript. */
  mth_callbacks: {
    parameters: [
      "pointer", // state
      "function", // print(text, len)
      "function", // post(bytes, len)
      "function", // call(fn index, args, len) -> status
    ],
    result: "void",
  },
  /** Makes host function `index` callable as host.<name>; 0, or -1 out of memory. */
  mth_define: {
    parameters: [
      "pointer", // state
      "i32", // index
      "buffer", // name, UTF-8
      "u32", // its length
    ],
    result: "i32",
  },
  /** Sets a host function's reply from inside the call callback. */
  mth_reply: {
    parameters: [
      "pointer", // state
      "buffer", // encoded values, or the error message
      "u32", // length
    ],
    result: "void",
  },
  /** Lets the state's scripts reach the state with this main id; 0, -1 not a live state's id, -2 out of memory. */
  mth_grant: {
    parameters: [
      "pointer", // state
      "f64", // main id of the state granted
    ],
    result: "i32",
  },
  /** The main state's id. */
  mth_id: { parameters: ["pointer"], result: "f64" },
  /** _VERSION, e.g. "Lua 5.4" (static C string). */
  mth_version: { parameters: [], result: "pointer" },
  /** The implementation, e.g. "Lua 5.4.4" or "LuaJIT 2.1.0-beta3". */
  mth_engine: { parameters: [], result: "pointer" },
  /** Runs a chunk as one host call; returns the length of the result. */
  mth_run: {
    parameters: [
      "pointer", // state
      "f64", // call sequence number
      "buffer", // chunk, UTF-8
      "u32", // its length
      "buffer", // chunk name, UTF-8
      "u32", // its length
      "buffer", // encoded arguments
      "u32", // their length
      "f64", // timeout in ms, negative for none
      "f64", // CPU time limit in ms, negative for none
      "buffer", // where the result goes when it fits (the channel's data area)
      "u32", // its capacity
    ],
    result: "u32",
  },
  /** Calls the function at a dotted path (or the handle given first) as one host call; returns the length of the result. */
  mth_call: {
    parameters: [
      "pointer", // state
      "f64", // call sequence number
      "buffer", // the path ("game.update"), UTF-8; empty: call the first argument
      "u32", // its length
      "buffer", // encoded arguments
      "u32", // their length
      "f64", // timeout in ms, negative for none
      "f64", // CPU time limit in ms, negative for none
      "buffer", // where the result goes when it fits (the channel's data area)
      "u32", // its capacity
    ],
    result: "u32",
  },
  /** Drops function handles (an array of f64 numbers); returns how many stay live. */
  mth_release: { parameters: ["pointer", "buffer", "u32"], result: "u32" },
  /** The result bytes of the last mth_run or mth_call (when they did not fit its buffer). */
  mth_result: { parameters: ["pointer"], result: "pointer" },
  /** Closes the state (its finalizers run as call `seq`). */
  mth_close: {
    parameters: [
      "pointer", // state
      "f64", // call sequence number for the finalizers
    ],
    result: "void",
  },
} as const;

/** Signatures of the callbacks passed to mth_callbacks. */
export const callbackSymbols = {
  print: { parameters: ["pointer", "u32"], result: "i32" },
  post: { parameters: ["pointer", "u32"], result: "i32" },
  call: { parameters: ["i32", "pointer", "u32"], result: "i32" },
} as const;

/** A parameter or result type of the tables above. */
export type NativeType = "f64" | "i32" | "u32" | "pointer" | "buffer" | "function" | "void";
/** One symbol's signature. */
export interface Signature {
  readonly parameters: readonly NativeType[];
  readonly result: NativeType;
}
