/**
 * Looking inside a running call from the thread that owns the LuaWorker:
 * its stack, a sampling profile, pause and resume (csrc/core/inspect.c has
 * the native side and its races, csrc/lua/inspect.c the hook's).
 *
 * The worker's JavaScript is blocked while Lua runs, so nothing here goes
 * through its event loop: a request sets a bit in the core and arms the
 * running state's hook; the hook leaves its answer in C memory, which this
 * side polls through FFI without blocking (on each turn of the event loop
 * at first, src/next_turn.ts, then every ms), kicking again now and then
 * in case the arm was undone by the VM itself.
 *
 * @module
 */
import type { CoreLib } from "../ffi/mod.ts";
import { flameGraph } from "./flamegraph.ts";
import { nextTurn } from "./next_turn.ts";

/** One frame of {@link LuaWorker.stack}, as `debug.getinfo` describes it. */
export interface LuaFrame {
  /** The function's name as Lua knows it from the call site (`getinfo(..., "n").name`), null when it has none; at most 200 bytes. */
  name: string | null;
  /** Where the function is defined, as tracebacks print it (`short_src`): the chunk name, a file, or `[C]`. */
  source: string;
  /** The line running in that frame (`currentline`); -1 for C functions. */
  line: number;
  /** `"Lua"`, `"C"`, `"main"` (a chunk) or, on 5.1 and LuaJIT, `"tail"`. */
  what: "Lua" | "C" | "main" | "tail";
}

/** What {@link LuaWorker.stack} resolves to while a call runs. */
export interface LuaStack {
  /** The frames, innermost first, across the coroutines the call is resuming; at most 200 (the innermost). */
  frames: LuaFrame[];
  /** There were more frames than `frames` holds. */
  truncated: boolean;
  /**
   * The state did not reach its next Lua instruction within `wait` ms: it
   * is inside a C function (a long `string.rep`, a host function, a
   * blocked `recv`) or runs where hooks are off. `frames` is then empty:
   * no other thread may read a running state's frames.
   */
  inC: boolean;
}

/** Options of {@link LuaWorker.stack}. */
export interface StackOptions {
  /** How long to wait, in ms, for the state to reach its next Lua instruction. Default: 250. */
  wait?: number;
}

/** Options of {@link LuaWorker.profile}. */
export interface ProfileOptions {
  /** Samples per second, 1 to 10000. Default: 100. */
  hz?: number;
}

/** What {@link Profile.stop} resolves to. */
export interface ProfileResult {
  /** Samples taken (ticks that found a call running and reached its next instruction). */
  samples: number;
  /** One line per distinct stack, `outer;inner count`, frames named `name (source:line)` with the line where the function is defined; most samples first. */
  folded: string;
  /** A self-contained SVG flame graph of `folded` (hover a frame for its samples). */
  svg: string;
}

/** A running profile of one LuaWorker ({@link LuaWorker.profile}). */
export interface Profile {
  /** Stops sampling and returns what was collected. Rejects if the worker closed or was reset meanwhile. */
  stop(): Promise<ProfileResult>;
}

const WHATS = ["Lua", "C", "main", "tail"] as const;
const text = new TextDecoder();
// The hook answers within 2-50 µs of the request (a signal on 5.4 and
// LuaJIT): the first FAST_MS are polled on each turn of the event loop
// (2-6 µs apart), then every SLOW_MS (timers; a running C function can
// keep the answer away for long). Kicks again every KICK_MS.
const FAST_MS = 2;
const SLOW_MS = 1;
const KICK_MS = 0.2;

/** Polls `probe` until it returns a value (not undefined), yielding between polls. */
async function poll<T>(core: CoreLib, id: number, probe: () => T | undefined): Promise<T> {
  const start = performance.now();
  let kicked = start;
  for (;;) {
    const got = probe();
    if (got !== undefined) return got;
    const now = performance.now();
    if (now - kicked >= KICK_MS) {
      core.inspectKick(id);
      kicked = now;
    }
    await (now - start < FAST_MS ? nextTurn() : new Promise((resolve) => setTimeout(resolve, SLOW_MS)));
  }
}

