/**
 * LuaWorker: one Web Worker that owns one Lua state, driven from the main
 * thread. Calls run one at a time in the order they were made; every one
 * can be cancelled on its own (signal, timeout) through the native
 * registry, whatever the worker is doing.
 *
 * @module
 */
import { type CoreLib, loadableVersions, LUA_VERSIONS, type LuaVersion, openCore, openLua } from "../ffi/mod.ts";
import { decodeList, encodeList, type LuaInput, type LuaValue, messageOf, Reader } from "./codec.ts";
import { AsyncLocalStorage } from "node:async_hooks";
import { Channel, CLOSE, DEFINE, RESET, RUN, VIA_MESSAGE } from "./channel.ts";
import { LuaError, type LuaErrorCode, MtintError } from "./errors.ts";
import {
  ANSWER_ERROR,
  ANSWER_VALUES,
  FLAG_FULL_LIBS,
  FLAG_JIT,
  FLAG_REACH_ALL,
  type Reply,
  type Request,
  RESULT_CONVERT,
  RESULT_ERROR,
  RESULT_INTERRUPTED,
  RESULT_MEMORY,
  RESULT_OK,
  RESULT_SYNTAX,
} from "./protocol.ts";

/** Options of {@link LuaWorker.create}. */
export interface LuaWorkerOptions {
  /** The Lua version: "5.1", "5.2", "5.3", "5.4" or "luajit". Default: the newest built. */
  lua?: LuaVersion;
  /** Which standard libraries to open: "safe" (default) or "full". See the README. */
  libs?: "safe" | "full";
  /** Most bytes the state may allocate; beyond it allocations fail as out-of-memory. Default: none. */
  memoryLimit?: number;
  /** Default timeout of every run, in ms. Default: none. */
  timeout?: number;
  /** LuaJIT only: turn the JIT compiler on. Compiled loops cannot be interrupted. Default: false. */
  jit?: boolean;
  /** A module whose exported functions Lua can call as `require("host").<name>(...)`. */
  host?: URL | string;
  /**
   * Functions of the calling thread that Lua calls as `require("host").<name>(...)`:
   * sync or async; the Lua call waits natively for the result or the promise.
   */
  functions?: Record<string, LuaFunction>;
  /** Gives up creating the worker (its start, the host module's import, the state) after this many ms.
   * Default: 30000. */
  createTimeout?: number;
  /** Gives up creating the worker when aborted. */
  signal?: AbortSignal;
  /**
   * Which states the worker's scripts reach by id with `mtint.interrupt`,
   * `mtint.interruptible` and interruptible objects. `"own"` (default): the
   * worker's own main state and coroutines. `"process"`: every id in the
   * process, as the rock. A list of LuaWorkers (or their `id`s, which must
   * be live): those states and their coroutines, besides its own (a grant
   * names the state a worker has then: its reset() ends the grant). Outside
   * its scope an id behaves exactly as one that does not exist. JavaScript's
   * `interrupt(id)` and `lua.interrupt()` reach every id whatever this says.
   */
  interrupts?: InterruptScope;
  /**
   * The Lua runtime library to use (a path, e.g. "/opt/lua/lib/liblua.so.5.4"); needs `lua`.
   * Default: the `MTINT_LUA_<VERSION>` variable (MTINT_LUA_5_4, MTINT_LUA_LUAJIT), else the
   * system's. One runtime per version per process: the first one bound stays.
   */
  luaRuntime?: string;
}

/**
 * A function Lua can call: it gets the call's arguments and returns (or
 * resolves to) one value, which crosses back as a Lua value. A throw or a
 * rejection is a Lua error at the call site.
 */
export type LuaFunction = (...args: LuaValue[]) => unknown;

/** Which states a worker's scripts reach by id: see {@link LuaWorkerOptions.interrupts}. */
export type InterruptScope = "own" | "process" | readonly (LuaWorker | number)[];

