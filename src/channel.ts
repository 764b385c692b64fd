/**
 * The call channel between a LuaWorker and its worker: one
 * SharedArrayBuffer. Waking a thread through its event loop costs 25-50 µs
 * in Deno on a small VM (a message each way); through shared memory the
 * round trip of a short call is a few µs. So:
 *
 * - the idle worker sleeps in Atomics.wait on `REQ`, and the caller wakes
 *   it by writing the request into the buffer and bumping `REQ`;
 * - the worker writes the result back, sets `DONE` to the request's number,
 *   wakes waiters on `DONE` and posts that number as a message;
 * - the caller spins on `DONE` for a few µs if recent calls were that
 *   quick, and otherwise waits on `DONE` with Atomics.waitAsync, or for the
 *   message, whichever comes first: an idle event loop gets the waitAsync
 *   wake-up sooner than a message (issue 13; bench section `idle`), and
 *   the message stays for runtimes without waitAsync.
 *
 * A script's call of a creator's function goes the same way: the worker
 * writes it into the call area, sets `CALL` to its token and notifies;
 * the caller, waiting on `CALL` with Atomics.waitAsync while a request
 * runs, runs the function and answers natively (src/lua_worker.ts);
 * where the runtime has no waitAsync, as a message. Scripts often call in a
 * loop: after a call, while calls are answered at once, the caller polls `CALL` on every
 * turn of its event loop for CALL_POLL_MS (src/next_turn.ts) before it
 * waits again, so the next call does not have to wake an idle loop.
 *
 * A request or result too large for the buffer travels as a message
 * instead (`VIA_MESSAGE`); the buffer then only says so. The request kinds
 * are in src/protocol.ts.
 *
 * @module
 */
import { VIA_MESSAGE } from "./protocol.ts";
import { pollTurns } from "./next_turn.ts";

/** Bytes of request or result the buffer holds. */
export const CAPACITY = 64 * 1024;

// Int32 slots in front of the data.
const REQ = 0; // bumped by the caller for each request
const DONE = 1; // the number of the last request the worker finished
const KIND = 2; // what the current request is
const SIZE = 3; // bytes of the inline result
const RESULT = 4; // INLINE or VIA_MESSAGE
const TAKEN = 5; // the number of the last request the worker woke up for
const CALL = 6; // the token of the creator's-function call in the call area, 0 while written
const POSTED = 7; // the values the worker had posted (host.post, as messages) when it finished, mod 2^32
const SLOTS = 8;
/**
 * Whether scripts' calls of the creator's functions go through the call
 * area (woken by Atomics.waitAsync, and polled after each call) rather
 * than as messages. Deno wakes an idle loop for waitAsync 3x sooner than
 * for a message; Bun about as soon (32-37 µs against 22-29 µs), but a
 * call that follows another is found by the polling, in the channel only
 * (Lua → function → Lua p50 under Bun 22-29 → 11-16 µs, bench section
 * `functions`).
 */
export const CALLS_IN_CHANNEL = typeof Atomics.waitAsync === "function";
/** How long the caller polls for a script's next call after one (see above). */
const CALL_POLL_MS = 0.5;
/** How long each turn of that polling spins first (blocking the loop that long at most), while calls follow their answers that closely. */
const CALL_SPIN_MS = 0.02;
/** Bytes of a creator's-function call (index, length, arguments) the call area holds. */
const CALL_CAPACITY = 16 * 1024;
const INLINE = 0;

const HEADER = 8 + 8 + 8 + 4 * 3; // seq, timeout, cpu limit, three lengths

/** A decoded request, as the worker sees it. */
export interface CallRequest {
  kind: number;
  seq: number;
  timeout: number;
  cpuLimit: number;
  chunk: Uint8Array;
  name: Uint8Array;
  args: Uint8Array;
}

/** One side's view of the shared buffer. */
export class Channel {
  readonly buffer: SharedArrayBuffer;
  readonly #ctl: Int32Array;
  #posted = 0; // the worker's side: values posted so far, mod 2^32
  readonly #data: Uint8Array;
  readonly #view: DataView;
  readonly #call: Uint8Array;
  readonly #callView: DataView;

  constructor(buffer = new SharedArrayBuffer(SLOTS * 4 + CAPACITY + CALL_CAPACITY)) {
    this.buffer = buffer;
    this.#ctl = new Int32Array(buffer, 0, SLOTS);
    this.#data = new Uint8Array(buffer, SLOTS * 4, CAPACITY);
    this.#view = new DataView(buffer, SLOTS * 4, CAPACITY);
    this.#call = new Uint8Array(buffer, SLOTS * 4 + CAPACITY, CALL_CAPACITY);
    this.#callView = new DataView(buffer, SLOTS * 4 + CAPACITY, CALL_CAPACITY);
  }

