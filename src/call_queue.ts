/**
 * The calls of one LuaWorker, in order: queued, dispatched one at a time
 * through the channel (src/channel.ts), or as a message when too large for
 * it, and settled from their result bytes. Each call can be cancelled on
 * its own; the cause is recorded on the call when it is asked for.
 *
 * @module
 */
import type { Channel } from "./channel.ts";
import { pollTurns } from "./next_turn.ts";
import type { Cancellation } from "./cancellation.ts";
import { Failure, type SpareError, spareError } from "./results.ts";
import { MtintError } from "./errors.ts";
import { CALL, type DEFINE, type RELEASE, type Request, type RESET, RUN, VIA_MESSAGE } from "./protocol.ts";

/** One request of a LuaWorker, from its queueing to its result. */
export interface Call {
  kind: typeof RUN | typeof CALL | typeof RESET | typeof DEFINE | typeof RELEASE;
  seq: number;
  chunk: Uint8Array;
  name: Uint8Array;
  args: Uint8Array;
  /** Makes `args` when the call is dispatched (RELEASE: the handles released until then). */
  argsAtDispatch?: () => Uint8Array;
  /** The channel's request number, once dispatched. */
  number: number;
  /** performance.now() when dispatched. */
  dispatched: number;
  /** ms, -1 for none (RESET: its grace; DEFINE: the function's index). */
  timeout: number;
  /** ms, -1 for none. */
  cpuLimit: number;
  signal?: AbortSignal;
  onAbort?: () => void;
  /** The caller polls for its end (CallQueue.expectEnd). */
  polling?: boolean;
  /** Why it was cancelled, recorded when the cancellation was asked for. */
  cancelled?: Cancellation;
  /** The error it is expected to reject with, once interrupted (expectEnd). */
  spare?: SpareError;
  /** Settles the call from its result bytes. */
  complete(bytes: Uint8Array): void;
  reject(err: unknown): void;
  /** Settles (never rejects) once the call has. */
  done: Promise<unknown>;
}

/** What a new call needs besides its seq, number and timing. */
export type CallSpec =
  & Pick<Call, "kind" | "chunk" | "timeout">
  & Partial<Pick<Call, "name" | "args" | "argsAtDispatch" | "cpuLimit">>;

const EMPTY = new Uint8Array(0);
// The caller spins for a result this long, while calls keep being quicker
// than QUICK_MICROS; otherwise it waits for the worker's message.
const SPIN_MICROS = 50;
const QUICK_MICROS = 100;
// After an interrupt or a cancellation the running call usually ends
// within 20-100 µs. The caller spins for it first (blocking its loop that
// long at most, once per interrupt): an idle Deno loop takes 30-90 µs to
// come back for each turn. Then it polls on each event-loop turn
// (src/next_turn.ts) for a while, besides the usual wake-ups.
const END_SPIN_MS = 0.15;
const END_POLL_MS = 5;
// Whether a finished call wakes the caller through shared memory
// (src/channel.ts), besides its message.
let waitAsync = typeof Atomics.waitAsync === "function";

/** Turns the shared-memory wake-up off or on (where the runtime has it), for
 * benchmarks that compare it with the message alone; internal. */
export function useWaitAsync(on: boolean): void {
  waitAsync = on && typeof Atomics.waitAsync === "function";
}

/** The queue and the running call of one worker. */
export class CallQueue {
  #queue: Call[] = [];
  #running: Call | undefined;
  #seq = 0;
  #spin = true;
  /** An error for a call interrupted by interrupt(), made ahead (expectEnd). */
  #spare: SpareError | undefined;
  readonly #channel: Channel;
  readonly #post: (request: Request, transfer: Transferable[]) => void;
  readonly #cancel: (seq: number) => void;
  readonly #dispatched: (call: Call) => void;
  readonly #postsTaken: () => number;
  /** A finished call waiting for the values its script posted before it ended. */
  #late: { call: Call; bytes: Uint8Array } | undefined;

