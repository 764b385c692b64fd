/**
 * What every benchmark section shares: the result record, statistics,
 * clocks, the machine description, process memory, and small helpers that
 * behave the same under Deno and Bun.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { LuaVersion, LuaWorker } from "../mod.ts";
import { nowNs } from "../mod.ts";
import type { Machine } from "./common.ts";

export * from "./common.ts";

/** "deno" or "bun". */
export const RUNTIME: "deno" | "bun" = "Deno" in globalThis ? "deno" : "bun";

/** The checkout's root directory (where zig-out/ lives). */
export const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** bench/ itself. */
export const BENCH = fileURLToPath(new URL("./", import.meta.url));

/** Reads a /proc file, "" when it cannot (not Linux). */
function proc(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    // Deno wants --allow-all for most of /proc; --allow-run lets cat read it.
    const r = spawnSync("cat", [path], { encoding: "utf8" });
    return r.status === 0 ? r.stdout : "";
  }
}

/** kB figure of a /proc/meminfo line. */
function meminfo(key: string): number {
  const m = proc("/proc/meminfo").match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) * 1024 : NaN;
}

// From /proc rather than node:os, which Deno gates behind --allow-sys.
export function machine(): Machine {
  const os = proc("/etc/os-release").match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1] ?? "unknown";
  const cpu = proc("/proc/cpuinfo").match(/^model name\s*:\s*(.*)$/m)?.[1]?.trim() ?? "unknown";
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    memoryGB: Math.round(meminfo("MemTotal") / 2 ** 30 * 10) / 10,
    kernel: proc("/proc/sys/kernel/osrelease").trim() || "unknown",
    os,
    loadBefore: proc("/proc/loadavg").split(" ").slice(0, 3).map(Number),
  };
}

/** The runtime's version string. */
export function runtimeVersion(): string {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  return RUNTIME === "deno" ? `Deno ${g.Deno.version.deno}` : `Bun ${g.Bun.version}`;
}

/** Free memory, to warn when the registry benchmark cannot fit. */
export function freeGB(): number {
  return meminfo("MemAvailable") / 2 ** 30;
}

// ---------------------------------------------------------------- time

export { nowNs };

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Busy-waits `us` microseconds (keeps the thread on its CPU). */
export function spin(us: number): void {
  const until = nowNs() + us * 1e3;
  while (nowNs() < until) { /* spin */ }
}

/** Lets the event loop run queued tasks and messages. */
export function yieldLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

// ---------------------------------------------------------------- memory

/**
 * glibc's malloc_trim(0), through FFI: returns the free memory of every
 * malloc arena to the system, so that VmRSS deltas show live memory (freed
 * blocks are otherwise kept, and the next allocations reuse them without
 * growing the RSS). A no-op where libc cannot be opened.
 */
let trim: (() => void) | undefined;
async function openTrim(): Promise<() => void> {
  try {
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    if (g.Deno) {
      const lib = g.Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } });
      return () => void lib.symbols.malloc_trim(0n);
    }
    const ffi = "bun:ffi"; // computed: Deno must not resolve it
    const { dlopen } = await import(ffi);
    const lib = dlopen("libc.so.6", { malloc_trim: { args: ["u64"], returns: "i32" } });
    return () => void lib.symbols.malloc_trim(0);
  } catch {
    return () => {};
  }
}

/** Collects JS garbage when the runtime lets us (Bun.gc; Deno with --v8-flags=--expose-gc). */
export function collectJs(): void {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Bun) g.Bun.gc(true);
  else if (typeof g.gc === "function") g.gc();
}

/** The process's resident set size in bytes (VmRSS: Deno.memoryUsage, process.memoryUsage), after malloc_trim. */
export async function rssBytes(): Promise<number> {
  trim ??= await openTrim();
  trim();
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  return g.Deno ? g.Deno.memoryUsage().rss : g.process.memoryUsage().rss;
}

// ---------------------------------------------------------------- workers

/** One persistent reader of a LuaWorker's messages. */
export class Inbox {
  #it: AsyncIterableIterator<unknown>;
  constructor(lua: LuaWorker) {
    this.#it = lua.messages() as AsyncIterableIterator<unknown>;
  }
  async next(): Promise<unknown> {
    const r = await this.#it.next();
    if (r.done) throw new Error("the LuaWorker closed");
    return r.value;
  }
}

/** Reads a Lua source file under bench/. */
export function luaSource(rel: string): string {
  return readFileSync(BENCH + rel, "utf8");
}

// ---------------------------------------------------------------- stock interpreters

/** The stock interpreter of a version, and the flags the comparison needs. */
export function stockCommand(version: string): { bin: string; flags: string[] } | undefined {
  const table: Record<string, { bin: string; flags: string[] }> = {
    "5.1": { bin: "lua5.1", flags: [] },
    "5.2": { bin: "lua5.2", flags: [] },
    "5.3": { bin: "lua5.3", flags: [] },
    "5.4": { bin: "lua5.4", flags: [] },
    // A LuaWorker runs LuaJIT with the JIT off unless asked: compare like with like.
    luajit: { bin: "luajit", flags: ["-joff"] },
    "luajit+jit": { bin: "luajit", flags: ["-jon"] },
  };
  const c = table[version];
  if (!c) return undefined;
  const probe = spawnSync(c.bin, ["-v"], { encoding: "utf8" });
  return probe.error ? undefined : c;
}

/** Runs a command and returns its wall time in seconds (throws on failure). */
export function timedSpawn(
  bin: string,
  args: string[],
  env?: Record<string, string>,
): { seconds: number; stdout: string } {
  const t0 = nowNs();
  const r = spawnSync(bin, args, {
    encoding: "utf8",
    env: env ? { ...processEnv(), ...env } : undefined,
    maxBuffer: 64 * 2 ** 20,
  });
  const seconds = (nowNs() - t0) / 1e9;
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return { seconds, stdout: r.stdout };
}

function processEnv(): Record<string, string> {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  return g.Deno ? g.Deno.env.toObject() : { ...g.process.env };
}

/** Runs a bench/ script in a fresh process of the current runtime; returns its stdout. */
export function runChild(script: string, args: string[]): string {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  const [bin, argv] = g.Deno
    ? [g.Deno.execPath(), [
      "run",
      "--allow-ffi",
      "--allow-read",
      "--allow-env",
      "--allow-run",
      "--allow-write",
      BENCH + script,
    ]]
    : [g.process.execPath, [BENCH + script]];
  const r = spawnSync(bin, [...argv, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${script} ${args.join(" ")} failed (${r.status})`);
  return r.stdout;
}

/** The mtint library directory of a version, for LUA_CPATH. */
export function libDir(version: LuaVersion): string {
  const dir = `${ROOT}zig-out/lib/${version}`;
  if (!existsSync(`${dir}/mtint.so`)) throw new Error(`no ${dir}/mtint.so`);
  return dir;
}

// ---------------------------------------------------------------- printing

/** Progress on stderr, so that stdout stays the tables. */
export function log(...parts: unknown[]): void {
  console.error(`[${RUNTIME}]`, ...parts);
}
