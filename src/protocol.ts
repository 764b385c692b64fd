/**
 * Messages between a LuaWorker (main thread) and its Web Worker.
 *
 * @module
 */
import type { LuaVersion } from "../ffi/mod.ts";

/** Flags of mth_create. */
export const FLAG_FULL_LIBS = 1;
export const FLAG_JIT = 2;
/** Scripts reach every id in the process (`interrupts: "process"`). */
export const FLAG_REACH_ALL = 4;

/** Result kinds of mth_run (csrc/lua/host.h). */
export const RESULT_OK = 0,
  RESULT_ERROR = 1,
  RESULT_INTERRUPTED = 2,
  RESULT_MEMORY = 3,
  RESULT_CONVERT = 4,
  RESULT_SYNTAX = 5;

/** What the worker's host-function callback returns (csrc/lua/host.h). */
export const HOST_CALL_OK = 0, HOST_CALL_ERROR = 1, HOST_CALL_WAIT = 2;
/** First byte of an answer to a script waiting on a caller's function (csrc/lua/host.h). */
export const ANSWER_VALUES = 0, ANSWER_ERROR = 1;

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
  | { type: "post"; bytes: Uint8Array }
  | { type: "call"; fn: number; token: number; bytes: Uint8Array } // a script calls functions[fn]
  | { type: "closed" };
