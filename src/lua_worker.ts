/**
 * LuaWorker: one Web Worker that owns one Lua state, driven from the main
 * thread. Calls run one at a time in the order they were made; every one
 * can be cancelled on its own (signal, timeout) through the native
 * registry, whatever the worker is doing.
 *
 * The parts: src/options.ts (options and their checks), src/worker_start.ts
 * (starting the worker), src/call_queue.ts (the queue and the channel),
 * src/results.ts (results as values or errors), src/cancellation.ts (why a
 * call was cancelled), src/caller_functions.ts (the creator's functions).
 *
 * @module
 */
import { type CoreLib, type LuaVersion, openCore } from "../ffi/mod.ts";
import { decodeList, encodeList, type FunctionMaker, type FunctionRef, type LuaInput, type LuaValue } from "./codec.ts";
import { CALLS_IN_CHANNEL, CAPACITY, type Channel } from "./channel.ts";
import { checkHandle, handleMaker, type HandleOwner, handleRef, type LuaFunctionHandle } from "./handles.ts";
import { MtintError } from "./errors.ts";
import { CALL, CLOSE, DEFINE, RELEASE, type Reply, RESET, RUN, STATUS_UNKNOWN } from "./protocol.ts";
import { type Call, CallQueue } from "./call_queue.ts";
import { aborted, CLOSED } from "./cancellation.ts";
import { CallerFunctions, checkNotServing } from "./caller_functions.ts";
import { decodeResult } from "./results.ts";
import { type Ready, startWorker } from "./worker_start.ts";
import {
  type CallOptions,
  checkCallPath,
  checkCreateOptions,
  checkFunctionName,
  checkGrace,
  checkObject,
  checkRunOptions,
  type CloseOptions,
  describe,
  type LuaFunction,
  type LuaWorkerOptions,
  modeOf,
  type ResetOptions,
  type RunOptions,
} from "./options.ts";
import {
  type LuaStack,
  pauseOf,
  type Profile,
  profileOf,
  type ProfileOptions,
  resumeOf,
  stackOf,
  type StackOptions,
} from "./inspect.ts";

export { checkId, describe, modeOf } from "./options.ts";
export type {
  CallOptions,
  CloseOptions,
  InterruptScope,
  LuaFunction,
  LuaWorkerOptions,
  ResetOptions,
  RunOptions,
} from "./options.ts";

/** What {@link LuaWorker.memory} reports. */
export interface MemoryStats {
  /** Bytes the state uses now. */
  used: number;
  /** The most bytes it used at once. */
  peak: number;
  /** Blocks allocated or grown since the state was created. */
  allocations: number;
  /** The memory limit in bytes, null when there is none. */
  limit: number | null;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();
const EMPTY = new Uint8Array(0);
// close() waits this long for the worker's thread to take up a request
// before its grace starts (a loaded machine may not run it at once).
const WAKE_BOUND = 2000;
// Most handle numbers one RELEASE request carries (float64s in the channel).
const RELEASE_BATCH = Math.floor((CAPACITY - 64) / 8);

// A LuaWorker dropped without close() takes its Web Worker with it.
const orphans = new FinalizationRegistry<Worker>((worker) => worker.terminate());

// The call queues of this thread's open LuaWorkers by state id, for interrupt(id).
const byId = new Map<number, WeakRef<CallQueue>>();
const forget = new FinalizationRegistry<{ id: number }>(({ id }) => {
  if (byId.get(id)?.deref() === undefined) byId.delete(id);
});

/** Tells this thread's LuaWorker of state `id`, if any, that its running
 * call was interrupted (mod.ts interrupt()); internal. */
export function interruptedHere(id: number): void {
  byId.get(id)?.deref()?.expectEnd();
}

/**
 * A Lua state in its own Web Worker.
 *
 * ```ts
 * await using lua = await LuaWorker.create({ lua: "5.4" });
 * const [sum] = await lua.run("local a, b = ... return a + b", { args: [1, 2] });
 * ```
 */
export class LuaWorker extends EventTarget implements AsyncDisposable {
  /** The interruptible id of the worker's main state (the same ids as mtint.id() in Lua); a new one after {@link reset}. */
  get id(): number {
    return this.#id;
  }
  /** The state's `_VERSION`, e.g. "Lua 5.4". */
  readonly version: string;
  /** The implementation, e.g. "Lua 5.4.4" or "LuaJIT 2.1.0-beta3". */
  readonly engine: string;
  /** The version this worker was created for. */
  readonly lua: LuaVersion;