  // --- the caller's side

  /** Writes a request and wakes the worker; returns its number, or 0 when
   * it does not fit (the caller then sends it as a message and calls
   * `announce(VIA_MESSAGE)`). */
  request(
    kind: number,
    seq: number,
    timeout: number,
    cpuLimit: number,
    chunk: Uint8Array,
    name: Uint8Array,
    args: Uint8Array,
  ): number {
    if (HEADER + chunk.length + name.length + args.length > CAPACITY) return 0;
    const v = this.#view;
    v.setFloat64(0, seq, true);
    v.setFloat64(8, timeout, true);
    v.setFloat64(16, cpuLimit, true);
    v.setUint32(24, chunk.length, true);
    v.setUint32(28, name.length, true);
    v.setUint32(32, args.length, true);
    let at = HEADER;
    for (const part of [chunk, name, args]) {
      this.#data.set(part, at);
      at += part.length;
    }
    return this.announce(kind);
  }

  /** Bumps REQ for a request of `kind` and wakes the worker. */
  announce(kind: number): number {
    Atomics.store(this.#ctl, KIND, kind);
    const number = Atomics.add(this.#ctl, REQ, 1) + 1;
    Atomics.notify(this.#ctl, REQ);
    return number;
  }

  /** Whether the caller, having taken `taken` posted values (counted mod
   * 2^32), has every value the worker posted before it finished its last
   * request: a request settles only after them, as a script expects. */
  postsIn(taken: number): boolean {
    return ((taken - Atomics.load(this.#ctl, POSTED)) | 0) >= 0;
  }

  /** Whether request `number` is finished. */
  done(number: number): boolean {
    return Atomics.load(this.#ctl, DONE) === number;
  }

  /**
   * Resolves once request `number` (or a later one) is finished, woken by the worker's
   * notify on `DONE` (no message needed); null where the runtime has no
   * Atomics.waitAsync. A wait that never ends holds nothing alive.
   */
  async whenDone(number: number): Promise<void> {
    for (;;) {
      const seen = Atomics.load(this.#ctl, DONE);
      // Done, or a later request is (its message won): request numbers
      // only grow (compared in int32, as they wrap).
      if (((seen - number) | 0) >= 0) return;
      const wait = Atomics.waitAsync(this.#ctl, DONE, seen);
      if (wait.async) await wait.value;
    }
  }

  /** Spins until request `number` is finished or `micros` pass. */
  spin(number: number, micros: number): boolean {
    const until = performance.now() + micros / 1000;
    while (!this.done(number)) {
      if (performance.now() > until) return false;
    }
    return true;
  }

  /**
   * Resolves to true once request `number` is finished, or to false when
   * it is not finished `ms` after the worker took it up (waiting at most
   * `startMs` for that). Read from the shared buffer, polled each ms: the
   * worker's messages, which may take a while to arrive, and the time its
   * thread takes to wake up do not count (close()'s grace).
   */
  async finished(number: number, ms: number, startMs: number): Promise<boolean> {
    const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
    const started = performance.now();
    while (Atomics.load(this.#ctl, TAKEN) < number && performance.now() - started < startMs) await tick();
    const until = performance.now() + ms;
    for (;;) {
      if (this.done(number)) return true;
      if (performance.now() >= until) return false;
      await tick();
    }
  }

  /**
   * The creator's-function calls the worker writes while a request runs,
   * as they come, until `stop()` says true: each one's token (tokens only
   * grow), function index and arguments. Woken by Atomics.waitAsync; to
   * end a wait when the request is done, call {@link releaseCalls}. A call
   * the script gave up before it was read (an interrupt it caught, then its
   * next call) is skipped: its answer would be dropped anyway. `serve` may
   * return a promise of its answer: while answers come at once, the next
   * call is polled for (see the module's comment).
   */
  async serveCalls(
    after: number,
    stop: () => boolean,
    serve: (token: number, fn: number, args: Uint8Array) => unknown,
  ): Promise<number> {
    let last = after, quick = true, answered = -Infinity, tight = false;
    while (!stop()) {
      const seen = Atomics.load(this.#ctl, CALL);
      if (seen > last) {
        tight = performance.now() - answered < CALL_SPIN_MS;
        const fn = this.#callView.getInt32(0, true);
        const args = this.#call.slice(8, 8 + this.#callView.getUint32(4, true));
        // The script may have moved on (an interrupt it caught) and be
        // writing its next call: then this one is torn, and `CALL` is 0.
        if (Atomics.load(this.#ctl, CALL) !== seen) continue;
        last = seen;
        // Polls for the next call while answers are given at once (for a
        // function that takes longer, a query, it would poll for nothing),
        // and spins only while the script's calls follow their answers
        // within a spin: then serving them keeps this thread busy anyway,
        // and a script that calls less often cannot have it spin.
        const asked = performance.now();
        Promise.resolve(serve(seen, fn, args)).then(() => {
          answered = performance.now();
          quick = answered - asked < CALL_POLL_MS;
        });
        if (quick) {
          await pollTurns(() => stop() || Atomics.load(this.#ctl, CALL) > last, CALL_POLL_MS, tight ? CALL_SPIN_MS : 0);
        }
        continue;
      }
      const wait = Atomics.waitAsync(this.#ctl, CALL, seen);
      if (wait.async) await wait.value;
    }
    return last;
  }

  /** Ends the wait of {@link serveCalls} (its `stop` says so now). */
  releaseCalls(): void {
    Atomics.notify(this.#ctl, CALL);
  }

  /** The finished request's result, or null when it came as a message: a
   * view of the shared buffer, valid until the next request is written
   * (decoded before that; a copy costs 15-20 µs on an idle Deno loop). */
  result(): Uint8Array | null {
    if (Atomics.load(this.#ctl, RESULT) !== INLINE) return null;
    return this.#data.subarray(0, Atomics.load(this.#ctl, SIZE));
  }

  // --- the worker's side

  /** Sleeps until a request after `last` arrives; returns its number. */
  wait(last: number): number {
    Atomics.wait(this.#ctl, REQ, last);
    const number = Atomics.load(this.#ctl, REQ);
    Atomics.store(this.#ctl, TAKEN, number);
    return number;
  }

  /** The current request (copied out of the shared buffer). */
  read(): CallRequest {
    const v = this.#view;
    const kind = Atomics.load(this.#ctl, KIND);
    const lengths = [v.getUint32(24, true), v.getUint32(28, true), v.getUint32(32, true)];
    let at = HEADER;
    const [chunk, name, args] = lengths.map((n) => this.#data.slice(at, at += n));
    return {
      kind,
      seq: v.getFloat64(0, true),
      timeout: v.getFloat64(8, true),
      cpuLimit: v.getFloat64(16, true),
      chunk,
      name,
      args,
    };
  }

  /** Writes a creator's-function call for {@link serveCalls} and wakes the
   * caller; false when it does not fit (then it goes as a message). */
  postCall(token: number, fn: number, args: Uint8Array): boolean {
    if (!CALLS_IN_CHANNEL || args.length > CALL_CAPACITY - 8 || token > 0x7fffffff) return false;
    Atomics.store(this.#ctl, CALL, 0);
    this.#callView.setInt32(0, fn, true);
    this.#callView.setUint32(4, args.length, true);
    this.#call.set(args, 8);
    Atomics.store(this.#ctl, CALL, token);
    Atomics.notify(this.#ctl, CALL);
    return true;
  }

  /** The worker posted one more value (host.post) as a message. */
  notePost(): void {
    this.#posted = (this.#posted + 1) | 0;
  }

  /** Where the worker's native call writes its result when it fits (the
   * `into` of mth_run), so that finishing it copies nothing. */
  get resultArea(): Uint8Array {
    return this.#data;
  }

  /** Finishes request `number` with `result`; false when it did not fit
   * (the worker then sends it as a message, before the finishing one). */
  finish(number: number, result: Uint8Array | null): boolean {
    const size = result?.length ?? 0;
    if (result && size <= CAPACITY) this.#data.set(result, 0);
    return this.finishWritten(number, size);
  }

  /** Finishes request `number` with the `size` bytes of result at the start
   * of `resultArea`; false when there are more than it holds (as `finish`). */
  finishWritten(number: number, size: number): boolean {
    const inline = size <= CAPACITY;
    if (inline) Atomics.store(this.#ctl, SIZE, size);
    Atomics.store(this.#ctl, RESULT, inline ? INLINE : VIA_MESSAGE);
    Atomics.store(this.#ctl, POSTED, this.#posted);
    Atomics.store(this.#ctl, DONE, number);
    Atomics.notify(this.#ctl, DONE);
    return inline;
  }
}