  /**
   * @param post sends a request too large for the channel as a message
   * @param cancel cancels the running call `seq` natively
   * @param dispatched runs once a call has been handed to the worker
   * @param postsTaken how many posted values the caller has taken so far (mod 2^32)
   */
  constructor(
    channel: Channel,
    post: (request: Request, transfer: Transferable[]) => void,
    cancel: (seq: number) => void,
    dispatched: (call: Call) => void,
    postsTaken: () => number,
  ) {
    this.#channel = channel;
    this.#post = post;
    this.#cancel = cancel;
    this.#dispatched = dispatched;
    this.#postsTaken = postsTaken;
  }

  /** The call the worker runs now. */
  get running(): Call | undefined {
    return this.#running;
  }

  /** A fresh call seq (also for requests that bypass the queue: close). */
  nextSeq(): number {
    return ++this.#seq;
  }

  /**
   * Queues a call; `complete` turns its result bytes into its value, or
   * the error it rejects with (thrown or as a {@link Failure}). A `signal`
   * cancels it (queued or running) when aborted.
   */
  add<T>(
    spec: CallSpec,
    complete: (bytes: Uint8Array, call: Call) => T | Failure,
    signal?: AbortSignal,
    abortCause?: (reason: unknown) => Cancellation,
  ): Promise<T> {
    let resolve!: (value: T) => void, reject!: (err: unknown) => void;
    const promise = new Promise<T>((res, rej) => [resolve, reject] = [res, rej]);
    const call: Call = {
      name: EMPTY,
      args: EMPTY,
      cpuLimit: -1,
      ...spec,
      seq: this.nextSeq(),
      number: 0,
      dispatched: 0,
      signal,
      complete(bytes) {
        try {
          const value = complete(bytes, call);
          if (value instanceof Failure) reject(value.error);
          else resolve(value);
        } catch (err) {
          reject(err);
        }
      },
      reject,
      done: promise.catch(() => {}),
    };
    if (signal && abortCause) {
      call.onAbort = () => this.cancel(call, abortCause(signal.reason));
      signal.addEventListener("abort", call.onAbort, { once: true });
    }
    this.#queue.push(call);
    this.#pump();
    return promise;
  }

