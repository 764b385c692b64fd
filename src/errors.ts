/**
 * The errors mtint throws, besides TypeError and RangeError for misuse.
 *
 * @module
 */
import type { LuaValue } from "./codec.ts";

/** The `mtint.error` table of the Lua module, for JavaScript. */
export const error = {
  /** Raised in a state that was interrupted without a handler. */
  interrupted: "mtint.error.interrupted",
  /** Kept for the rock's API; no supported Lua version raises it. */
  not_supported: "mtint.error.not_supported",
  /** An id that names no live state or coroutine. */
  unknown_object: "mtint.error.unknown_object",
} as const;

/** The `code` of an {@link MtintError}. */
export type MtintErrorCode = keyof typeof error;

/** Details of an {@link MtintError}. */
export interface MtintErrorOptions {
  /** Why the call stopped: a `signal`'s reason, "timeout", "close". */
  cause?: unknown;
  /** Where the script was when it stopped. */
  traceback?: string;
}

/**
 * The `mtint.error.*` family. Its message starts with
 * `mtint.error.<code>`, so `err.message.match(error.interrupted)` reads as
 * it does in Lua.
 */
export class MtintError extends Error {
  /** "interrupted", "not_supported" or "unknown_object". */
  readonly code: MtintErrorCode;
  /** Where the script was when it stopped, when known. */
  readonly traceback?: string;

  /** An error with `code`, its message `mtint.error.<code>` then `detail` when given. */
  constructor(code: MtintErrorCode, detail?: string, options: MtintErrorOptions = {}) {
    super(detail ? `${error[code]}: ${detail}` : error[code], { cause: options.cause });
    this.name = "MtintError";
    this.code = code;
    this.traceback = options.traceback;
  }
}

/** The `code` of a {@link LuaError}. */
export type LuaErrorCode = "runtime" | "syntax" | "memory";

/** Details of a {@link LuaError}. */
export interface LuaErrorDetails {
  /** See {@link LuaError.code}. */
  code: LuaErrorCode;
  /** See {@link LuaError.chunk}. */
  chunk: string;
  /** See {@link LuaError.line}. */
  line: number;
  /** See {@link LuaError.traceback}. */
  traceback: string;
  /** See {@link LuaError.value}. */
  value: LuaValue | undefined;
}

/** A Lua syntax error, runtime error, or out-of-memory error. */
export class LuaError extends Error {
  /** "runtime", "syntax", or "memory" (the state's memory limit). */
  readonly code: LuaErrorCode;
  /** The chunk where the error was raised ("" when unknown). */
  readonly chunk: string;
  /** Its line (0 when unknown). */
  readonly line: number;
  /** Lua's traceback at the error. */
  readonly traceback: string;
  /** The error value as it crosses (see the README's value table): the
   * string, number, boolean, nil (`null`) or table given to error();
   * bytes that are not UTF-8 as a `Uint8Array` (the message then shows
   * them as U+FFFD). `undefined` when it cannot cross (a function,
   * coroutine, userdata, a table holding one, a string longer than
   * `MAX_BYTES`): the message says what it was. */
  readonly value: LuaValue | undefined;

  /** An error with `message` and its details. */
  constructor(message: string, details: LuaErrorDetails) {
    super(message);
    this.name = "LuaError";
    this.code = details.code;
    this.chunk = details.chunk;
    this.line = details.line;
    this.traceback = details.traceback;
    this.value = details.value;
  }
}

/**
 * Makes an error that settles a call from the worker's answer, without a
 * JavaScript stack: it would show only mtint's own frames (the caller's
 * are gone by then, as with Node's and Deno's asynchronous I/O errors),
 * and capturing it is the costliest step of a rejection on an idle event
 * loop (~13 of ~18 µs under Deno). The Lua side's place is in `traceback`.
 */
export function withoutStack<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
