/**
 * Seeing inside a running call (issue 14): how long `await lua.stack()`
 * and `await lua.pause()` take against a busy loop (from the call in JS to
 * the promise resolving, polling included), and what the sampling
 * profiler costs: bench/programs/fib.lua (deep Lua calls, the worst case
 * for a stack walk) run with and without `lua.profile({ hz })` at 100 Hz
 * and 1 kHz (and 10 kHz, where the cost per sample stands out of the
 * noise). The overhead is measured on the worker thread's CPU time
 * (lua.cpuTime(), which counts the hook, the walk and the kick signals),
 * so that other load on the machine does not blur it, in pairs of runs
 * with and without (see profilerOverhead).
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

/**
 * What profiling costs: runs of fib.lua with and without a profile, in
 * pairs (alternating which goes first), so that each pair sees the same
 * machine; the overhead is the median over the pairs of the CPU time
 * ratio. A single run's CPU time varies by ±5 % here, the median of 30
 * pairs by about ±1 %. The CPU per sample is taken at 10 kHz, where the
 * cost stands well out of that noise.
 */
export async function profilerOverhead(res: Results, version: string, pairs: number, scale: number): Promise<void> {
  const text = readFileSync(`${BENCH}programs/fib.lua`, "utf8");
  await using lua = await LuaWorker.create({ lua: version as LuaVersion });
  await lua.run(text, { args: [scale] }); // warm up
  const once = async (hz: number) => {
    const profile = hz ? lua.profile({ hz }) : undefined;
    const cpu0 = lua.cpuTime(), t0 = nowNs();
    await lua.run(text, { args: [scale] });
    const wall = (nowNs() - t0) / 1e6, cpu = lua.cpuTime() - cpu0;
    return { cpu, wall, samples: profile ? (await profile.stop()).samples : 0 };
  };
  const bases: number[] = [];
  for (const hz of [100, 1000, 10_000]) {
    const ratios: number[] = [], perSample: number[] = [], rates: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const [a, b] = i % 2 ? [await once(hz), await once(0)] : [await once(0), await once(hz)];
      const [profiled, base] = i % 2 ? [a, b] : [b, a];
      bases.push(base.cpu);
      ratios.push(profiled.cpu / base.cpu);
      if (profiled.samples > 0) perSample.push((profiled.cpu - base.cpu) / profiled.samples * 1000);
      rates.push(profiled.samples / (profiled.wall / 1000));
    }
    if (hz === 10_000) {
      const us = median(perSample);
      res.figures.push(
        {
          section: "inspect",
          name: "CPU per profile sample (at 10 kHz)",
          stat: "median",
          version,
          value: us,
          unit: "µs",
          n: pairs,
        },
        {
          section: "inspect",
          name: "profiler overhead at 1 kHz implied by the CPU per sample",
          stat: "median",
          version,
          value: us * 1000 / 1e6 * 100,
          unit: "%",
          n: pairs,
          target: { op: "le", limit: 2, text: "≤ 2 %" },
        },
      );
      continue;
    }
    res.figures.push(
      {
        section: "inspect",
        name: `profiler overhead at ${hz} Hz (CPU time, paired runs)`,
        stat: "median",
        version,
        value: (median(ratios) - 1) * 100,
        unit: "%",
        n: pairs,
        target: hz === 1000 ? { op: "le", limit: 2, text: "≤ 2 %" } : undefined,
      },
      {
        section: "inspect",
        name: `samples per second of the run (wall) at ${hz} Hz`,
        stat: "median",
        version,
        value: median(rates),
        unit: "",
        n: pairs,
      },
    );
  }
  res.figures.push({
    section: "inspect",
    name: "fib.lua CPU time, not profiled",
    stat: "median",
    version,
    value: median(bases),
    unit: "ms",
    n: bases.length,
  });
}

/**
 * LuaJIT only: its own sampling profiler (`jit.profile`, the finest interval
 * it has, 1 ms) against mtint's at the rate jit.profile reaches on this
 * machine, in two workers of the same process with the same paired runs.
 * Both stop the interpreter the same way (a signal, then a hook through the
 * dispatch table), so this says whether mtint's profiler costs more than the
 * engine's own way to do the same. jit.profile has a worker of its own: its
 * process-wide SIGPROF handler sets the hook mask from whichever thread the
 * signal lands on, which races with mtint's hooks on the same state (a run
 * under Bun never ended). The workers have the full libraries (jit.profile
 * is not in the safe set); the chunk is compiled in each run, as run() does.
 * mtint at 1 kHz in the same worker, for scale.
 */
export async function luajitOwnProfiler(res: Results, pairs: number, scale: number): Promise<void> {
  const text = readFileSync(`${BENCH}programs/fib.lua`, "utf8");
  const define = `
    local ok, profile = pcall(require, "jit.profile")
    function RUN(text, scale, own)
      local chunk = assert(loadstring(text))
      local samples = 0
      if own then profile.start("i1", function(_, n) samples = samples + n end) end
      chunk(scale)
      if own then profile.stop() end
      return samples
    end`;
  await using jitWorker = await LuaWorker.create({ lua: "luajit", libs: "full" });
  await using mtintWorker = await LuaWorker.create({ lua: "luajit", libs: "full" });
  await jitWorker.run(define);
  await mtintWorker.run(define);
  const once = async (kind: "own" | "mtint", hz: number, profiled: boolean) => {
    const lua = kind === "own" ? jitWorker : mtintWorker;
    const profile = kind === "mtint" && profiled ? lua.profile({ hz }) : undefined;
    const cpu0 = lua.cpuTime(), t0 = nowNs();
    const args = [text, scale, kind === "own" && profiled];
    const [own] = await lua.run("return RUN(...)", { args, timeout: 30_000 }) as [number];
    const wall = (nowNs() - t0) / 1e6, cpu = lua.cpuTime() - cpu0;
    return { cpu, rate: (profile ? (await profile.stop()).samples : own) / (wall / 1000) };
  };
  await once("own", 0, false); // warm up
  await once("mtint", 0, false);
  const hz = Math.max(1, Math.round((await once("own", 0, true)).rate));
  const kinds = [["own", hz], ["mtint", hz], ["mtint", 1000]] as const;
  const ratios: number[][] = kinds.map(() => []), rates: number[] = [];
  for (let i = 0; i < pairs; i++) {
    for (const k of i % 2 ? [2, 1, 0] : [0, 1, 2]) {
      const [kind, rate] = kinds[k];
      const [a, b] = i % 2
        ? [await once(kind, rate, true), await once(kind, rate, false)]
        : [await once(kind, rate, false), await once(kind, rate, true)];
      const [profiled, base] = i % 2 ? [a, b] : [b, a];
      ratios[k].push(profiled.cpu / base.cpu);
      if (kind === "own") rates.push(profiled.rate);
    }
  }
  const figure = (name: string, value: number, unit: string) => ({
    section: "inspect",
    name,
    stat: "median",
    version: "luajit",
    value,
    unit,
    n: pairs,
  });
  res.figures.push(
    figure("LuaJIT's own jit.profile (1 ms interval): samples per second here", median(rates), ""),
    figure("LuaJIT's own jit.profile overhead (CPU time, paired runs)", (median(ratios[0]) - 1) * 100, "%"),
    figure(`mtint's profiler at jit.profile's rate (${hz} Hz), same process`, (median(ratios[1]) - 1) * 100, "%"),
    figure("mtint's profiler at 1 kHz, same process", (median(ratios[2]) - 1) * 100, "%"),
  );
}
