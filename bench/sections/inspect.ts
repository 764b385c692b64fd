/**
 * Seeing inside a running call (issue 14): how long `await lua.stack()`
 * and `await lua.pause()` take against a busy loop (from the call in JS to
 * the promise resolving, polling included), and what the sampling
 * profiler costs: bench/programs/fib.lua (deep Lua calls, the worst case
 * for a stack walk) run with and without `lua.profile({ hz })` at 100 Hz
 * and 1 kHz (and 10 kHz, where the cost per sample stands out of the
 * noise). The overhead is measured on the worker thread's CPU time
 * (lua.cpuTime(), which counts the hook, the walk and the kick signals),
 * so that other load on the machine does not blur it; wall time is shown
 * beside it. Rounds alternate with and without, medians are reported.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { type LuaVersion, LuaWorker } from "../../mod.ts";
import { BENCH, median, nowNs, percentiles, type Results } from "../lib.ts";

const BUSY = `local function spin() while true do end end spin()`;

export async function inspectLatency(res: Results, version: string, samples: number): Promise<void> {
  await using lua = await LuaWorker.create({ lua: version as LuaVersion });
  const stop = new AbortController();
  const call = lua.run(BUSY, { signal: stop.signal }).catch(() => {});
  while ((await lua.stack()) === null) await new Promise((r) => setTimeout(r, 1));
  const stacks: number[] = [], pauses: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = nowNs();
    const stack = await lua.stack({ wait: 10_000 });
    stacks.push(nowNs() - t0);
    if (!stack || stack.inC) throw new Error(`stack() did not answer: ${JSON.stringify(stack)}`);
    const t1 = nowNs();
    if (!await lua.pause()) throw new Error("pause() found no call");
    pauses.push(nowNs() - t1);
    lua.resume();
  }
  stop.abort();
  await call;
  res.figures.push(
    ...percentiles({ section: "inspect", name: "await lua.stack() (busy loop)", version, unit: "µs" }, stacks),
  );
  res.figures.push(
    ...percentiles({ section: "inspect", name: "await lua.pause() → paused (busy loop)", version, unit: "µs" }, pauses),
  );
}

export async function profilerOverhead(res: Results, version: string, rounds: number, scale: number): Promise<void> {
  const text = readFileSync(`${BENCH}programs/fib.lua`, "utf8");
  await using lua = await LuaWorker.create({ lua: version as LuaVersion });
  await lua.run(text, { args: [scale / 4] }); // warm up
  const runs: Record<string, { cpu: number[]; wall: number[]; samples: number[] }> = {};
  const modes = [0, 100, 1000, 10_000];
  for (const hz of modes) runs[hz] = { cpu: [], wall: [], samples: [] };
  for (let r = 0; r < rounds; r++) {
    for (const hz of r % 2 ? [...modes].reverse() : modes) {
      const profile = hz ? lua.profile({ hz }) : undefined;
      const cpu0 = lua.cpuTime(), t0 = nowNs();
      await lua.run(text, { args: [scale] });
      runs[hz].wall.push((nowNs() - t0) / 1e6);
      runs[hz].cpu.push(lua.cpuTime() - cpu0);
      if (profile) runs[hz].samples.push((await profile.stop()).samples);
    }
  }
  const base = median(runs[0].cpu), baseWall = median(runs[0].wall);
  res.figures.push({
    section: "inspect",
    name: "fib.lua CPU time, not profiled",
    stat: "median",
    version,
    value: base,
    unit: "ms",
    n: rounds,
  });
  // At 10 kHz the cost is ten times the 1 kHz one, well above the noise:
  // CPU per sample, and the 1 kHz overhead it implies.
  const extra = median(runs[10_000].cpu) - base, taken = median(runs[10_000].samples);
  const perSample = taken > 0 ? extra / taken * 1000 : NaN; // µs
  res.figures.push(
    {
      section: "inspect",
      name: "CPU per profile sample (from 10 kHz)",
      stat: "median",
      version,
      value: perSample,
      unit: "µs",
      n: rounds,
    },
    {
      section: "inspect",
      name: "profiler overhead at 1 kHz implied by the CPU per sample",
      stat: "median",
      version,
      value: perSample * 1000 / 1e6 * 100,
      unit: "%",
      n: rounds,
      target: { op: "le", limit: 2, text: "≤ 2 %" },
    },
  );
  for (const hz of [100, 1000]) {
    const cpu = median(runs[hz].cpu), wall = median(runs[hz].wall);
    res.figures.push(
      {
        section: "inspect",
        name: `profiler overhead at ${hz} Hz (CPU time)`,
        stat: "median",
        version,
        value: (cpu / base - 1) * 100,
        unit: "%",
        n: rounds,
        target: hz === 1000 ? { op: "le", limit: 2, text: "≤ 2 %" } : undefined,
      },
      {
        section: "inspect",
        name: `profiler overhead at ${hz} Hz (wall time)`,
        stat: "median",
        version,
        value: (wall / baseWall - 1) * 100,
        unit: "%",
        n: rounds,
      },
      {
        section: "inspect",
        name: `samples per second of the run (wall) at ${hz} Hz`,
        stat: "median",
        version,
        value: median(runs[hz].samples.map((s, i) => s / (runs[hz].wall[i] / 1000))),
        unit: "",
        n: rounds,
      },
    );
  }
}
