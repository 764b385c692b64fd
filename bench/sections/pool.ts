/**
 * A server's load (issue 15): many short untrusted scripts, 1 % of them
 * runaways, each with a 50 ms timeout, on a pool of workers. mtint's
 * LuaPool against what a user builds with wasmoon: Web Workers holding an
 * engine (a fresh one per task, or one reused), a runaway stopped by
 * terminate() and a new worker. Every runaway must be stopped and every
 * other task answered with the right value. Also reset() times.
 *
 * @module
 */
import { LuaPool, type LuaVersion, LuaWorker, MtintError } from "../../mod.ts";
import type { AltName } from "../alternatives.ts";
import { nowNs, percentiles, type Results } from "../lib.ts";

/** Task i: a runaway every 100th, else a short script whose answer is known. */
export function poolTask(i: number): { source: string; runaway: boolean; expect: number } {
  if (i % 100 === 42) return { source: "while true do end", runaway: true, expect: 0 };
  return {
    source: `local s = 0 for i = 1, ${i % 50 + 10} do s = s + i end return s`,
    runaway: false,
    expect: ((i % 50 + 10) * (i % 50 + 11)) / 2,
  };
}

export const POOL_TIMEOUT_MS = 50;

/** Checks one task's outcome; returns 1 when it failed its promise. */
function wrong(i: number, outcome: PromiseSettledResult<unknown>): number {
  const t = poolTask(i);
  if (t.runaway) return outcome.status === "rejected" && outcome.reason instanceof MtintError ? 0 : 1;
  return outcome.status === "fulfilled" && Number(outcome.value) === t.expect ? 0 : 1;
}

export async function mtintPool(
  res: Results,
  version: string,
  tasks: number,
  size: number,
  reset: "state" | "keep",
): Promise<number> {
  await using pool = await LuaPool.create({
    lua: version as LuaVersion,
    size,
    reset,
    timeout: POOL_TIMEOUT_MS,
    maxQueue: tasks,
  });
  const t0 = nowNs();
  const settled = await Promise.allSettled(
    Array.from({ length: tasks }, (_, i) => pool.run(poolTask(i).source).then((v) => v[0])),
  );
  const seconds = (nowNs() - t0) / 1e9;
  const failures = settled.reduce((n, s, i) => n + wrong(i, s), 0);
  const perSecond = tasks / seconds;
  res.figures.push({
    section: "pool",
    name: `LuaPool (${size} workers, reset "${reset}"): ${tasks} scripts, 1 % runaways, ${POOL_TIMEOUT_MS} ms timeout`,
    stat: "throughput",
    version,
    value: perSecond,
    unit: "tasks/s",
    n: tasks,
    note: `${failures} wrong; ${pool.stats().replaced} workers replaced`,
  });
  if (failures) res.notes.push(`pool ${version} ${reset}: ${failures} tasks answered wrongly`);
  return perSecond;
}

export async function resetTimes(res: Results, version: string, n: number): Promise<void> {
  await using lua = await LuaWorker.create({ lua: version as LuaVersion });
  const samples: number[] = [];
  for (let i = 0; i < n + 10; i++) {
    await lua.run("x = {} for i = 1, 100 do x[i] = i end");
    const t0 = nowNs();
    await lua.reset();
    if (i >= 10) samples.push(nowNs() - t0);
  }
  res.figures.push(
    ...percentiles({ section: "pool", name: "lua.reset() (fresh state, same worker)", version, unit: "ms" }, samples, {
      p50: { op: "le", limit: 1, text: "≤ 1 ms" },
    }),
  );
}

/** What a user builds with an in-thread engine: `size` Web Workers, each
 * running a task at a time, a runaway stopped by terminate() and a fresh
 * worker. Runs in a child process (bench/child.ts): terminated wasmoon
 * workers keep spinning until the process exits. */
export async function altPool(
  name: AltName,
  tasks: number,
  size: number,
  fresh: boolean,
): Promise<{ perSecond: number; failures: number; restarts: number }> {
  const start = async () => {
    const worker = new Worker(new URL("../alt_worker.ts", import.meta.url).href, { type: "module" });
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<{ type: string; message?: string }>) =>
        e.data.type === "ready" ? resolve() : reject(new Error(String(e.data.message)));
      worker.postMessage({ type: "init", name });
    });
    return worker;
  };
  let next = 0, failures = 0, restarts = 0;
  const serve = async () => {
    let worker = await start();
    for (let i = next++; i < tasks; i = next++) {
      const t = poolTask(i);
      const outcome = await new Promise<{ value?: unknown; error?: string }>((resolve) => {
        // The timeout counts from the start of the script, not of the engine.
        let timer: ReturnType<typeof setTimeout> | undefined;
        worker.onmessage = (e: MessageEvent<{ type: string; value?: unknown; message?: string }>) => {
          if (e.data.type === "started") timer = setTimeout(() => resolve({ error: "timeout" }), POOL_TIMEOUT_MS);
          else if (e.data.type === "result") resolve({ value: e.data.value });
          else if (e.data.type === "error") resolve({ error: e.data.message });
          else return;
          clearTimeout(timer);
        };
        worker.postMessage({ type: "run", source: t.source, fresh });
      });
      if (outcome.error === "timeout") {
        worker.terminate();
        worker = await start();
        restarts++;
        if (!t.runaway) failures++;
      } else if (t.runaway || Number(outcome.value) !== t.expect) {
        failures++;
      }
    }
    worker.terminate();
  };
  const t0 = nowNs();
  await Promise.all(Array.from({ length: size }, serve));
  return { perSecond: tasks / ((nowNs() - t0) / 1e9), failures, restarts };
}

/** Figures of one altPool run (from the child's JSON). */
export function altPoolFigures(
  res: Results,
  name: string,
  tasks: number,
  size: number,
  fresh: boolean,
  r: { perSecond: number; failures: number; restarts: number },
): void {
  res.figures.push({
    section: "pool",
    name: `${name} in ${size} Web Workers (${
      fresh ? "fresh engine per task" : "one engine reused"
    }): ${tasks} scripts, 1 % runaways, ${POOL_TIMEOUT_MS} ms timeout`,
    stat: "throughput",
    version: "-",
    value: r.perSecond,
    unit: "tasks/s",
    n: tasks,
    note: `${r.failures} wrong; ${r.restarts} workers terminated and restarted`,
  });
}
