/**
 * LuaPool: a fixed number of LuaWorkers serving a queue of tasks, for
 * servers that run their users' scripts. Tasks start in order of arrival
 * on the first idle worker; after each task the worker's state is kept,
 * replaced, or replaced and initialised again; a worker whose state will
 * not unwind (stuck in a C function) is retired and replaced, and the
 * queue goes on with the others.
 *
 * @module
 */
import { MtintError } from "./errors.ts";
import type { LuaValue } from "./codec.ts";
import { type CallOptions, describe, LuaWorker, type LuaWorkerOptions, type RunOptions } from "./lua_worker.ts";
import { checkCallPath } from "./options.ts";

/** What a pool does with a worker's state after each task. */
export type PoolReset = "keep" | "state" | "init";

/** Options of {@link LuaPool.create}: the pool's own, and those of every worker. */
export interface LuaPoolOptions extends LuaWorkerOptions {
  /** Workers in the pool. Default: 2. */
  size?: number;
  /** Tasks that may wait for a worker; beyond, `run` rejects with a {@link LuaPoolError} "queue_full". Default: 1000. */
  maxQueue?: number;
  /**
   * After each task: "keep" the state, replace it by a fresh one ("state"),
   * or replace it and run `init` in it again ("init", the default).
   */
  reset?: PoolReset;
  /** A Lua chunk run in every new state (for "keep": once per worker). */
  init?: string;
  /**
   * How long a cancelled task may take to unwind, in ms; a worker that
   * takes longer is blocked in a C function: the task rejects, the worker is
   * retired and a new one takes its place. Default: 1000.
   */
  retireAfter?: number;
}

/** Options of {@link LuaPool.close}. */
export interface PoolCloseOptions {
  /** Reject the queued tasks and cancel the running ones instead of finishing them. Default: false. */
  cancel?: boolean;
}

/** Task times of a pool, in ms, over its most recent tasks. */
export interface PoolTaskTimes {
  /** The median. */
  p50: number;
  /** The 90th percentile. */
  p90: number;
  /** The 99th percentile. */
  p99: number;
  /** The longest. */
  max: number;
}

/** What {@link LuaPool.stats} reports. */
export interface PoolStats {
  /** Workers the pool keeps (a retired one is replaced). */
  size: number;
  /** Workers running a task. */
  busy: number;
  /** Tasks waiting for a worker. */
  queued: number;
  /** Tasks that resolved. */
  completed: number;
  /** Tasks that rejected (Lua errors, cancellations, workers retired). */
  failed: number;
  /** Workers retired and replaced. */
  replaced: number;
  /** From the task's start on a worker until it settled; null before the first task. */
  taskMs: PoolTaskTimes | null;
}

/** Codes of {@link LuaPoolError}. */
export type LuaPoolErrorCode = "queue_full" | "closed";

/** A task the pool refused: its queue is full, or the pool is closed. */
export class LuaPoolError extends Error {
  /** "queue_full" or "closed". */
  readonly code: LuaPoolErrorCode;

  /** An error with its code. */
  constructor(code: LuaPoolErrorCode, message: string) {
    super(message);
    this.name = "LuaPoolError";
    this.code = code;
  }
}

interface Task {
  /** Runs the task on a worker (its run or call). */
  start(worker: LuaWorker): Promise<LuaValue[]>;
  options: CallOptions;
  resolve(values: LuaValue[]): void;
  reject(err: unknown): void;
  onAbort?: () => void;
}

interface Slot {
  worker: LuaWorker;
}

const TIMES_KEPT = 1024;

function count(value: unknown, what: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= min) || (value !== Infinity && !Number.isInteger(value))) {
    throw new RangeError(`${what} must be an integer >= ${min}, got ${describe(value)}`);
  }
  return value;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/**
 * A pool of LuaWorkers for running many short, untrusted scripts.
 *
 * ```ts
 * await using pool = await LuaPool.create({ size: 2, lua: "5.4", timeout: 50, memoryLimit: 1 << 20 });
 * const [n] = await pool.run("local a, b = ... return a * b", { args: [6, 7] });
 * console.log(n, pool.stats().completed); // 42 1
 * ```
 */
