/**
 * "Stop a runaway script and run the next one" (issue 7, 4): from the
 * decision to stop until the next chunk's result is back on the main
 * thread. mtint interrupts the state and keeps it (globals survive);
 * wasmoon and fengari in a Web Worker can only be stopped with
 * worker.terminate(), then a fresh worker and state are needed.
 *
 * @module
 */
import { interrupt, type LuaWorker, MtintError } from "../../mod.ts";
import type { AltName } from "../alternatives.ts";
import process from "node:process";
import { Inbox, median, nowNs, percentiles, type Results, runChild, sleep, spin } from "../lib.ts";

export async function mtintRunaway(res: Results, version: string, lua: LuaWorker, reps: number): Promise<void> {
  const inbox = new Inbox(lua);
  await lua.run("BENCH_KEPT = 0");
  const samples: number[] = [];
  const warmup = 3;
  for (let i = 0; i < warmup + reps; i++) {
    const running = lua.run(`require("host").post(0) while true do end`, { name: "runaway" });
    await inbox.next();
    spin(100);
    const t0 = nowNs();
    interrupt(lua.id);
    try {
      await running;
      throw new Error("runaway: the loop returned");
    } catch (err) {
      if (!(err instanceof MtintError)) throw err;
    }
    const [kept] = await lua.run("BENCH_KEPT = BENCH_KEPT + 1 return BENCH_KEPT");
    const t1 = nowNs();
    if (kept !== i + 1) throw new Error(`runaway: the state lost its globals (${kept})`);
    if (i >= warmup) samples.push(t1 - t0);
  }
  res.figures.push(
    ...percentiles({
      section: "runaway",
      name: "stop a runaway + run the next chunk: mtint interrupt (state kept)",
      version,
      unit: "ms",
      note: "globals survive",
    }, samples),
  );
}

type AltWorker = { worker: Worker; version: string };

function reply(worker: Worker, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<Record<string, unknown>>) => {
      const msg = event.data;
      if (msg.type === type) resolve(msg);
      else if (msg.type === "error") reject(new Error(String(msg.message)));
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      reject(new Error(`alt worker failed: ${event.message}`));
    };
  });
}

async function startAlt(name: AltName): Promise<AltWorker> {
  const worker = new Worker(new URL("../alt_worker.ts", import.meta.url).href, { type: "module" });
  const ready = reply(worker, "ready");
  worker.postMessage({ type: "init", name });
  const msg = await ready;
  return { worker, version: String(msg.version) };
}

async function altRun(w: AltWorker, source: string): Promise<unknown> {
  const result = reply(w.worker, "result");
  w.worker.postMessage({ type: "run", source });
  return (await result).value;
}

/** One stop-and-restart cycle of an alternative, in a process of its own. */
export interface AltCycle {
  version: string;
  /** terminate() → fresh worker and state → the next chunk's result, ns. */
  restartNs: number;
  /** Whether the new state still had the old one's global. */
  kept: boolean;
  /** CPU the process burned per second of wall time in the 500 ms after, with the new worker idle. */
  coresAfter: number;
}

/**
 * Starts a worker with the alternative, stops its runaway with
 * terminate() and measures the way to the next result; then how much CPU
 * the process keeps burning: a terminated worker that goes on spinning
 * (Deno 2.9 with any busy loop, both runtimes inside WebAssembly) shows as
 * about one core. Run it in a child process (bench/child.ts): such a worker
 * lives until the process ends.
 */
export async function altCycle(name: AltName): Promise<AltCycle> {
  let w = await startAlt(name);
  const version = w.version;
  await altRun(w, "BENCH_KEPT = 1");
  const started = reply(w.worker, "started");
  w.worker.postMessage({ type: "run", source: "while true do end" });
  await started;
  await sleep(20);
  const t0 = nowNs();
  w.worker.terminate();
  w = await startAlt(name);
  const kept = await altRun(w, "return BENCH_KEPT");
  const restartNs = nowNs() - t0;
  const cpu0 = process.cpuUsage(), wall0 = nowNs();
  await sleep(500);
  const cpu = process.cpuUsage(cpu0), wall = nowNs() - wall0;
  w.worker.terminate();
  return {
    version,
    restartNs,
    kept: kept !== undefined && kept !== null,
    coresAfter: (cpu.user + cpu.system) * 1e3 / wall,
  };
}

/** Each cycle in a fresh process; returns the alternative's version string. */
export function altRunaway(res: Results, name: AltName, reps: number): string {
  const cycles: AltCycle[] = [];
  for (let i = 0; i < reps; i++) cycles.push(JSON.parse(runChild("child.ts", ["alt-runaway", name])));
  const lost = cycles.filter((c) => !c.kept).length;
  res.figures.push(
    ...percentiles({
      section: "runaway",
      name: `stop a runaway + run the next chunk: ${name} terminate() + fresh worker and state`,
      version: "-",
      unit: "ms",
      note: lost === reps ? "globals lost" : `globals lost ${lost} of ${reps} times`,
    }, cycles.map((c) => c.restartNs)),
    {
      section: "runaway",
      name: `${name}: CPU cores still busy 0.5 s after terminate() (1 = the runaway goes on)`,
      stat: "median",
      version: "-",
      unit: "",
      value: median(cycles.map((c) => c.coresAfter)),
      n: reps,
    },
  );
  return cycles[0].version;
}
