/**
 * mtint: interruptible, real Lua for Deno and Bun.
 *
 * The system's Lua 5.1, 5.2, 5.3, 5.4 or LuaJIT runs in a Web Worker, one
 * state per {@link LuaWorker}; any thread interrupts a running state or
 * coroutine by its id, as the Lua rock `mtint` does for Lua threads.
 *
 * ```ts
 * import { LuaWorker, MtintError } from "./mod.ts";
 *
 * await using lua = await LuaWorker.create();
 * try {
 *   await lua.run("while true do end", { timeout: 100 });
 * } catch (err) {
 *   console.log(err instanceof MtintError && err.code); // "interrupted"
 * }
 * console.log(await lua.run("return 1 + 1")); // [2]: the state lives on
 * ```
 *
 * @module
 */
import {
  type LibraryLocation,
  libraryLocation,
  loadableVersions,
  type LuaVersion,
  openCore,
  type VersionStatus,
  versionStatus,
} from "./ffi/mod.ts";
import { checkId, interruptedHere, modeOf } from "./src/lua_worker.ts";
import { MtintError } from "./src/errors.ts";
// The worker's module is reached only through `new Worker(url)`: this edge
// (erased at run time) puts it in the module graph, so that `deno cache`
// fetches it and a later --cached-only run can start workers.
import type {} from "./src/worker.ts";

export { LuaWorker } from "./src/lua_worker.ts";
export type {
  CallOptions,
  CloseOptions,
  InterruptScope,
  LuaFunction,
  LuaWorkerOptions,
  MemoryStats,
  ResetOptions,
  RunOptions,
} from "./src/lua_worker.ts";
export type { LuaFrame, LuaStack, Profile, ProfileOptions, ProfileResult, StackOptions } from "./src/inspect.ts";
export { LuaPool, LuaPoolError } from "./src/pool.ts";
export type {
  LuaPoolErrorCode,
  LuaPoolOptions,
  PoolCloseOptions,
  PoolReset,
  PoolStats,
  PoolTaskTimes,
} from "./src/pool.ts";
export { error, LuaError, MtintError } from "./src/errors.ts";
export type { LuaErrorCode, LuaErrorDetails, MtintErrorCode, MtintErrorOptions } from "./src/errors.ts";
export type { LuaInput, LuaValue } from "./src/codec.ts";
export { MAX_HANDLES } from "./src/handles.ts";
export type { LuaFunctionHandle } from "./src/handles.ts";
export { LUA_VERSIONS } from "./ffi/mod.ts";
export type { LibraryLocation, LibrarySource, LuaVersion, VersionStatus } from "./ffi/mod.ts";

/**
 * Interrupts the Lua main state or coroutine `id`, from any thread, as
 * `mtint.interrupt(id, flag)` does in Lua: once (no flag), at every
 * instruction (true), or no longer (false). Throws an {@link MtintError}
 * ("unknown_object") when no live state or coroutine has that id.
 */
export function interrupt(id: number, flag?: boolean): boolean {
  checkId(id);
  const mode = modeOf(flag);
  if (openCore().interrupt(id, mode) < 0) throw new MtintError("unknown_object", `interruptible id ${id}`);
  if (flag !== false) interruptedHere(id);
  return true;
}

/**
 * The Lua versions that load here: their library is present and their Lua
 * runtime is installed. Throws, saying why for each version, when none
 * does; {@link diagnostics} tells why one is missing.
 */
export function versions(): LuaVersion[] {
  return loadableVersions();
}

/**
 * Where the native libraries were found and, per Lua version, the runtime
 * library it is bound to or why it does not load. Throws when the native
 * libraries themselves are missing or cannot load (the error says why).
 */
export function diagnostics(): { libraries: LibraryLocation; versions: VersionStatus[] } {
  return { libraries: libraryLocation(), versions: versionStatus() };
}

/** CLOCK_MONOTONIC in ns, the clock of `require("host").clock()` (seconds) in Lua. */
export function nowNs(): number {
  return openCore().nowNs();
}

/** Counts of live registry entries in this process, for leak checks. */
export function registryStats(): { ids: number; states: number } {
  const core = openCore();
  return { ids: core.liveIds(), states: core.liveStates() };
}