  #id: number;
  #tracked = { id: 0 }; // the id under which byId knows this worker
  #worker: Worker;
  #channel: Channel;
  #calls: CallQueue;
  /** Posted values taken so far (mod 2^32): a call settles after those its script posted. */
  #postsTaken = 0;
  #core: CoreLib;
  #integers: boolean;
  #timeout: number | undefined;
  #closing: Promise<void> | undefined;
  #closed: (() => void) | undefined;
  #failure: Error | undefined;
  #inbox: LuaValue[] | undefined; // buffered once messages() was called
  #functions: CallerFunctions;
  #readers: ((result: IteratorResult<LuaValue>) => void)[] = [];
  #lastCall = 0; // the token of the last creator's-function call served through the channel
  #liveHandles = 0;
  #resetsQueued = 0; // a call made now runs on a state after them: the handles there are now are dead
  #releaseBatch: { state: number; id: number }[] | undefined; // the handles a queued RELEASE will drop
  // What the handles of this worker's results need from it.
  #owner: HandleOwner = {
    stateId: () => this.#resetsQueued ? -1 : this.#id,
    closed: () => this.#closing !== undefined || this.#failure !== undefined,
    madeHandle: () => this.#liveHandles++,
    callHandle: (fn, args) => this.call(fn, { args }),
    dropHandle: (state, id) => this.#dropHandle(state, id),
  };
  #makeHandle: FunctionMaker = handleMaker(this.#owner);
  #handleRef: FunctionRef = handleRef(this.#owner);