export class LuaPool implements AsyncDisposable {
  #options: LuaWorkerOptions;
  #reset: PoolReset;
  #init: string | undefined;
  #maxQueue: number;
  #retireAfter: number;
  #size: number;
  #idle: Slot[] = [];
  #busy = new Set<Slot>();
  #starting = 0;
  #queue: Task[] = [];
  #completed = 0;
  #failed = 0;
  #replaced = 0;
  #times: number[] = [];
  #closing: Promise<void> | undefined;
  #cancelling = false;
  #drained: (() => void) | undefined;

  private constructor(options: LuaPoolOptions, size: number, maxQueue: number, retireAfter: number) {
    const { size: _size, maxQueue: _maxQueue, reset, init, retireAfter: _retireAfter, ...workerOptions } = options;
    this.#options = workerOptions;
    this.#reset = reset ?? "init";
    this.#init = init;
    this.#size = size;
    this.#maxQueue = maxQueue;
    this.#retireAfter = retireAfter;
  }

  /** Starts `size` workers (each runs `init`) and resolves once all are ready. */
  static async create(options: LuaPoolOptions = {}): Promise<LuaPool> {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`options must be an object, got ${describe(options)}`);
    }
    const size = count(options.size, "size", 2, 1);
    if (size === Infinity) throw new RangeError("size must be finite");
    const maxQueue = count(options.maxQueue, "maxQueue", 1000, 0);
    const retireAfter = options.retireAfter ?? 1000;
    if (typeof retireAfter !== "number" || !(retireAfter >= 0) || retireAfter === Infinity) {
      throw new RangeError(`retireAfter must be a number of ms >= 0, got ${describe(retireAfter)}`);
    }
    if (options.reset !== undefined && !["keep", "state", "init"].includes(options.reset)) {
      throw new RangeError(`reset must be "keep", "state" or "init", got ${describe(options.reset)}`);
    }
    if (options.init !== undefined && typeof options.init !== "string") {
      throw new TypeError(`init must be a string of Lua code, got ${describe(options.init)}`);
    }
    if (options.init !== undefined && options.reset === "state") {
      throw new TypeError(`init runs in new states: use reset "init" (or "keep" to run it once per worker)`);
    }
    const pool = new LuaPool(options, size, maxQueue, retireAfter);
    const started = await Promise.allSettled(Array.from({ length: size }, () => pool.#startWorker()));
    const failure = started.find((s) => s.status === "rejected");
    if (failure) {
      await Promise.allSettled(started.map((s) => s.status === "fulfilled" && s.value.close()));
      throw (failure as PromiseRejectedResult).reason;
    }
    for (const s of started) pool.#idle.push({ worker: (s as PromiseFulfilledResult<LuaWorker>).value });
    return pool;
  }

  /**
   * Runs `chunk` on the next idle worker, with the options of
   * {@link LuaWorker.run} (`timeout` defaults to the pool's). Rejects with a
   * {@link LuaPoolError} when the queue is full or the pool closed; with the
   * run's own errors otherwise.
   */
  run(chunk: string, options: RunOptions = {}): Promise<LuaValue[]> {
    if (typeof chunk !== "string") {
      return Promise.reject(new TypeError(`chunk must be a string of Lua code, got ${describe(chunk)}`));
    }
    return this.#submit((worker) => worker.run(chunk, options), options);
  }

  /**
   * Calls the Lua function at `path` (a global's name or a dotted path,
   * as {@link LuaWorker.call}) on the next idle worker, as {@link run} runs
   * a chunk: the same queue, options and errors. Functions in the results
   * come back as handles of the worker that ran the task, valid while its
   * state lives: with `reset: "state"` or `"init"` (the default) the state
   * is replaced after the task, and calling such a handle is a TypeError
   * ("belongs to a Lua state that was reset"); with `"keep"` it calls that
   * worker directly, outside the pool's queue, until the worker is retired
   * or the pool closes.
   */
  call(path: string, options: CallOptions = {}): Promise<LuaValue[]> {
    try {
      if (typeof path !== "string") {
        throw new TypeError(
          `path must be a function's name or dotted path (call a function handle itself), got ${describe(path)}`,
        );
      }
      checkCallPath(path);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#submit((worker) => worker.call(path, options), options);
  }

  #submit(start: (worker: LuaWorker) => Promise<LuaValue[]>, options: CallOptions): Promise<LuaValue[]> {
    if (options === null || typeof options !== "object") {
      return Promise.reject(new TypeError(`options must be an object, got ${describe(options)}`));
    }
    if (this.#closing) return Promise.reject(new LuaPoolError("closed", "the LuaPool is closed"));
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return Promise.reject(new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`));
    }
    if (signal?.aborted) {
      return Promise.reject(new MtintError("interrupted", "aborted before it started", { cause: signal.reason }));
    }
    if (this.#idle.length === 0 && this.#queue.length >= this.#maxQueue) {
      return Promise.reject(
        new LuaPoolError("queue_full", `the LuaPool's queue is full (${this.#maxQueue} tasks waiting)`),
      );
    }
    return new Promise<LuaValue[]>((resolve, reject) => {
      const task: Task = { start, options, resolve, reject };
      if (signal) {
        task.onAbort = () => {
          const at = this.#queue.indexOf(task);
          if (at < 0) return; // running: the worker's run sees the signal
          this.#queue.splice(at, 1);
          this.#failed++;
          reject(new MtintError("interrupted", "aborted before it started", { cause: signal.reason }));
          this.#checkDrained();
        };
        signal.addEventListener("abort", task.onAbort, { once: true });
      }
      this.#queue.push(task);
      this.#dispatch();
    });
  }

  /** Counters, queue and task-time percentiles. */
  stats(): PoolStats {
    const sorted = [...this.#times].sort((a, b) => a - b);
    return {
      size: this.#size,
      busy: this.#busy.size,
      queued: this.#queue.length,
      completed: this.#completed,
      failed: this.#failed,
      replaced: this.#replaced,
      taskMs: sorted.length
        ? {
          p50: percentile(sorted, 0.5),
          p90: percentile(sorted, 0.9),
          p99: percentile(sorted, 0.99),
          max: sorted[sorted.length - 1],
        }
        : null,
    };
  }

  /**
   * Closes the pool: new tasks are refused; the queued and running ones
   * finish first (or, with `cancel`, reject), then every worker closes.
   */
  close(options: PoolCloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    if (options === null || typeof options !== "object") {
      return Promise.reject(new TypeError(`options must be an object, got ${describe(options)}`));
    }
    this.#closing = this.#shutdown(options.cancel === true);
    return this.#closing;
  }

  /** `await using pool = await LuaPool.create()` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutdown(cancel: boolean): Promise<void> {
    this.#cancelling = cancel;
    if (cancel) {
      for (const task of this.#queue.splice(0)) {
        this.#failed++;
        this.#settle(
          task,
          () =>
            task.reject(new MtintError("interrupted", "the LuaPool closed before this task ran", { cause: "close" })),
        );
      }
    }
    if (this.#queue.length || this.#busy.size || this.#starting) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        if (cancel) { for (const slot of this.#busy) slot.worker.close().catch(() => {}); }
      });
    }
    const workers = [...this.#idle, ...this.#busy].map((slot) => slot.worker);
    this.#idle = [];
    await Promise.allSettled(workers.map((w) => w.close()));
  }

  #checkDrained(): void {
    if (this.#drained && this.#queue.length === 0 && this.#busy.size === 0 && this.#starting === 0) {
      this.#drained();
    }
  }

  async #startWorker(): Promise<LuaWorker> {
    const worker = await LuaWorker.create(this.#options);
    try {
      if (this.#init !== undefined) await worker.run(this.#init, { name: "init" });
    } catch (err) {
      await worker.close().catch(() => {});
      throw err;
    }
    return worker;
  }

  #dispatch(): void {
    while (this.#idle.length && this.#queue.length) {
      const slot = this.#idle.shift()!;
      const task = this.#queue.shift()!;
      this.#start(slot, task);
    }
  }

  #settle(task: Task, finish: () => void): void {
    if (task.onAbort) task.options.signal!.removeEventListener("abort", task.onAbort);
    finish();
  }

  #start(slot: Slot, task: Task): void {
    this.#busy.add(slot);
    const started = performance.now();
    let retired = false;
    let watch: ReturnType<typeof setTimeout> | undefined;
    // A cancelled task unwinds in microseconds; one that does not within
    // retireAfter is stuck in a C function, and its worker goes.
    const watchCancellation = (after: number) => {
      watch ??= setTimeout(() => {
        retired = true;
        this.#failed++;
        this.#settle(task, () =>
          task.reject(
            new MtintError(
              "interrupted",
              `the task did not unwind within ${this.#retireAfter} ms; its worker was retired`,
              {
                cause: task.options.signal?.aborted ? task.options.signal.reason : "timeout",
              },
            ),
          ));
        this.#retire(slot);
      }, after);
    };
    const timeout = task.options.timeout ?? this.#options.timeout;
    if (timeout !== undefined && timeout !== Infinity) watchCancellation(timeout + this.#retireAfter);
    const onAbort = () => watchCancellation(this.#retireAfter);
    task.options.signal?.addEventListener("abort", onAbort, { once: true });
    // The worker's reset is queued before the task settles, so that the
    // function handles in its result are already those of a state that is
    // being reset when its caller sees them.
    const finished = (settle: () => void) => {
      clearTimeout(watch);
      task.options.signal?.removeEventListener("abort", onAbort);
      if (retired) return;
      this.#times.push(performance.now() - started);
      if (this.#times.length > TIMES_KEPT) this.#times.splice(0, this.#times.length - TIMES_KEPT);
      this.#recycle(slot);
      settle();
    };
    task.start(slot.worker).then(
      (values) =>
        finished(() => {
          this.#completed++;
          this.#settle(task, () => task.resolve(values));
        }),
      (err) =>
        finished(() => {
          this.#failed++;
          this.#settle(task, () => task.reject(err));
        }),
    );
  }

  /** Gets the worker ready for the next task, as `reset` says. */
  async #recycle(slot: Slot): Promise<void> {
    if (this.#cancelling) {
      this.#busy.delete(slot);
      this.#idle.push(slot);
      this.#checkDrained();
      return;
    }
    try {
      if (this.#reset !== "keep") await slot.worker.reset();
      if (this.#reset === "init" && this.#init !== undefined) await slot.worker.run(this.#init, { name: "init" });
    } catch {
      this.#retire(slot); // it cannot be trusted to serve again
      return;
    }
    this.#busy.delete(slot);
    this.#idle.push(slot);
    this.#dispatch();
    this.#checkDrained();
  }

  /** Gives the worker up (its thread may stay blocked) and starts another in its place. */
  #retire(slot: Slot): void {
    this.#busy.delete(slot);
    slot.worker.close({ grace: 0 }).catch(() => {});
    this.#replaced++;
    if (this.#cancelling) return this.#checkDrained();
    this.#starting++;
    this.#startWorker().then(
      (worker) => {
        this.#starting--;
        const fresh: Slot = { worker };
        this.#idle.push(fresh);
        this.#dispatch();
        this.#checkDrained();
      },
      () => {
        this.#starting--;
        // No replacement: the pool is a worker smaller; with none left,
        // the queued tasks would wait forever, so they fail.
        if (this.#idle.length + this.#busy.size + this.#starting === 0) {
          for (const task of this.#queue.splice(0)) {
            this.#failed++;
            this.#settle(task, () => task.reject(new Error("mtint: the LuaPool could not start a worker")));
          }
        }
        this.#checkDrained();
      },
    );
  }
}
