/**
 * A call's result bytes (csrc/lua/host.c writes them) as the values it
 * resolves to or the error it rejects with.
 *
 * @module
 */
import { decodeList, type FunctionMaker, type LuaValue, Reader } from "./codec.ts";
import { type Cancellation, cpuLimited, timedOut } from "./cancellation.ts";
import { LuaError, type LuaErrorCode, MtintError, withoutStack } from "./errors.ts";
import {
  CAUSE_CPU,
  CAUSE_DEADLINE,
  CAUSE_HOST,
  ERROR_VALUE_ENCODED,
  ERROR_VALUE_MESSAGE,
  RESULT_CANCELLED,
  RESULT_CONVERT,
  RESULT_ERROR,
  RESULT_INTERRUPTED,
  RESULT_MEMORY,
  RESULT_OK,
  RESULT_SYNTAX,
} from "./protocol.ts";

/** What a result's decoding needs to know of its call. */
export interface ResultContext {
  /** ms, -1 for none. */
  timeout: number;
  /** ms, -1 for none. */
  cpuLimit: number;
  /** Why the call was cancelled, when the main thread asked for it. */
  cancelled?: Cancellation;
  /** performance.now() when the call was dispatched. */
  dispatched: number;
  /** The error made in advance for the interruption that is to end the call. */
  spare?: SpareError;
}

/** An interruption's error, made before the result that settles it, and
 * the cancellation it was made for (none: interrupt()). */
export interface SpareError {
  error: MtintError;
  made: Cancellation | undefined;
}

/**
 * Makes the error that the call cancelled for `why` (or, without it,
 * interrupted by interrupt()) will reject with. Building an Error costs
 * 30-50 µs on an idle Deno event loop whatever its stack, so it is made
 * before the result that settles the call: for interrupt(), ahead of it;
 * for a cancellation, while the worker stops (CallQueue.expectEnd).
 */
export function spareError(why: Cancellation | undefined): SpareError {
  return { error: interruptedError(why, undefined), made: why };
}

/** The error a call's result settles it with, returned rather than
 * thrown: a throw costs 8-14 µs on an idle Deno event loop, where an
 * interrupted call's rejection is awaited. */
export class Failure {
  constructor(readonly error: Error) {}
}

/** The values of a run's or call's result, or its error as a {@link Failure};
 * `functions` makes the handles of the Lua functions among the values.
 * `bytes` may be the channel's shared buffer (src/channel.ts). */
export function decodeResult(bytes: Uint8Array, call: ResultContext, functions?: FunctionMaker): LuaValue[] | Failure {
  const r = new Reader(bytes);
  const kind = r.u8();
  if (kind === RESULT_OK) {
    const deadline = call.timeout < 0 ? Infinity : call.dispatched + call.timeout;
    // Values read from a copy: Deno's TextDecoder reads a SharedArrayBuffer at half speed.
    const own = bytes.buffer instanceof SharedArrayBuffer ? bytes.slice() : bytes;
    try {
      return decodeList(own, 1, deadline, functions);
    } catch (err) {
      if (!(err instanceof DOMException && err.name === "TimeoutError")) throw err;
      const { cause, detail } = timedOut(call.timeout, " (decoding the result)");
      return new Failure(withoutStack(() => new MtintError("interrupted", detail, { cause })));
    }
  }
  if (kind === RESULT_CANCELLED || kind === RESULT_INTERRUPTED) { // only the traceback is news
    r.skipText(); // the message
    r.skipText(); // the chunk
    r.i32(); // the line
    const traceback = r.text();
    return new Failure(
      interrupted(kind === RESULT_CANCELLED ? cancellation(r.u8(), call) : undefined, call.spare, traceback),
    );
  }
  const message = r.text();
  if (kind === RESULT_CONVERT) return new Failure(withoutStack(() => new TypeError(message)));
  const chunk = r.text();
  const line = r.i32();
  const traceback = r.text();
  const code: LuaErrorCode = kind === RESULT_SYNTAX ? "syntax" : kind === RESULT_MEMORY ? "memory" : "runtime";
  if (kind !== RESULT_ERROR && kind !== RESULT_SYNTAX && kind !== RESULT_MEMORY) {
    throw new Error(`mtint: unknown result kind ${kind}`);
  }
  const form = r.u8();
  const value = form === ERROR_VALUE_MESSAGE
    ? message
    : form === ERROR_VALUE_ENCODED
    ? decodeList(bytes.slice(r.pos), 0)[0]
    : undefined;
  return new Failure(withoutStack(() => new LuaError(message, { code, chunk, line, traceback, value })));
}

function interruptedError(why: Cancellation | undefined, traceback: string | undefined): MtintError {
  return withoutStack(() => new MtintError("interrupted", why?.detail, { cause: why?.cause, traceback }));
}

/** The error of an interruption for `why`: the spare one when made for it. */
function interrupted(why: Cancellation | undefined, spare: SpareError | undefined, traceback: string): MtintError {
  if (!spare || spare.made !== why) return interruptedError(why, traceback);
  (spare.error as { traceback?: string }).traceback = traceback;
  return spare.error;
}

/** Why a cancelled call stopped: the cause the main thread recorded when it
 * asked (the watchdog's own deadlines win only when it asked nothing). */
function cancellation(code: number, call: ResultContext): Cancellation {
  if (code === CAUSE_DEADLINE) return call.cancelled ?? timedOut(call.timeout);
  if (code === CAUSE_CPU) return call.cancelled ?? cpuLimited(call.cpuLimit);
  if (code === CAUSE_HOST && call.cancelled) return call.cancelled;
  throw new Error(`mtint: a call was cancelled with cause ${code}, which this side did not ask for`);
}