/** Options of {@link LuaWorker.run}. */
export interface RunOptions {
  /** Arguments, as `...` in the chunk. */
  args?: readonly LuaInput[];
  /** Cancels this call (and only this one) when aborted. */
  signal?: AbortSignal;
  /** Cancels this call after this many ms of running. Default: the worker's. */
  timeout?: number;
  /**
   * Cancels this call once it has used this many ms of CPU time (the
   * worker thread's CPU clock), however long it waited: the `cause` is
   * "cpuLimit". Default: none.
   */
  cpuLimit?: number;
  /** The chunk's name in error messages and tracebacks. Default: "chunk". */
  name?: string;
}

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

/** Options of {@link LuaWorker.reset}. */
export interface ResetOptions {
  /** How long the old state's finalizers may run before they are cancelled, in ms. Default: 2000. */
  grace?: number;
}

/** Options of {@link LuaWorker.close}. */
export interface CloseOptions {
  /** How long to wait for a running call, then for the state's finalizers, in ms. Default: 2000. */
  grace?: number;
}

interface Call {
  kind: typeof RUN | typeof RESET | typeof DEFINE;
  seq: number;
  chunk: Uint8Array;
  name: Uint8Array;
  args: Uint8Array;
  number: number; // the channel's request number, once dispatched
  dispatched: number; // performance.now() then
  timeout: number;
  cpuLimit: number; // ms, -1 for none
  signal?: AbortSignal;
  onAbort?: () => void;
  resolve(values: LuaValue[]): void;
  reject(err: unknown): void;
  done: Promise<unknown>;
}

const NEWEST_FIRST: readonly LuaVersion[] = ["5.4", "5.3", "5.2", "5.1", "luajit"];
const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);
// The caller spins for a result this long, while calls keep being quicker
// than QUICK_MICROS; otherwise it waits for the worker's message.
const SPIN_MICROS = 50;
const QUICK_MICROS = 100;
const MAX_ID = Number.MAX_SAFE_INTEGER;
const CREATE_TIMEOUT = 30_000;
// close() waits this long for the worker's thread to take up a request
// before its grace starts (a loaded machine may not run it at once).
const WAKE_BOUND = 2000;

/** A value as an argument error names it. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

/** Checks an interruptible id: an integer in [1, 2^53). */
export function checkId(id: unknown, what = "id"): number {
  if (typeof id !== "number") {
    throw new TypeError(
      `${what} must be a number (an interruptible id from lua.id or mtint.id()), got ${
        typeof id === "bigint" ? "a bigint" : describe(id)
      }`,
    );
  }
  if (!Number.isInteger(id) || id < 1 || id > MAX_ID) {
    throw new RangeError(`${what} must be an integer between 1 and 2^53-1, got ${id}`);
  }
  return id;
}

/** The rock's flag: undefined once, true always, false withdraw. */
export function modeOf(flag: unknown): number {
  if (flag === undefined) return 1;
  if (typeof flag !== "boolean") throw new TypeError(`flag must be a boolean or undefined, got ${describe(flag)}`);
  return flag ? 2 : 0;
}

function checkTimeout(timeout: unknown, what: string): number | undefined {
  if (timeout === undefined) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout <= 0) {
    throw new RangeError(`${what} must be a positive number of ms (Infinity for none), got ${describe(timeout)}`);
  }
  return timeout;
}

/** The scope option as a flag and the main ids granted; throws on bad input. */
function checkScope(scope: unknown): { all: boolean; grants: number[] } {
  if (scope === undefined || scope === "own") return { all: false, grants: [] };
  if (scope === "process") return { all: true, grants: [] };
  if (!Array.isArray(scope)) {
    throw new TypeError(
      `interrupts must be "own", "process" or an array of LuaWorkers and ids, got ${
        typeof scope === "string" ? JSON.stringify(scope) : describe(scope)
      }`,
    );
  }
  const grants = scope.map((entry: unknown, i) =>
    entry instanceof LuaWorker ? entry.id : checkId(entry, `interrupts[${i}] (a LuaWorker or its id)`)
  );
  return { all: false, grants };
}

/** Why a cancelled call stopped, as the main thread knows it: the signal's reason, or "close". */
type Cancellation = { cause: unknown; detail: string } | undefined;