/** Decodes the hook's stack answer (layout in csrc/lua/inspect.c). */
export function decodeStack(bytes: Uint8Array): LuaStack {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: LuaFrame[] = [];
  if (bytes.length < 5) return { frames, truncated: false, inC: false };
  const count = view.getUint32(0, true);
  let at = 5;
  for (let i = 0; i < count; i++) {
    const line = view.getInt32(at, true);
    const what = WHATS[bytes[at + 4]] ?? "C";
    const nameLen = view.getUint16(at + 5, true);
    const sourceLen = view.getUint16(at + 7, true);
    at += 9;
    const name = nameLen === 0xFFFF ? null : text.decode(bytes.subarray(at, at += nameLen));
    const source = text.decode(bytes.subarray(at, at += sourceLen));
    frames.push({ name, source, line, what });
  }
  return { frames, truncated: bytes[4] !== 0, inC: false };
}

/** Errors the core's answers map to. */
function gone(): TypeError {
  return new TypeError("LuaWorker is closed");
}

/** lua.stack(): see LuaWorker.stack. */
export async function stackOf(core: CoreLib, id: number, options: StackOptions): Promise<LuaStack | null> {
  const wait = options.wait ?? 250;
  if (typeof wait !== "number" || !(wait >= 0)) throw new RangeError(`wait must be a number of ms >= 0, got ${wait}`);
  const ticket = core.stackAsk(id);
  if (ticket < 0) throw gone();
  if (ticket === 0) return null;
  const start = performance.now();
  let out = new Uint8Array(4096);
  return await poll(core, id, () => {
    for (;;) {
      const n = core.stackRead(id, ticket, out);
      if (n > out.length) out = new Uint8Array(n);
      else if (n >= 0) return decodeStack(out.subarray(0, n));
      else if (n === -3 || n === -1) return null; // the call ended (-1: with its state, closed or reset)
      else if (performance.now() - start >= wait) return { frames: [], truncated: false, inC: true };
      else return undefined;
    }
  });
}

/** lua.pause(): see LuaWorker.pause. */
export async function pauseOf(core: CoreLib, id: number): Promise<boolean> {
  const asked = core.pause(id);
  if (asked < 0) throw gone();
  if (asked === 0) return false;
  return await poll(core, id, () => {
    const state = core.pauseState(id);
    return state === 1 ? true : state === 2 || state === -1 ? false : undefined; // -1: closed or reset meanwhile
  });
}

/** lua.resume(): see LuaWorker.resume. */
export function resumeOf(core: CoreLib, id: number): boolean {
  const was = core.resume(id);
  if (was < 0) throw gone();
  return was === 1;
}

/** lua.profile(): see LuaWorker.profile. */
export function profileOf(core: CoreLib, id: number, options: ProfileOptions): Profile {
  const hz = options.hz ?? 100;
  if (typeof hz !== "number" || !(hz >= 1 && hz <= 10000)) {
    throw new RangeError(`hz must be a number from 1 to 10000, got ${hz}`);
  }
  const started = core.profileStart(id, 1000 / hz);
  if (started === -1) throw gone();
  if (started === -2) throw new Error("mtint: this LuaWorker is already being profiled (stop that profile first)");
  if (started !== 0) throw new Error("mtint: the native watchdog could not schedule the profile");
  let result: Promise<ProfileResult> | undefined;
  const collect = (): ProfileResult => {
    const out = new Float64Array(2);
    const stopped = core.profileStop(id, out);
    if (stopped === -1) throw new TypeError("LuaWorker closed or was reset while profiling");
    if (stopped !== 0) throw new Error("mtint: out of memory collecting the profile");
    const bytes = new Uint8Array(out[1]);
    const n = core.profileText(id, bytes);
    const lines = text.decode(bytes.subarray(0, Math.max(0, n))).split("\n").filter((l) => l !== "");
    const counted = lines.map((l) => [l, Number(l.slice(l.lastIndexOf(" ") + 1))] as const);
    counted.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const folded = counted.map(([l]) => `${l}\n`).join("");
    return { samples: out[0], folded, svg: flameGraph(folded, `${out[0]} samples at ${hz} Hz`) };
  };
  return {
    stop() {
      result ??= new Promise<ProfileResult>((resolve) => resolve(collect()));
      return result;
    },
  };
}
