/**
 * The options of a LuaWorker and their checks: what `create`, `run`,
 * `reset` and `close` accept, and the settings they turn into. Every check
 * throws a TypeError or RangeError that names the option and the value.
 *
 * @module
 */
import { loadableVersions, LUA_VERSIONS, type LuaVersion } from "../ffi/mod.ts";
import type { LuaInput, LuaValue } from "./codec.ts";
import { MtintError } from "./errors.ts";
import { FLAG_FULL_LIBS, FLAG_JIT, FLAG_REACH_ALL, MODE_ALWAYS, MODE_NONE, MODE_ONCE } from "./protocol.ts";
import type { LuaWorker } from "./lua_worker.ts";

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

const NEWEST_FIRST: readonly LuaVersion[] = ["5.4", "5.3", "5.2", "5.1", "luajit"];
const MAX_ID = Number.MAX_SAFE_INTEGER;
const CREATE_TIMEOUT = 30_000;
const GRACE = 2000;

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
  if (flag === undefined) return MODE_ONCE;
  if (typeof flag !== "boolean") throw new TypeError(`flag must be a boolean or undefined, got ${describe(flag)}`);
  return flag ? MODE_ALWAYS : MODE_NONE;
}

/** Checks that `options` is an object (an options bag). */
export function checkObject(options: unknown, what = "options"): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${what} must be an object, got ${describe(options)}`);
  }
}

/** A positive number of ms (Infinity for none), or undefined. */
export function checkTimeout(timeout: unknown, what: string): number | undefined {
  if (timeout === undefined) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout <= 0) {
    throw new RangeError(`${what} must be a positive number of ms (Infinity for none), got ${describe(timeout)}`);
  }
  return timeout;
}

/** The `grace` of reset() and close(): a number of ms >= 0, 2000 by default. */
export function checkGrace(grace: unknown): number {
  grace ??= GRACE;
  if (typeof grace !== "number" || !(grace >= 0)) {
    throw new RangeError(`grace must be a number of ms >= 0, got ${describe(grace)}`);
  }
  return grace;
}

/** Checks a `signal` option; throws "interrupted" when it has already aborted. */
export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  }
  if (signal?.aborted) throw new MtintError("interrupted", "aborted before it started", { cause: signal.reason });
  return signal;
}

/** Checks the name of a creator's function: host.<name> in Lua. */
export function checkFunctionName(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new TypeError(`function names must be Lua identifiers, got ${JSON.stringify(name)}`);
  }
}

/** The scope option as a flag and the main ids granted; `workerId` gives a
 * LuaWorker's id (undefined for anything else). */
function checkScope(scope: unknown, workerId: (entry: unknown) => number | undefined): {
  all: boolean;
  grants: number[];
} {
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
    workerId(entry) ?? checkId(entry, `interrupts[${i}] (a LuaWorker or its id)`)
  );
  return { all: false, grants };
}

/** What {@link checkCreateOptions} makes of the options. */
export interface CreateSettings {
  lua: LuaVersion;
  luaRuntime: string | undefined;
  memoryLimit: number;
  /** FLAG_* of mth_create. */
  flags: number;
  grants: number[];
  /** The host module's URL. */
  host: string | undefined;
  functions: Record<string, LuaFunction>;
  timeout: number | undefined;
  createTimeout: number;
  signal: AbortSignal | undefined;
}

/** Checks the options of create(); `workerId` tells a LuaWorker's id. */
export function checkCreateOptions(
  options: LuaWorkerOptions,
  workerId: (entry: unknown) => number | undefined,
): CreateSettings {
  checkObject(options);
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
  const scope = checkScope(options.interrupts, workerId);
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
  const signal = checkSignal(options.signal);
  const flags = (libs === "full" ? FLAG_FULL_LIBS : 0) | (options.jit ? FLAG_JIT : 0) |
    (scope.all ? FLAG_REACH_ALL : 0);
  return {
    lua,
    luaRuntime: options.luaRuntime,
    memoryLimit,
    flags,
    grants: scope.grants,
    host,
    functions,
    timeout,
    createTimeout,
    signal,
  };
}

/** Options of {@link LuaWorker.call}: those of {@link RunOptions} but the chunk's name. */
export type CallOptions = Omit<RunOptions, "name">;

// A path: Lua names joined by dots (csrc/lua/host.c checks it too).
const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Checks the path of a function to call: a Lua name, or names joined by dots. */
export function checkCallPath(path: string): string {
  if (!PATH.test(path)) {
    throw new TypeError(
      `call: ${JSON.stringify(path)} is not a Lua name or a dotted path of names (like "game.update")`,
    );
  }
  return path;
}

/** What {@link checkRunOptions} makes of run()'s options (the chunk's
 * arguments are checked, and encoded, by the caller). */
export interface RunSettings {
  args: readonly LuaInput[];
  name: string;
  /** ms, -1 for none. */
  timeout: number;
  /** ms, -1 for none. */
  cpuLimit: number;
  signal: AbortSignal | undefined;
}

/** Checks run()'s chunk and options; `timeout` is the worker's default. */
export function checkRunOptions(chunk: unknown, options: RunOptions, timeout: number | undefined): RunSettings {
  if (typeof chunk !== "string") throw new TypeError(`chunk must be a string of Lua code, got ${describe(chunk)}`);
  checkObject(options);
  const args = options.args ?? [];
  if (!Array.isArray(args)) throw new TypeError(`args must be an array, got ${describe(args)}`);
  const name = options.name ?? "chunk";
  if (typeof name !== "string") throw new TypeError(`name must be a string, got ${describe(name)}`);
  const ms = checkTimeout(options.timeout, "timeout") ?? timeout;
  const cpuLimit = checkTimeout(options.cpuLimit, "cpuLimit");
  const orNone = (n: number | undefined) => n === undefined || n === Infinity ? -1 : n;
  return { args, name, timeout: orNone(ms), cpuLimit: orNone(cpuLimit), signal: checkSignal(options.signal) };
}
