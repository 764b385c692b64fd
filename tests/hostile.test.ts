// The hostile catalogue (tests/hostile/*.ts): every case in a child process
// of this same runtime, so that a crash, an abort or a hang is a failed
// test, not a lost run. MTINT_HOSTILE_JOBS children run at once (default
// 2); MTINT_HOSTILE=stack,values limits the files.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "./harness.ts";
import { type HostileCase, isCaseFile } from "./hostile/case.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const env = (name: string): string | undefined => g.Deno ? g.Deno.env.get(name) : g.process.env[name];
const dir = new URL("./hostile/", import.meta.url);
const child = fileURLToPath(new URL("child.ts", dir));
const jobs = Number(env("MTINT_HOSTILE_JOBS") ?? 2);
const only = env("MTINT_HOSTILE")?.split(",");

interface Outcome {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  output: string;
  ms: number;
}

function runChild(file: string, c: HostileCase): Promise<Outcome> {
  const args = g.Deno
    ? ["run", "--no-check", "--allow-ffi", "--allow-read", "--allow-env", "--v8-flags=--expose-gc", child, file, c.name]
    : [child, file, c.name];
  const timeout = c.timeout ?? 60_000;
  const started = performance.now();
  return new Promise((resolve) => {
    const proc = spawn(g.Deno ? g.Deno.execPath() : g.process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    proc.stdout!.on("data", (d: Uint8Array) => output += String(d));
    proc.stderr!.on("data", (d: Uint8Array) => output += String(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill("SIGKILL");
    }, timeout);
    proc.on("close", (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, output, ms: performance.now() - started });
    });
  });
}

// A small pool: children start as the file loads, each test awaits its own.
let running = 0;
const waiting: (() => void)[] = [];
async function pooled<T>(work: () => Promise<T>): Promise<T> {
  if (running >= jobs) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function verdict(c: HostileCase, o: Outcome): string | null {
  const held = o.code === 0 && !o.timedOut;
  const what = o.timedOut
    ? `hung (killed after ${c.timeout ?? 60_000} ms)`
    : o.signal
    ? `crashed (signal ${o.signal})`
    : `failed (exit ${o.code})`;
  if (c.todo) return held ? `passes now, but is marked todo (${c.todo}): remove the todo` : null;
  return held ? null : `${what}\n${o.output}`;
}

const files = readdirSync(dir).filter(isCaseFile).filter((f) => !only || only.includes(f.replace(/\.ts$/, ""))).sort();
for (const file of files) {
  const { cases } = await import(new URL(file, dir).href) as { cases: HostileCase[] };
  const names = new Set<string>();
  for (const c of cases) {
    assert.ok(!names.has(c.name), `${file}: two cases named ${c.name}`);
    names.add(c.name);
    const outcome = pooled(() => runChild(file, c));
    outcome.catch(() => {});
    test(`hostile/${file.replace(/\.ts$/, "")}: ${c.name}${c.todo ? " (todo)" : ""}`, async () => {
      const o = await outcome;
      const failure = verdict(c, o);
      if (failure) throw new Error(failure);
      if (c.todo) console.log(`todo, still failing as expected: ${c.todo}`);
    }, (c.timeout ?? 60_000) * 2 + 10_000);
  }
}
