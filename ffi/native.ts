/**
 * What the rest of mtint sees of the native libraries, whichever runtime
 * loads them (ffi/deno.ts, ffi/bun.ts).
 *
 * @module
 */
import type { callbackSymbols, coreSymbols, luaSymbols, Signature } from "./symbols.ts";
import type { BindResult } from "./lua_runtime.ts";

/** An opaque native pointer (a Deno pointer object, a Bun number). */
export type Pointer = unknown;

/** The process-wide registry, loaded on any thread. */
export interface CoreLib {
  interrupt(id: number, mode: number): number;
  interruptCall(id: number, seq: number): number;
  send(id: number, bytes: Uint8Array): number;
  reply(id: number, token: number, bytes: Uint8Array): number;
  /** Tells the state `id` that `bytes` of what it posted were taken (host.post waits past a budget). */
  postsTaken(id: number, bytes: number): number;
  memoryUsed(id: number): number;
  /** Fills `out` (4 doubles): used, peak, allocations, limit; -1 for an unknown id. */
  memory(id: number, out: Float64Array): number;
  cpuNs(id: number): number;
  /** Inspection (csrc/core/inspect.c, src/inspect.ts): the C results as they are. */
  stackAsk(id: number): number;
  stackRead(id: number, ticket: number, out: Uint8Array): number;
  inspectKick(id: number): number;
  pause(id: number): number;
  pauseState(id: number): number;
  resume(id: number): number;
  profileStart(id: number, periodMs: number): number;
  profileStop(id: number, out: Float64Array): number;
  profileText(id: number, out: Uint8Array): number;
  nowNs(): number;
  liveIds(): number;
  liveStates(): number;
}

/** The core's functions as either runtime's dlopen returns them. */
// deno-lint-ignore no-explicit-any
export type CoreFunctions = { readonly [name in keyof typeof coreSymbols]: (...args: any[]) => any };

/** Wraps the core's functions; the same for both runtimes. */
export function wrapCore(s: CoreFunctions): CoreLib {
  return {
    interrupt: (id, mode) => s.mtint_interrupt(id, mode),
    interruptCall: (id, seq) => s.mtint_interrupt_call(id, seq),
    send: (id, bytes) => s.mtint_send(id, nonEmpty(bytes), bytes.length),
    reply: (id, token, bytes) => s.mtint_reply(id, token, nonEmpty(bytes), bytes.length),
    postsTaken: (id, bytes) => s.mtint_posts_taken(id, bytes),
    memoryUsed: (id) => s.mtint_memory_used(id),
    memory: (id, out) => s.mtint_memory(id, out),
    cpuNs: (id) => s.mtint_cpu_ns(id),
    stackAsk: (id) => s.mtint_stack_ask(id),
    stackRead: (id, ticket, out) => s.mtint_stack_read(id, ticket, nonEmpty(out), out.length),
    inspectKick: (id) => s.mtint_inspect_kick(id),
    pause: (id) => s.mtint_pause(id),
    pauseState: (id) => s.mtint_pause_state(id),
    resume: (id) => s.mtint_resume(id),
    profileStart: (id, periodMs) => s.mtint_profile_start(id, periodMs),
    profileStop: (id, out) => s.mtint_profile_stop(id, out),
    profileText: (id, out) => s.mtint_profile_text(id, nonEmpty(out), out.length),
    nowNs: () => s.mtint_now_ns(),
    liveIds: () => s.mtint_live_ids(),
    liveStates: () => s.mtint_live_universes(),
  };
}

// Deno may pass a zero-length buffer to C as NULL, and bun:ffi refuses one.
const oneByte = new Uint8Array(1);