function decodeResult(bytes: Uint8Array, call: Call, cancellation: Cancellation, deadline: number): LuaValue[] {
  const r = new Reader(bytes);
  const kind = r.u8();
  if (kind === RESULT_OK) {
    try {
      return decodeList(bytes, 1, deadline);
    } catch (err) {
      if (!(err instanceof DOMException && err.name === "TimeoutError")) throw err;
      throw new MtintError("interrupted", `timed out after ${call.timeout} ms (decoding the result)`, {
        cause: "timeout",
      });
    }
  }
  const message = r.string();
  if (kind === RESULT_CONVERT) throw new TypeError(message);
  const chunk = r.string();
  const line = r.i32();
  const traceback = r.string();
  if (kind === RESULT_INTERRUPTED) {
    // "cancelled": the call was cancelled (signal, close), or by the watchdog
    // ("cancelled: timeout", "cancelled: cpuLimit"); else mtint.interrupt
    if (message.startsWith("cancelled")) {
      const watchdog = message.slice("cancelled: ".length);
      const { cause, detail } = cancellation ??
        (watchdog === "cpuLimit"
          ? { cause: "cpuLimit", detail: `used its CPU time limit of ${call.cpuLimit} ms` }
          : { cause: "timeout", detail: `timed out after ${call.timeout} ms` });
      throw new MtintError("interrupted", detail, { cause, traceback });
    }
    throw new MtintError("interrupted", undefined, { traceback });
  }
  const values = decodeList(bytes, r.pos);
  const code: LuaErrorCode = kind === RESULT_SYNTAX ? "syntax" : kind === RESULT_MEMORY ? "memory" : "runtime";
  if (kind !== RESULT_ERROR && kind !== RESULT_SYNTAX && kind !== RESULT_MEMORY) {
    throw new Error(`mtint: unknown result kind ${kind}`);
  }
  throw new LuaError(message, { code, chunk, line, traceback, value: values.length ? values[0] : message });
}

// Which worker's function (if any) the running JavaScript serves: a run()
// on that same worker from inside it would wait for itself.
const serving = new AsyncLocalStorage<LuaWorker>();

function checkFunctionName(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new TypeError(`function names must be Lua identifiers, got ${JSON.stringify(name)}`);
  }
}