  /** Cancels `call` for `why`: a queued one is rejected, a running one
   * interrupted natively (its result then reports the cancellation). */
  cancel(call: Call, why: Cancellation): void {
    const queued = this.#queue.indexOf(call);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      this.#settle(
        call,
        () => call.reject(new MtintError("interrupted", "aborted before it started", { cause: why.cause })),
      );
    } else if (this.#running === call) {
      call.cancelled ??= why;
      this.#cancel(call.seq);
      this.expectEnd();
    }
  }

  /** The running call was interrupted or cancelled: readies the error it
   * is to reject with (an Error costs 30-50 µs on an idle Deno loop, 3 µs
   * on a busy one: the one for interrupt() is made ahead, as a call that
   * did not end within its spin is dispatched; one for a cancellation now,
   * its interrupt sent already), then, once the caller's code has run,
   * spins for its end a short while and polls for it on each turn for a
   * longer one, besides the usual wake-ups. */
  expectEnd(): void {
    const call = this.#running;
    if (!call || call.polling) return;
    call.polling = true;
    if (!call.spare || call.spare.made !== call.cancelled) {
      call.spare = call.cancelled === undefined && this.#spare ? this.#spare : spareError(call.cancelled);
      if (call.spare === this.#spare) this.#spare = undefined;
    }
    const ended = () => this.#running !== call || this.#channel.done(call.number);
    queueMicrotask(() => {
      const until = performance.now() + END_SPIN_MS;
      while (!ended() && performance.now() < until);
      pollTurns(ended, END_POLL_MS).then((done) => {
        call.polling = false;
        if (done) this.finish(call, null);
      });
    });
  }

  /** Rejects every queued call (not the running one) with `err`. */
  rejectQueued(err: () => Error): void {
    for (const call of this.#queue.splice(0)) this.#settle(call, () => call.reject(err()));
  }

  /** A value the script posted was taken: settles the call that waited for it. */
  postTaken(): void {
    const late = this.#late;
    if (late && this.#channel.postsIn(this.#postsTaken())) this.finish(late.call, late.bytes);
  }

  /** Rejects every call, the running one included, with `err`. */
  rejectAll(err: Error): void {
    const calls = this.#running ? [this.#running, ...this.#queue] : this.#queue;
    this.#running = undefined;
    this.#late = undefined;
    this.#channel.releaseCalls();
    this.#queue = [];
    for (const call of calls) this.#settle(call, () => call.reject(err));
  }

  /** The worker says request `number` is done (its result is in the channel). */
  doneNumber(number: number): void {
    const call = this.#running;
    if (call && call.number === number && this.#channel.done(number)) this.finish(call, null);
  }

  /** The worker sent the result of call `seq` as a message. */
  resultMessage(seq: number, bytes: Uint8Array): void {
    const call = this.#running;
    if (call && call.seq === seq) this.finish(call, bytes);
  }

  /** Settles the running `call`, whose result is in the channel, or in
   * `bytes` when it came as a message; then dispatches the next one. */
  finish(call: Call, bytes: Uint8Array | null): void {
    if (this.#running !== call) return;
    bytes ??= this.#channel.result();
    if (bytes === null) return; // on its way as a message
    if (!this.#channel.postsIn(this.#postsTaken())) { // values the script posted first are on their way
      this.#late = { call, bytes: bytes.slice() }; // the channel's view lasts until the next request
      return;
    }
    this.#late = undefined;
    this.#running = undefined;
    this.#channel.releaseCalls();
    if (call.kind === RUN || call.kind === CALL) {
      this.#spin = (performance.now() - call.dispatched) * 1000 < QUICK_MICROS;
    }
    this.#settle(call, () => call.complete(bytes));
    this.#pump();
  }

  #pump(): void {
    if (this.#running || this.#queue.length === 0) return;
    const call = this.#queue.shift()!;
    this.#running = call;
    call.dispatched = performance.now();
    if (call.argsAtDispatch) call.args = call.argsAtDispatch();
    call.number = this.#channel.request(
      call.kind,
      call.seq,
      call.timeout,
      call.cpuLimit,
      call.chunk,
      call.name,
      call.args,
    );
    const runs = call.kind === RUN || call.kind === CALL;
    if (call.number === 0 && !runs) { // only a run or a call may travel as a message
      this.#running = undefined;
      this.#settle(call, () => call.reject(new RangeError("mtint: the request is too large for the channel")));
      this.#pump();
      return;
    }
    if (call.number === 0) { // too large for the channel
      this.#post(
        {
          type: "run",
          call: call.kind === CALL,
          seq: call.seq,
          chunk: call.chunk,
          name: call.name,
          args: call.args,
          timeout: call.timeout,
          cpuLimit: call.cpuLimit,
        },
        [call.chunk.buffer as ArrayBuffer, call.name.buffer as ArrayBuffer, call.args.buffer as ArrayBuffer],
      );
      call.number = this.#channel.announce(VIA_MESSAGE);
    }
    this.#dispatched(call);
    if (runs && this.#spin && this.#channel.spin(call.number, SPIN_MICROS)) {
      this.finish(call, null);
      return;
    }
    // The next interrupt's error, made on the way rather than after it (expectEnd).
    if (runs) this.#spare ??= spareError(undefined);
    if (waitAsync) this.#channel.whenDone(call.number).then(() => this.finish(call, null));
  }

  #settle(call: Call, finish: () => void): void {
    if (call.signal && call.onAbort) call.signal.removeEventListener("abort", call.onAbort);
    finish();
  }
}