/** `bytes`, or a one-byte buffer in place of an empty one (C reads the length). */
export function nonEmpty(bytes: Uint8Array): Uint8Array {
  return bytes.length ? bytes : oneByte;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Calls mth_lua_open with a NUL-terminated path and decodes its message. */
export function bindWith(open: (path: Uint8Array, err: Uint8Array, size: number) => number, path: string): BindResult {
  const err = new Uint8Array(4096);
  const status = open(utf8.encode(`${path}\0`), err, err.length);
  const end = err.indexOf(0);
  return { status, message: text.decode(err.subarray(0, end < 0 ? err.length : end)) };
}

/** Callbacks from a running state into the worker's JavaScript. */
export interface HostCallbacks {
  /** 0, or nonzero when the text could not be written. */
  print(text: Uint8Array): number;
  /** 0, or nonzero when the value could not be posted. */
  post(bytes: Uint8Array): number;
  /** Returns HOST_CALL_OK after mth_reply with the results, HOST_CALL_ERROR with the message, or HOST_CALL_WAIT with an answer token (src/protocol.ts). */
  call(fn: number, args: Uint8Array): number;
}

/** One Lua version's host API, loaded by a worker. */
export interface LuaLib {
  /** Binds the library to the Lua runtime at `path` (mth_lua_open). */
  bindRuntime(path: string): BindResult;
  create(memoryLimit: number, flags: number): Pointer | null;
  /** Installs the callbacks; the returned function frees them. */
  callbacks(state: Pointer, callbacks: HostCallbacks): () => void;
  /** 0, or -1 when the state is out of memory. */
  define(state: Pointer, index: number, name: Uint8Array): number;
  reply(state: Pointer, bytes: Uint8Array): void;
  /** Lets the state's scripts reach the state with main id `id`: 0, -1 not a live state's id, -2 out of memory. */
  grant(state: Pointer, id: number): number;
  id(state: Pointer): number;
  version(): string;
  engine(): string;
  /** Runs a chunk; returns the length of its result, whose bytes are in
   * `into` when they fit, and otherwise read with {@link result}. */
  run(
    state: Pointer,
    seq: number,
    chunk: Uint8Array,
    name: Uint8Array,
    args: Uint8Array,
    timeoutMs: number,
    cpuLimitMs: number,
    into: Uint8Array,
  ): number;
  /** Calls the function at a dotted path (empty: the handle that is the
   * first argument); returns the length of its result, as {@link run}. */
  call(
    state: Pointer,
    seq: number,
    path: Uint8Array,
    args: Uint8Array,
    timeoutMs: number,
    cpuLimitMs: number,
    into: Uint8Array,
  ): number;
  /** A copy of the last run's or call's result of `length` bytes, when it did not fit its `into`. */
  result(state: Pointer, length: number): Uint8Array;
  /** Drops function handles; returns how many stay live. */
  release(state: Pointer, ids: Float64Array): number;
  close(state: Pointer, seq: number): void;
}

/** The host API's functions as either runtime's dlopen returns them. */
// deno-lint-ignore no-explicit-any
export type LuaFunctions = { readonly [name in keyof typeof luaSymbols]: (...args: any[]) => any };

/** What a runtime adds to its dlopen'd host API for {@link wrapLua}. */
export interface LuaBinding {
  symbols: LuaFunctions;
  /** A copy of `len` bytes at `ptr` (empty for a null pointer). */
  copyOut(ptr: Pointer, len: number): Uint8Array;
  /** The NUL-terminated string at `ptr`. */
  cString(ptr: Pointer): string;
  /** A native callback of `signature` calling `fn`: its pointer, and how to free it. */
  callback(
    signature: typeof callbackSymbols[keyof typeof callbackSymbols] & Signature,
    // deno-lint-ignore no-explicit-any
    fn: (...args: any[]) => number,
  ): { pointer: Pointer; close(): void };
}

/** Wraps the host API; the same for both runtimes. */
export function wrapLua(b: LuaBinding, signatures: typeof callbackSymbols): LuaLib {
  const s = b.symbols;
  return {
    bindRuntime: (runtime) => bindWith((path, err, size) => s.mth_lua_open(path, err, size), runtime),
    create: (limit, flags) => s.mth_create(limit, flags),
    callbacks(state, cb) {
      const print = b.callback(signatures.print, (ptr, len) => cb.print(b.copyOut(ptr, len)));
      const post = b.callback(signatures.post, (ptr, len) => cb.post(b.copyOut(ptr, len)));
      const call = b.callback(signatures.call, (fn, ptr, len) => cb.call(fn, b.copyOut(ptr, len)));
      s.mth_callbacks(state, print.pointer, post.pointer, call.pointer);
      return () => {
        print.close();
        post.close();
        call.close();
      };
    },
    define: (state, index, name) => s.mth_define(state, index, nonEmpty(name), name.length),
    grant: (state, id) => s.mth_grant(state, id),
    reply: (state, bytes) => s.mth_reply(state, nonEmpty(bytes), bytes.length),
    id: (state) => s.mth_id(state),
    version: () => b.cString(s.mth_version()),
    engine: () => b.cString(s.mth_engine()),
    run: (state, seq, chunk, name, args, timeoutMs, cpuLimitMs, into) =>
      s.mth_run(
        state,
        seq,
        nonEmpty(chunk),
        chunk.length,
        nonEmpty(name),
        name.length,
        nonEmpty(args),
        args.length,
        timeoutMs,
        cpuLimitMs,
        nonEmpty(into),
        into.length,
      ),
    call: (state, seq, path, args, timeoutMs, cpuLimitMs, into) =>
      s.mth_call(
        state,
        seq,
        nonEmpty(path),
        path.length,
        nonEmpty(args),
        args.length,
        timeoutMs,
        cpuLimitMs,
        nonEmpty(into),
        into.length,
      ),
    result: (state, length) => b.copyOut(s.mth_result(state), length),
    release: (state, ids) =>
      s.mth_release(state, nonEmpty(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength)), ids.length),
    close: (state, seq) => s.mth_close(state, seq),
  };
}

/** A runtime's way to open the two kinds of library. */
export interface Loader {
  openCore(path: string): CoreLib;
  openLua(path: string): LuaLib;
}