// A LuaWorker dropped without close() takes its Web Worker with it.
const orphans = new FinalizationRegistry<Worker>((worker) => worker.terminate());

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
  #worker: Worker;
  #channel: Channel;
  #spin = true;
  #core: CoreLib;
  #integers: boolean;
  #timeout: number | undefined;
  #seq = 0;
  #queue: Call[] = [];
  #running: Call | undefined;
  #closing: Promise<void> | undefined;
  #closed: (() => void) | undefined;
  #failure: Error | undefined;
  #inbox: LuaValue[] | undefined; // buffered once messages() was called
  #functions: LuaFunction[];
  #readers: ((result: IteratorResult<LuaValue>) => void)[] = [];

  private constructor(
    worker: Worker,
    channel: Channel,
    lua: LuaVersion,
    ready: Extract<Reply, { type: "ready" }>,
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
    this.#functions = functions;
    worker.onmessage = (event: MessageEvent<Reply>) => this.#receive(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(new Error(`mtint: the worker failed: ${event.message}`));
    };
    orphans.register(this, worker, this);
  }

  /** Starts a worker and creates its Lua state. */
  static async create(options: LuaWorkerOptions = {}): Promise<LuaWorker> {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`options must be an object, got ${describe(options)}`);
    }
    if (options.luaRuntime !== undefined) {
      if (typeof options.luaRuntime !== "string" || options.luaRuntime === "") {
        throw new TypeError(`luaRuntime must be a path, got ${describe(options.luaRuntime)}`);
      }
      if (options.lua === undefined) throw new TypeError("luaRuntime needs lua: the version it is");
    }
    // loadableVersions throws, saying why, when no version loads.
    const lua = options.lua ?? NEWEST_FIRST.find((v) => loadableVersions().includes(v))!;
    if (!LUA_VERSIONS.includes(lua)) {
      throw new RangeError(`lua must be one of ${LUA_VERSIONS.join(", ")}, got ${describe(lua)}`);
    }
    const libs = options.libs ?? "safe";
    if (libs !== "safe" && libs !== "full") {
      throw new RangeError(`libs must be "safe" or "full", got ${describe(libs)}`);
    }
    const memoryLimit = options.memoryLimit ?? 0;
    if (typeof memoryLimit !== "number" || !Number.isFinite(memoryLimit) || memoryLimit < 0) {
      throw new RangeError(`memoryLimit must be a number of bytes >= 0, got ${describe(memoryLimit)}`);
    }
    const timeout = checkTimeout(options.timeout, "timeout");
    const scope = checkScope(options.interrupts);
    if (options.jit !== undefined && typeof options.jit !== "boolean") {
      throw new TypeError(`jit must be a boolean, got ${describe(options.jit)}`);
    }
    let host: string | undefined;
    if (options.host !== undefined) {
      if (!(options.host instanceof URL) && typeof options.host !== "string") {
        throw new TypeError(`host must be a URL or a string, got ${describe(options.host)}`);
      }
      host = new URL(options.host).href; // a plain path would resolve against the cwd in Bun
    }
    const functions = options.functions ?? {};
    if (functions === null || typeof functions !== "object") {
      throw new TypeError(`functions must be an object of functions, got ${describe(functions)}`);
    }
    for (const [name, fn] of Object.entries(functions)) {
      checkFunctionName(name);
      if (typeof fn !== "function") throw new TypeError(`functions.${name} must be a function, got ${describe(fn)}`);
    }
    const createTimeout = checkTimeout(options.createTimeout, "createTimeout") ?? CREATE_TIMEOUT;
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
    }
    if (signal?.aborted) throw new MtintError("interrupted", "aborted before it started", { cause: signal.reason });
    openCore(); // fails here, on the caller's thread, with a clear message
    openLua(lua, options.luaRuntime); // binds the runtime for the worker too, or says why not

    const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
    const channel = new Channel();
    const flags = (libs === "full" ? FLAG_FULL_LIBS : 0) | (options.jit ? FLAG_JIT : 0) |
      (scope.all ? FLAG_REACH_ALL : 0);
    const what = `mtint: creating the Lua ${lua} state`;
    // The worker may never answer: a host module whose top-level await
    // never settles, a worker that cannot start. Bounded, and abortable.
    let stage = "starting its worker";
    let giveUp: (err: Error) => void = () => {};
    const timer = setTimeout(
      () => giveUp(new Error(`${what}: gave up after ${createTimeout} ms ${stage}`)),
      Math.min(createTimeout, 2 ** 31 - 1),
    );
    const onAbort = () => giveUp(new MtintError("interrupted", `aborted while ${stage}`, { cause: signal!.reason }));
    signal?.addEventListener("abort", onAbort, { once: true });
    const ready = await new Promise<Extract<Reply, { type: "ready" }>>((resolve, reject) => {
      giveUp = reject;
      worker.onmessage = (event: MessageEvent<Reply>) => {
        const reply = event.data;
        if (typeof reply === "number") return;
        if (reply.type === "loaded") {
          stage = host ? `importing the host module ${host} (a top-level await that never settles?)` : "creating it";
          worker.postMessage(
            {
              type: "create",
              version: lua,
              memoryLimit,
              flags,
              grants: scope.grants,
              host,
              functions: Object.keys(functions),
              channel: channel.buffer,
            } satisfies Request,
          );
        } else if (reply.type === "ready") {
          resolve(reply);
        } else if (reply.type === "failed") {
          reject(new Error(`${what}: ${reply.message}`));
        }
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        reject(new Error(`mtint: the worker failed to start: ${event.message}`));
      };
    }).catch((err) => {
      worker.terminate();
      throw err;
    }).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    });
    return new LuaWorker(worker, channel, lua, ready, timeout, Object.values(functions));
  }

  /**
   * Runs a chunk of Lua and resolves to its return values. Rejects with a
   * {@link LuaError} for Lua errors, an {@link MtintError} ("interrupted")
   * when interrupted or cancelled, a TypeError when a value cannot cross.
   */
  run(chunk: string, options: RunOptions = {}): Promise<LuaValue[]> {
    try {
      if (typeof chunk !== "string") throw new TypeError(`chunk must be a string of Lua code, got ${describe(chunk)}`);
      if (options === null || typeof options !== "object") {
        throw new TypeError(`options must be an object, got ${describe(options)}`);
      }
      this.#checkOpen();
      this.#checkNotServing("run");
      const args = options.args ?? [];
      if (!Array.isArray(args)) throw new TypeError(`args must be an array, got ${describe(args)}`);
      const name = options.name ?? "chunk";
      if (typeof name !== "string") throw new TypeError(`name must be a string, got ${describe(name)}`);
      const timeout = checkTimeout(options.timeout, "timeout") ?? this.#timeout;
      const cpuLimit = checkTimeout(options.cpuLimit, "cpuLimit");
      const signal = options.signal;
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
      }
      if (signal?.aborted) {
        return Promise.reject(new MtintError("interrupted", "aborted before it started", { cause: signal.reason }));
      }
      const encoded = encodeList("args", args, this.#integers);
      this.#checkOpen(); // a getter may have closed it
      let resolve!: (values: LuaValue[]) => void, reject!: (err: unknown) => void;
      const promise = new Promise<LuaValue[]>((res, rej) => [resolve, reject] = [res, rej]);
      const call: Call = {
        kind: RUN,
        seq: ++this.#seq,
        chunk: utf8.encode(chunk),
        name: utf8.encode(name),
        args: encoded,
        number: 0,
        dispatched: 0,
        timeout: timeout === undefined || timeout === Infinity ? -1 : timeout,
        cpuLimit: cpuLimit === undefined || cpuLimit === Infinity ? -1 : cpuLimit,
        signal,
        resolve,
        reject,
        done: promise.catch(() => {}),
      };
      if (signal) {
        call.onAbort = () => this.#abort(call, signal.reason);
        signal.addEventListener("abort", call.onAbort, { once: true });
      }
      this.#queue.push(call);
      this.#pump();
      return promise;
    } catch (err) {
      return Promise.reject(err);
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
      if (options === null || typeof options !== "object") {
        throw new TypeError(`options must be an object, got ${describe(options)}`);
      }
      const grace = options.grace ?? 2000;
      if (typeof grace !== "number" || !(grace >= 0)) {
        throw new RangeError(`grace must be a number of ms >= 0, got ${describe(grace)}`);
      }
      this.#checkOpen();
      this.#checkNotServing("reset");
      return this.#request(RESET, EMPTY, grace).then(() => {});
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
      this.#checkNotServing("define");
      this.#functions.push(fn);
      return this.#request(DEFINE, utf8.encode(name), this.#functions.length - 1).then(() => {});
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Queues a RESET or DEFINE request; `timeout` is RESET's grace, DEFINE's function index. */
  #request(kind: typeof RESET | typeof DEFINE, chunk: Uint8Array, timeout: number): Promise<LuaValue[]> {
    let resolve!: (values: LuaValue[]) => void, reject!: (err: unknown) => void;
    const promise = new Promise<LuaValue[]>((res, rej) => [resolve, reject] = [res, rej]);
    const call: Call = {
      kind,
      seq: ++this.#seq,
      chunk,
      name: EMPTY,
      args: EMPTY,
      number: 0,
      dispatched: 0,
      timeout,
      cpuLimit: -1,
      resolve,
      reject,
      done: promise.catch(() => {}),
    };
    this.#queue.push(call);
    this.#pump();
    return promise;
  }

  #checkNotServing(what: string): void {
    if (serving.getStore() === this) {
      throw new Error(
        `mtint: ${what}() on the LuaWorker whose script is waiting for this function would wait for itself; ` +
          "return a value instead, or use another worker",
      );
    }
  }

  /** Runs the function a script calls and answers it; a late answer is dropped natively. */
  async #answer(fn: number, token: number, bytes: Uint8Array): Promise<void> {
    let answer: Uint8Array;
    try {
      const args = decodeList(bytes);
      const result = await serving.run(this, () => this.#functions[fn](...args));
      const values = encodeList("result", result === undefined ? [] : [result as LuaInput], this.#integers);
      answer = new Uint8Array(values.length + 1);
      answer[0] = ANSWER_VALUES;
      answer.set(values, 1);
    } catch (err) {
      answer = new Uint8Array([ANSWER_ERROR, ...utf8.encode(messageOf(err))]);
    }
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
    return true;
  }

  /** Sends a value to the script, which takes it with `require("host").recv()`. */
  send(value: LuaInput): void {
    this.#checkOpen();
    const status = this.#core.send(this.id, encodeList("value", [value], this.#integers));
    if (status === -1) throw new TypeError("LuaWorker is closed");
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
   * Closes the worker: cancels the running call and waits for it to
   * unwind, rejects the calls still queued, closes the Lua state and ends
   * the worker. Rejects if the state does not stop within `grace` ms (it is
   * stuck in a C function, see the README): its thread keeps running.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    const grace = options.grace ?? 2000;
    if (typeof grace !== "number" || !(grace >= 0)) {
      return Promise.reject(new RangeError(`grace must be a number of ms >= 0, got ${describe(grace)}`));
    }
    const closed = new Promise<void>((resolve) => this.#closed = resolve);
    this.#closing = this.#shutdown(grace, closed);
    this.#endReaders();
    return this.#closing;
  }

  /** `await using lua = await LuaWorker.create()` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutdown(grace: number, closed: Promise<void>): Promise<void> {
    for (const call of this.#queue.splice(0)) {
      this.#settle(
        call,
        () =>
          call.reject(new MtintError("interrupted", "the LuaWorker closed before this call ran", { cause: "close" })),
      );
    }
    // The grace is for the state to stop once its thread runs, which the
    // shared buffer shows at once; the worker's message may come later
    // (tests/hostile/recovery.ts). A worker that fails meanwhile has
    // stopped too.
    const stopped = (number: number) =>
      Promise.race([this.#channel.finished(number, grace, WAKE_BOUND), closed.then(() => true)]);
    const running = this.#running;
    if (running) {
      this.#core.interruptCall(this.id, running.seq);
      if (!await stopped(running.number)) {
        return this.#stuck(grace, "did not stop its running call");
      }
      this.#finish(running, null); // unless the result comes as a message
      await running.done;
    }
    const seq = ++this.#seq;
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

  #pump(): void {
    if (this.#running || this.#queue.length === 0) return;
    const call = this.#queue.shift()!;
    this.#running = call;
    call.dispatched = performance.now();
    if (call.kind !== RUN) {
      call.number = this.#channel.request(call.kind, call.seq, call.timeout, -1, call.chunk, EMPTY, EMPTY);
      if (call.kind === RESET) this.#watchReset(call);
      return;
    }
    call.number = this.#channel.request(
      RUN,
      call.seq,
      call.timeout,
      call.cpuLimit,
      call.chunk,
      call.name,
      call.args,
    );
    if (call.number === 0) { // too large for the channel
      this.#worker.postMessage(
        {
          type: "run",
          seq: call.seq,
          chunk: call.chunk,
          name: call.name,
          args: call.args,
          timeout: call.timeout,
          cpuLimit: call.cpuLimit,
        } satisfies Request,
        [call.chunk.buffer as ArrayBuffer, call.name.buffer as ArrayBuffer, call.args.buffer as ArrayBuffer],
      );
      call.number = this.#channel.announce(VIA_MESSAGE);
    }
    if (this.#spin && this.#channel.spin(call.number, SPIN_MICROS)) this.#finish(call, null);
  }

  /** Settles the running call, whose result is in the channel, or in
   * `bytes` when it came as a message. */
  #finish(call: Call, bytes: Uint8Array | null): void {
    if (this.#running !== call) return;
    bytes ??= this.#channel.result();
    if (bytes === null) return; // on its way as a message
    this.#running = undefined;
    if (call.kind === RESET) {
      this.#resetDone(call, bytes);
      this.#pump();
      return;
    }
    if (call.kind === DEFINE) {
      if (bytes.length) call.reject(new Error(`mtint: define(): ${new TextDecoder().decode(bytes)}`));
      else call.resolve([]);
      this.#pump();
      return;
    }
    this.#spin = (performance.now() - call.dispatched) * 1000 < QUICK_MICROS;
    const cancellation: Cancellation = call.signal?.aborted
      ? { cause: call.signal.reason, detail: "aborted" }
      : this.#closing
      ? { cause: "close", detail: "the LuaWorker closed" }
      : undefined;
    const deadline = call.timeout < 0 ? Infinity : call.dispatched + call.timeout;
    this.#settle(call, () => {
      try {
        call.resolve(decodeResult(bytes, call, cancellation, deadline));
      } catch (err) {
        call.reject(err);
      }
    });
    this.#pump();
  }

  /** Cancels the old state's finalizers after the reset's grace, and gives
   * the worker up after a second one, as close() does. */
  #watchReset(call: Call): void {
    const id = this.#id;
    const first = setTimeout(() => {
      if (this.#running !== call) return;
      this.#core.interruptCall(id, call.seq);
      const second = setTimeout(() => {
        if (this.#running === call) {
          try {
            this.#stuck(call.timeout, "did not finish closing its old state (its finalizers) for reset()");
          } catch { /* #stuck rejected every call with it */ }
        }
      }, call.timeout);
      call.done.then(() => clearTimeout(second));
    }, call.timeout);
    call.done.then(() => clearTimeout(first));
  }

  #resetDone(call: Call, bytes: Uint8Array): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes[0] === 0) {
      this.#id = view.getFloat64(1, true);
      call.resolve([]);
      return;
    }
    const err = new Error(
      `mtint: reset() could not create the new Lua state: ${new TextDecoder().decode(bytes.subarray(1))}`,
    );
    this.#fail(err); // the worker has no state any more
    call.reject(err);
  }

  #abort(call: Call, reason: unknown): void {
    const queued = this.#queue.indexOf(call);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      this.#settle(
        call,
        () => call.reject(new MtintError("interrupted", "aborted before it started", { cause: reason })),
      );
    } else if (this.#running === call) {
      this.#core.interruptCall(this.id, call.seq);
    }
  }

  #settle(call: Call, finish: () => void): void {
    if (call.signal && call.onAbort) call.signal.removeEventListener("abort", call.onAbort);
    finish();
  }

  #receive(reply: Reply): void {
    if (typeof reply === "number") {
      const call = this.#running;
      if (call && call.number === reply && this.#channel.done(reply)) this.#finish(call, null);
      return;
    }
    switch (reply.type) {
      case "result": {
        const call = this.#running;
        if (call && call.seq === reply.seq) this.#finish(call, reply.bytes);
        break;
      }
      case "call":
        this.#answer(reply.fn, reply.token, reply.bytes);
        break;
      case "post": {
        this.#core.postsTaken(reply.id, reply.bytes.length);
        const [value] = decodeList(reply.bytes);
        this.dispatchEvent(new MessageEvent("message", { data: value }));
        const reader = this.#readers.shift();
        if (reader) reader({ value, done: false });
        else this.#inbox?.push(value);
        break;
      }
      case "closed":
        this.#closed?.();
        break;
    }
  }

  #fail(err: Error): void {
    this.#failure = err;
    const calls = this.#running ? [this.#running, ...this.#queue] : this.#queue;
    this.#running = undefined;
    for (const call of calls.splice(0)) this.#settle(call, () => call.reject(err));
    this.#queue = [];
    this.#closed?.();
    this.#endReaders();
  }

  #endReaders(): void {
    for (const reader of this.#readers.splice(0)) reader({ value: undefined, done: true });
  }
}
