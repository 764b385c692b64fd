/**
 * Everything that crosses between the C libraries and TypeScript, and the
 * messages between a LuaWorker (main thread) and its Web Worker. Each
 * constant that C also defines names its C home; tests/protocol.test.ts
 * parses those headers and compares every value.
 *
 * @module
 */
import type { LuaVersion } from "../ffi/mod.ts";

/** Flags of mth_create (csrc/lua/host.h): the full standard libraries. */
export const FLAG_FULL_LIBS = 1;
/** LuaJIT's compiler on (csrc/lua/host.h). */
export const FLAG_JIT = 2;
/** Scripts reach every id in the process (`interrupts: "process"`; csrc/lua/host.h). */
export const FLAG_REACH_ALL = 4;

/** Result kinds of mth_run (csrc/lua/host.h). RESULT_CANCELLED: the call
 * was cancelled; its last byte is a CAUSE_*. */
export const RESULT_OK = 0,
  RESULT_ERROR = 1,
  RESULT_INTERRUPTED = 2,
  RESULT_MEMORY = 3,
  RESULT_CONVERT = 4,
  RESULT_SYNTAX = 5,
  RESULT_CANCELLED = 6;

/** Why a call was cancelled (mt_cause, csrc/core/mtint_core.h): asked by
 * the host (a signal, close(); src/cancellation.ts records which), or by
 * the watchdog at the call's timeout or CPU limit. */
export const CAUSE_HOST = 0, CAUSE_DEADLINE = 1, CAUSE_CPU = 2;

/** Interrupt modes, the rock's flag (mt_mode, csrc/core/mtint_core.h):
 * false withdraws, nil once, true at every instruction. */
export const MODE_NONE = 0, MODE_ONCE = 1, MODE_ALWAYS = 2;

/** What the mtint_* exports and mth_grant return on failure
 * (csrc/core/mtint_core.h): no such live id, or out of memory / too large. */
export const STATUS_UNKNOWN = -1, STATUS_FULL = -2;

/** How an error record gives the error value (csrc/lua/host.h): it is the
 * message; a list of one value follows; it cannot cross. */
export const ERROR_VALUE_MESSAGE = 0, ERROR_VALUE_ENCODED = 1, ERROR_VALUE_NONE = 2;

/** What the worker's host-function callback returns (csrc/lua/host.h). */
export const HOST_CALL_OK = 0, HOST_CALL_ERROR = 1, HOST_CALL_WAIT = 2;
/** First byte of an answer to a script waiting on a caller's function (csrc/lua/host.h). */
export const ANSWER_VALUES = 0, ANSWER_ERROR = 1;

/** Value tags of the codec (csrc/lua/codec.h). */
export const TAG_NIL = 0,
  TAG_FALSE = 1,
  TAG_TRUE = 2,
  TAG_INT = 3,
  TAG_NUM = 4,
  TAG_STR = 5,
  TAG_BYTES = 6,
  TAG_ARRAY = 7,
  TAG_MAP = 8,
  TAG_FUNC = 9;

/** As deep as tables may nest (CODEC_MAX_DEPTH, csrc/lua/codec.h). */
export const MAX_DEPTH = 100;
/**
 * Most values one crossing may hold, tables and keys included
 * (CODEC_MAX_VALUES, csrc/lua/codec.h): a table met at several places
 * counts at each, so a few shared subtables cannot stand for millions of copies.
 */
export const MAX_VALUES = 1 << 22;
/** Most bytes one encoded crossing may take (CODEC_MAX_BYTES, csrc/lua/codec.h). */
export const MAX_BYTES = 1 << 26;
/** Most live function handles one Lua state keeps (HANDLES_MAX, csrc/lua/handles.h): past it, a result
 * that holds a function is a TypeError until handles are released. */
export const MAX_HANDLES = 65536;

/** Request kinds of the channel (src/channel.ts; TypeScript only). RESET
 * replaces the state by a fresh one (its result: 0 and the new id as a
 * float64, or 1 and why); DEFINE adds a creator's function named by the
 * request's chunk, whose index is in its timeout field (its result: empty,
 * or why not); VIA_MESSAGE says the request (or its result) travels as a
 * message. CALL calls the function at the dotted path in its chunk, or the
 * function handle that is its first argument when the chunk is empty (its
 * result: as RUN's); RELEASE drops the function handles whose numbers are
 * its args, as float64s (its result: empty). */
export const RUN = 1, CLOSE = 2, VIA_MESSAGE = 3, RESET = 4, DEFINE = 5, CALL = 6, RELEASE = 7;

/** Messages to the worker. Calls go through the channel (src/channel.ts);
 * a call too large for it comes as a "run" message. */
export type Request =
  | {
    type: "create";
    version: LuaVersion;
    memoryLimit: number;
    flags: number;
    /** Main ids of the states the scripts may reach besides their own. */
    grants: number[];
    host?: string;
    /** Names of the creator's functions, host.<name> in Lua. */
    functions: string[];
    channel: SharedArrayBuffer;
  }
  | {
    type: "run";
    /** A call (CALL: `chunk` is the path) rather than a chunk. */
    call: boolean;
    seq: number;
    chunk: Uint8Array;
    name: Uint8Array;
    args: Uint8Array;
    timeout: number;
    cpuLimit: number;
  };

/** Messages from the worker; a bare number says that call number is done. */
export type Reply =
  | number
  | { type: "loaded" } // the worker listens: its imports await, so messages sent earlier could be lost
  | { type: "ready"; id: number; version: string; engine: string }
  | { type: "failed"; message: string }
  | { type: "result"; seq: number; bytes: Uint8Array }
  | { type: "post"; id: number; bytes: Uint8Array } // id: the posting state's (host.post's back-pressure)
  | { type: "call"; fn: number; token: number; bytes: Uint8Array } // a script calls functions[fn]
  | { type: "closed" };