  private constructor(
    worker: Worker,
    channel: Channel,
    lua: LuaVersion,
    ready: Ready,
    timeout: number | undefined,
    functions: LuaFunction[],
  ) {
    super();
    this.#worker = worker;
    this.#channel = channel;
    this.#core = openCore();
    this.lua = lua;
    this.#id = ready.id;
    this.version = ready.version;
    this.engine = ready.engine;
    this.#integers = lua === "5.3" || lua === "5.4";
    this.#timeout = timeout;
    this.#functions = new CallerFunctions(this, functions, this.#integers);
    this.#calls = new CallQueue(
      channel,
      (request, transfer) => worker.postMessage(request, transfer),
      (seq) => this.#core.interruptCall(this.id, seq),
      (call) => {
        if (call.kind === RESET) this.#watchReset(call);
        if (CALLS_IN_CHANNEL) this.#serveCalls(call);
      },
      () => this.#postsTaken,
    );
    worker.onmessage = (event: MessageEvent<Reply>) => this.#receive(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(new Error(`mtint: the worker failed: ${event.message}`));
    };
    orphans.register(this, worker, this);
    forget.register(this, this.#tracked);
    this.#track(ready.id);
  }

  /** Records the state id for interruptedHere (a new one after reset). */
  #track(id: number | undefined): void {
    if (byId.get(this.#tracked.id)?.deref() === this.#calls) byId.delete(this.#tracked.id);
    this.#tracked.id = id ?? 0;
    if (id !== undefined) byId.set(id, new WeakRef(this.#calls));
  }

  /** Starts a worker and creates its Lua state. */
  static async create(options: LuaWorkerOptions = {}): Promise<LuaWorker> {
    const settings = checkCreateOptions(options, (entry) => entry instanceof LuaWorker ? entry.id : undefined);
    const { worker, channel, ready } = await startWorker(settings);
    return new LuaWorker(worker, channel, settings.lua, ready, settings.timeout, Object.values(settings.functions));
  }

  /**
   * Runs a chunk of Lua and resolves to its return values. Rejects with a
   * {@link LuaError} for Lua errors, an {@link MtintError} ("interrupted")
   * when interrupted or cancelled, a TypeError when a value cannot cross.
   */
  run(chunk: string, options: RunOptions = {}): Promise<LuaValue[]> {
    try {
      if (typeof chunk !== "string") throw new TypeError(`chunk must be a string of Lua code, got ${describe(chunk)}`);
      checkObject(options);
      this.#checkOpen();
      checkNotServing(this, "run");
      const { args, name, timeout, cpuLimit, signal } = checkRunOptions(chunk, options, this.#timeout);
      const encoded = encodeList("args", args, this.#integers, this.#handleRef);
      this.#checkOpen(); // a getter may have closed it
      return this.#calls.add(
        { kind: RUN, chunk: utf8.encode(chunk), name: utf8.encode(name), args: encoded, timeout, cpuLimit },
        (bytes, call) => decodeResult(bytes, call, this.#makeHandle),
        signal,
        aborted,
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Calls a Lua function and resolves to its return values, as {@link run}
   * does with a chunk (the same errors, cancellation and queueing), without
   * compiling anything: `target` is a global's name or a dotted path
   * (`"game.update"`, indexed as Lua does, `__index` included), or a
   * {@link LuaFunctionHandle} that an earlier result brought back. A path
   * that leads to no function (or callable value) rejects with a
   * {@link LuaError} that names the path and what is there.
   *
   * ```ts
   * await using lua = await LuaWorker.create();
   * await lua.run("game = { score = 0 } function game.add(n) game.score = game.score + n return game.score end");
   * console.log(await lua.call("game.add", { args: [5], timeout: 100 })); // [5]
   * const [counter] = await lua.run("local n = 0 return function() n = n + 1 return n end");
   * const next = counter as LuaFunctionHandle;
   * await next();
   * console.log(await lua.call(next, { timeout: 100 })); // [2]
   * ```
   */
  call(target: string | LuaFunctionHandle, options: CallOptions = {}): Promise<LuaValue[]> {
    try {
      checkObject(options);
      this.#checkOpen();
      checkNotServing(this, "call");
      let path = EMPTY, handle: LuaFunctionHandle | undefined;
      if (typeof target === "string") {
        path = utf8.encode(checkCallPath(target));
      } else if (checkHandle(target, this.#owner)) {
        handle = target;
      } else {
        throw new TypeError(
          `target must be a function's name or path, or a handle of a Lua function, got ${describe(target)}`,
        );
      }
      const { args, timeout, cpuLimit, signal } = checkRunOptions("", options, this.#timeout);
      const encoded = encodeList("args", args, this.#integers, this.#handleRef, handle);
      this.#checkOpen(); // a getter may have closed it
      return this.#calls.add(
        { kind: CALL, chunk: path, args: encoded, timeout, cpuLimit },
        (bytes, call) => decodeResult(bytes, call, this.#makeHandle),
        signal,
        aborted,
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * The function handles this worker's results brought back that are not
   * released yet (by `release()`, by JavaScript dropping them, or by a
   * reset or close, which release them all). A state keeps at most
   * {@link MAX_HANDLES} live.
   */
  get liveHandles(): number {
    return this.#liveHandles;
  }

  /** Releases handle `id` of state `state` in a batch queued with the calls (unless that state is gone). */
  #dropHandle(state: number, id: number): void {
    if (state !== this.#id || this.#closing || this.#failure) return;
    this.#liveHandles--;
    if (this.#releaseBatch !== undefined && this.#releaseBatch.length < RELEASE_BATCH) {
      this.#releaseBatch.push({ state, id });
    } else {
      // A batch is queued when its first handle is released: before every call made after.
      const batch = [{ state, id }];
      this.#releaseBatch = batch;
      const argsAtDispatch = () => {
        if (this.#releaseBatch === batch) this.#releaseBatch = undefined;
        const ids = batch.filter((r) => r.state === this.#id).map((r) => r.id); // not those of a state since reset
        return new Uint8Array(new Float64Array(ids).buffer);
      };
      this.#calls.add({ kind: RELEASE, chunk: EMPTY, timeout: -1, argsAtDispatch }, () => {})
        .catch(() => {}); // the worker closed: the state's handles are gone with it
    }
  }

  /**
   * Replaces the Lua state by a fresh one with the same options, in the
   * same worker (much faster than a new worker). Calls made before it run
   * on the old state, calls made after it on the new one. The old state is
   * closed (its finalizers run, cancelled after `grace` ms) and the new one
   * gets a new {@link id}: an id is a capability, and whoever learned the
   * old one (a previous script) must not reach the next.
   *
   * ```ts
   * await using lua = await LuaWorker.create();
   * await lua.run("x = 1");
   * await lua.reset();
   * console.log(await lua.run("return x")); // [null]
   * ```
   */
  reset(options: ResetOptions = {}): Promise<void> {
    try {
      checkObject(options);
      const grace = checkGrace(options.grace);
      this.#checkOpen();
      checkNotServing(this, "reset");
      const done = this.#calls.add({ kind: RESET, chunk: EMPTY, timeout: grace }, (bytes) => this.#resetDone(bytes));
      this.#resetsQueued++;
      done.finally(() => this.#resetsQueued--).catch(() => {});
      return done;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Adds a function of this thread that Lua calls as
   * `require("host").<name>(...)`, as the `functions` option does; it takes
   * effect between calls, in order with them.
   *
   * ```ts
   * await using lua = await LuaWorker.create();
   * await lua.define("double", (n) => Number(n) * 2);
   * console.log(await lua.run("return require('host').double(21)")); // [42]
   * ```
   */
  define(name: string, fn: LuaFunction): Promise<void> {
    try {
      if (typeof name !== "string") throw new TypeError(`name must be a string, got ${describe(name)}`);
      checkFunctionName(name);
      if (typeof fn !== "function") throw new TypeError(`fn must be a function, got ${describe(fn)}`);
      this.#checkOpen();
      checkNotServing(this, "define");
      const index = this.#functions.add(fn);
      return this.#calls.add({ kind: DEFINE, chunk: utf8.encode(name), timeout: index }, (bytes) => {
        if (bytes.length) throw new Error(`mtint: define(): ${text.decode(bytes)}`);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Answers the creator's-function calls that come through the channel
   * while `call` runs (those too large for it come as messages). */
  #serveCalls(call: Call): void {
    this.#channel.serveCalls(this.#lastCall, () => this.#calls.running !== call, (token, fn, args) => {
      this.#lastCall = token;
      return this.#answer(fn, token, args);
    });
  }

  /** Runs the function a script calls and answers it; a late answer is dropped natively. */
  async #answer(fn: number, token: number, bytes: Uint8Array): Promise<void> {
    const answer = await this.#functions.answer(fn, bytes);
    if (!this.#closing && !this.#failure) this.#core.reply(this.id, token, answer);
  }

  /**
   * Interrupts the worker's main state, as `mtint.interrupt(lua.id, flag)`
   * in Lua: once (no flag), at every instruction (true), or no longer
   * (false). A state that is not running is interrupted when it runs next.
   */
  interrupt(flag?: boolean): boolean {
    const mode = modeOf(flag);
    this.#checkOpen();
    if (this.#core.interrupt(this.id, mode) < 0) throw new MtintError("unknown_object", `interruptible id ${this.id}`);
    if (flag !== false) this.#calls.expectEnd();
    return true;
  }

  /** Sends a value to the script, which takes it with `require("host").recv()`. */
  send(value: LuaInput): void {
    this.#checkOpen();
    const status = this.#core.send(this.id, encodeList("value", [value], this.#integers));
    if (status === STATUS_UNKNOWN) throw new TypeError("LuaWorker is closed");
    if (status !== 0) throw new Error("mtint: out of memory queueing the value");
  }

  /**
   * The values the script posts with `require("host").post(value)`, in
   * order, from the first call of messages() on; the iteration ends when
   * the worker closes. Each value goes to one reader. Every value is also
   * dispatched as a `message` event (`event.data`).
   */
  messages(): AsyncIterableIterator<LuaValue> {
    this.#inbox ??= [];
    const inbox = this.#inbox;
    const iterator: AsyncIterableIterator<LuaValue> = {
      next: () => {
        if (inbox.length) return Promise.resolve({ value: inbox.shift()!, done: false });
        if (this.#closing || this.#failure) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#readers.push(resolve));
      },
      return: () => Promise.resolve({ value: undefined, done: true }),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Bytes the Lua state uses now (also while it runs). */
  memoryUsed(): number {
    this.#checkOpen();
    return this.#core.memoryUsed(this.id);
  }

  /**
   * The state's memory as its allocator counts it, readable while a call
   * runs: bytes `used` now, the `peak`, `allocations` (blocks allocated or
   * grown since the state was created) and the `limit` (null when none).
   */
  memory(): MemoryStats {
    this.#checkOpen();
    const out = new Float64Array(4);
    if (this.#core.memory(this.id, out) !== 0) throw new TypeError("LuaWorker is closed");
    return { used: out[0], peak: out[1], allocations: out[2], limit: out[3] === 0 ? null : out[3] };
  }

  /**
   * CPU time in ms that the worker thread spent running this state's calls
   * (the running one included, and the host functions they called): the
   * thread's CPU clock, so time waiting (recv, a creator's function, a
   * busy machine) does not count. A fresh state after {@link reset} starts at 0.
   */
  cpuTime(): number {
    this.#checkOpen();
    const ns = this.#core.cpuNs(this.id);
    if (ns < 0) throw new TypeError("LuaWorker is closed");
    return ns / 1e6;
  }

  /**
   * The stack of the running call, taken at its next instruction without
   * disturbing it (it goes on running), innermost frame first; null when
   * no call runs. A state inside a C function answers when that returns,
   * or after `wait` ms with `inC: true` and no frames.
   */
  stack(options: StackOptions = {}): Promise<LuaStack | null> {
    try {
      this.#checkOpen();
      if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    } catch (err) {
      return Promise.reject(err);
    }
    return stackOf(this.#core, this.id, options);
  }

  /**
   * Samples the running stack `hz` times a second (the native watchdog's
   * ticks) until `stop()`, which resolves to the samples, the folded
   * stacks and an SVG flame graph. Calls run while it samples are
   * profiled; ticks while idle take nothing. One profile at a time.
   */
  profile(options: ProfileOptions = {}): Profile {
    this.#checkOpen();
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    return profileOf(this.#core, this.id, options);
  }

  /**
   * Stops the running call at its next instruction: resolves true once it
   * has stopped (its thread waits natively), false when no call runs (or
   * it ended first). A timeout, an abort signal, an interrupt or close()
   * still end the call while it is paused; wall-clock timeouts keep
   * counting, a cpuLimit does not.
   */
  pause(): Promise<boolean> {
    try {
      this.#checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return pauseOf(this.#core, this.id);
  }

  /** Lets a paused call go on (or withdraws a pause not reached yet); false if there was none. */
  resume(): boolean {
    this.#checkOpen();
    return resumeOf(this.#core, this.id);
  }

  /**
   * Closes the worker: cancels the running call and waits for it to
   * unwind, rejects the calls still queued, closes the Lua state and ends
   * the worker. Rejects if the state does not stop within `grace` ms (it is
   * stuck in a C function, see the README): its thread keeps running.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    let grace: number;
    try {
      checkObject(options);
      grace = checkGrace(options.grace);
    } catch (err) {
      return Promise.reject(err);
    }
    const closed = new Promise<void>((resolve) => this.#closed = resolve);
    this.#liveHandles = 0; // the state's handles go with it
    this.#track(undefined);
    this.#closing = this.#shutdown(grace, closed);
    this.#endReaders();
    return this.#closing;
  }

  /** `await using lua = await LuaWorker.create()` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutdown(grace: number, closed: Promise<void>): Promise<void> {
    this.#calls.rejectQueued(() =>
      new MtintError("interrupted", "the LuaWorker closed before this call ran", { cause: CLOSED.cause })
    );
    // The grace is for the state to stop once its thread runs, which the
    // shared buffer shows at once; the worker's message may come later
    // (tests/hostile/recovery.ts). A worker that fails meanwhile has
    // stopped too.
    const stopped = (number: number) =>
      Promise.race([this.#channel.finished(number, grace, WAKE_BOUND), closed.then(() => true)]);
    const running = this.#calls.running;
    if (running) {
      this.#calls.cancel(running, CLOSED);
      if (!await stopped(running.number)) {
        return this.#stuck(grace, "did not stop its running call");
      }
      this.#calls.finish(running, null); // unless the result comes as a message
      await running.done;
    }
    const seq = this.#calls.nextSeq();
    if (!this.#failure) {
      const number = this.#channel.request(CLOSE, seq, -1, -1, EMPTY, EMPTY, EMPTY);
      if (!await stopped(number)) {
        this.#core.interruptCall(this.id, seq); // finalizers that run too long
        if (!await stopped(number)) {
          return this.#stuck(grace, "did not finish closing (its finalizers)");
        }
      }
      await closed; // the worker posts it right after finishing
    }
    this.#worker.terminate();
    orphans.unregister(this);
  }

  #stuck(grace: number, what: string): never {
    const err = new Error(
      `mtint: LuaWorker ${this.id} ${what} within ${grace} ms; it is blocked in a C function ` +
        "that no interrupt can reach (or, with a grace of a few ms, its thread got no CPU in time), " +
        "and its thread keeps running (see README: Running untrusted Lua)",
    );
    this.#fail(err); // the call it gave up on will never report
    this.#worker.terminate();
    orphans.unregister(this);
    throw err;
  }

  #checkOpen(): void {
    if (this.#failure) throw this.#failure;
    if (this.#closing) throw new TypeError("LuaWorker is closed");
  }

  /** Cancels the old state's finalizers after the reset's grace, and gives
   * the worker up after a second one, as close() does. */
  #watchReset(call: Call): void {
    const id = this.#id;
    const first = setTimeout(() => {
      if (this.#calls.running !== call) return;
      this.#core.interruptCall(id, call.seq);
      const second = setTimeout(() => {
        if (this.#calls.running === call) {
          try {
            this.#stuck(call.timeout, "did not finish closing its old state (its finalizers) for reset()");
          } catch { /* #stuck rejected every call with it */ }
        }
      }, call.timeout);
      call.done.then(() => clearTimeout(second));
    }, call.timeout);
    call.done.then(() => clearTimeout(first));
  }

  /** A reset's result: 0 and the new id, or 1 and why the new state failed. */
  #resetDone(bytes: Uint8Array): void {
    if (bytes[0] === 0) {
      this.#id = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(1, true);
      this.#track(this.#id);
      this.#liveHandles = 0; // the old state's handles are gone with it
      return;
    }
    const err = new Error(`mtint: reset() could not create the new Lua state: ${text.decode(bytes.subarray(1))}`);
    this.#fail(err); // the worker has no state any more
    throw err;
  }

  #receive(reply: Reply): void {
    if (typeof reply === "number") {
      this.#calls.doneNumber(reply);
      return;
    }
    switch (reply.type) {
      case "result":
        this.#calls.resultMessage(reply.seq, reply.bytes);
        break;
      case "call":
        this.#answer(reply.fn, reply.token, reply.bytes);
        break;
      case "post": {
        this.#core.postsTaken(reply.id, reply.bytes.length);
        try {
          const [value] = decodeList(reply.bytes);
          this.dispatchEvent(new MessageEvent("message", { data: value }));
          const reader = this.#readers.shift();
          if (reader) reader({ value, done: false });
          else this.#inbox?.push(value);
        } finally { // counted whatever happened: the call waiting for it must not wait forever
          this.#postsTaken = (this.#postsTaken + 1) | 0;
          this.#calls.postTaken();
        }
        break;
      }
      case "closed":
        this.#closed?.();
        break;
    }
  }

  #fail(err: Error): void {
    this.#failure = err;
    this.#track(undefined);
    this.#calls.rejectAll(err);
    this.#closed?.();
    this.#endReaders();
  }

  #endReaders(): void {
    for (const reader of this.#readers.splice(0)) reader({ value: undefined, done: true });
  }
}
