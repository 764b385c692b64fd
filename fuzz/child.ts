/**
 * Runs fuzz jobs in this process, one fresh LuaWorker each, and writes one
 * line per event to stdout: `start <id>` before a job, then
 * `result <json>` (a {@link Result}). A crash ends the process by a
 * signal; the parent (fuzz/main.ts) blames the job that started last.
 * A call or close that outlives its bound is reported and ends the process
 * (a stuck native thread cannot be reclaimed).
 *
 * Usage: child.ts <jobs.json>
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { interrupt, LuaError, LuaWorker, MtintError } from "../mod.ts";
import { type Action, BOUNDS, deadlineOf, type Job } from "./job.ts";
import { argv, exit } from "../scripts/process.ts";

/** What happened to one job. */
export interface Result {
  id: string;
  /** How the call settled. */
  outcome: "ok" | "lua-error" | "interrupted" | "type-error" | "other-error" | "hang";
  detail: string;
  /** The program's string result (deterministic jobs only). */
  value?: string;
  /** ms from run() to settling. */
  settledMs: number;
  /** ms after run() of the first cancellation Lua cannot catch, if any. */
  deadlineMs?: number;
  /** "resolved", "rejected: ...", "hang", or undefined when not closed. */
  close?: string;
  /** "ok", or what went wrong with `return 1 + 1` afterwards. */
  sanity?: string;
  /** ms the whole job took, creation included. */
  totalMs: number;
}

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const write = (line: string) => {
  if (g.Deno) g.Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
  else g.process.stdout.write(line + "\n");
};

// Bytes that are not UTF-8 come back as a Uint8Array; the stock
// interpreter's output is decoded the same way (fuzz/main.ts).
const text = (v: unknown) => v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v);
const sleep = (ms: number) => new Promise<"late">((resolve) => setTimeout(() => resolve("late"), ms));
const short = (s: string) => (s.length > 300 ? s.slice(0, 300) + "…" : s);

function describeError(err: unknown): { outcome: Result["outcome"]; detail: string } {
  if (err instanceof MtintError) return { outcome: "interrupted", detail: short(err.message) };
  if (err instanceof LuaError) return { outcome: "lua-error", detail: `${err.code}: ${short(err.message)}` };
  if (err instanceof TypeError || err instanceof RangeError) {
    return { outcome: "type-error", detail: short(err.message) };
  }
  return { outcome: "other-error", detail: short(err instanceof Error ? `${err.name}: ${err.message}` : String(err)) };
}

function abortReason(reason: Extract<Action, { kind: "signal" }>["reason"]): unknown {
  if (reason === "string") return "fuzz";
  if (reason === "error") return new Error("fuzz abort");
  if (reason === "object") return { why: "fuzz" };
  return undefined;
}

async function runJob(job: Job): Promise<Result> {
  const started = performance.now();
  const lua = await LuaWorker.create({ lua: job.lua, libs: job.libs, memoryLimit: job.memoryLimit });
  const timers: ReturnType<typeof setTimeout>[] = [];
  const later = (at: number, f: () => void) => timers.push(setTimeout(f, at));
  const deadline = deadlineOf(job.actions);
  let closing: Promise<string> | undefined;
  let closeGrace = 0;
  const controller = new AbortController();
  let timeout: number | undefined;
  for (const a of job.actions) {
    if (a.kind === "timeout") timeout = Math.min(timeout ?? Infinity, a.ms);
    if (a.kind === "signal" && a.at === 0) controller.abort(abortReason(a.reason));
  }
  const coroutineIds = job.actions.find((a) => a.kind === "coroutine-ids");
  if (coroutineIds?.kind === "coroutine-ids") {
    lua.addEventListener("message", (e) => {
      const id = (e as MessageEvent).data;
      if (typeof id !== "number") return;
      later(coroutineIds.at, () => {
        try {
          interrupt(id, coroutineIds.flag);
        } catch (err) {
          if (!(err instanceof MtintError)) throw err; // a coroutine already gone
        }
      });
    });
  }
  const t0 = performance.now();
  const call = lua.run(job.source, { name: "fz", timeout, signal: controller.signal });
  for (const a of job.actions) {
    if (a.kind === "signal" && a.at > 0) later(a.at, () => controller.abort(abortReason(a.reason)));
    if (a.kind === "interrupt") {
      later(a.at, () => {
        try {
          if (a.via === "worker") lua.interrupt(a.flag);
          else interrupt(lua.id, a.flag);
        } catch (err) {
          if (!closing) throw err; // after close(), the worker refuses: documented
        }
      });
    }
    if (a.kind === "close") {
      later(a.at, () => {
        if (closing) return;
        closeGrace = a.grace;
        closing = lua.close({ grace: a.grace }).then(
          () => "resolved",
          (e) => `rejected: ${short(String(e?.message ?? e))}`,
        );
      });
    }
  }
  let settledAt = 0;
  const settled = call.then(
    (values) => ({ outcome: "ok" as const, detail: "", value: job.diff ? text(values[0]) : undefined }),
    (err) => ({ ...describeError(err), value: undefined }),
  ).then((r) => {
    settledAt = performance.now() - t0;
    return r;
  });
  const bound = deadline !== undefined ? deadline + BOUNDS.hangMs : BOUNDS.slowMs;
  const first = await Promise.race([settled, sleep(bound)]);
  for (const t of timers) clearTimeout(t);
  const result: Result = {
    id: job.id,
    outcome: "hang",
    detail: `not settled ${bound} ms after run()`,
    settledMs: performance.now() - t0,
    deadlineMs: deadline,
    totalMs: 0,
  };
  if (first === "late") {
    result.totalMs = performance.now() - started;
    return result;
  }
  Object.assign(result, first, { settledMs: settledAt });
  if (closing) {
    const closeBound = 2 * closeGrace + BOUNDS.closeMs;
    const c = await Promise.race([closing, sleep(closeBound)]);
    result.close = c === "late" ? `hang: close() not settled ${closeBound} ms after the call` : c;
  } else {
    // Withdraw what the host left pending (interrupt(id, true) or a late once), then check the state.
    lua.interrupt(false);
    result.sanity = await sanity(lua);
    const c = await Promise.race([
      lua.close().then(() => "resolved", (e) => `rejected: ${short(String(e?.message ?? e))}`),
      sleep(2000 * 2 + BOUNDS.closeMs),
    ]);
    if (c !== "resolved") result.close = c === "late" ? "hang: close() after the job did not settle" : c;
  }
  result.totalMs = performance.now() - started;
  return result;
}

// The state must still work: `return 1 + 1` gives 2. A hook the program
// left may raise a few more times (the grammar's erroring hooks are
// bounded), and on 5.2, 5.3 and LuaJIT each collection may raise one
// failing finalizer's error, as in stock Lua (README: "Nothing carries
// over"): so tries until those are drained.
async function sanity(lua: LuaWorker): Promise<string> {
  let last = "";
  for (let i = 0, timeouts = 0; i < 50 && timeouts < 5; i++) {
    const r = await Promise.race([
      lua.run("return 1 + 1", { timeout: 3000 }).then(
        (v) => (v[0] === 2 ? "ok" : `returned ${JSON.stringify(v)}`),
        (e) => {
          const d = describeError(e);
          return `${d.outcome}: ${d.detail}`;
        },
      ),
      sleep(3000 + BOUNDS.hangMs),
    ]);
    if (r === "late") return "hang: return 1 + 1 did not settle";
    if (r === "ok") return "ok";
    if (r.startsWith("interrupted")) timeouts++;
    last = r;
  }
  return last;
}

const jobs = JSON.parse(readFileSync(argv[0], "utf8")) as Job[];
for (const job of jobs) {
  write(`start ${job.id}`);
  const r = await runJob(job);
  write(`result ${JSON.stringify(r)}`);
  if (r.outcome === "hang" || r.close?.startsWith("hang") || r.sanity?.startsWith("hang")) exit(3);
}
exit(0);
