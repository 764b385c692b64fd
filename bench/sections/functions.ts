/**
 * Lua and JavaScript calling each other (issue 13). Lua → JS: a call from
 * Lua to a function of the thread that created the worker (sync, and async
 * resolving at once) and back, against a host-module function, which runs
 * on the worker's own thread (the fast path); timed inside Lua around each
 * call, with the main thread's event loop idle, as a server's would be
 * between requests. JS → Lua: `call("f")` against `run("return f()")` and
 * `run("return 1")`, and a function handle's call, each timed from
 * JavaScript around the await; wasmoon calling a JS function from Lua, for
 * scale.
 *
 * @module
 */
import { type LuaFunctionHandle, type LuaVersion, LuaWorker } from "../../mod.ts";
import { nowNs, percentiles, type Results } from "../lib.ts";
import { wasmoonEngine } from "../alternatives.ts";

const host = new URL("../../tests/fixtures/host_functions.ts", import.meta.url);

const TIMED = `local f, n = ... local clock, t = require('host').clock, {}
for i = 1, n do local t0 = clock() f(i) t[i] = (clock() - t0) * 1e9 end
return t`;

export async function callerFunctions(res: Results, version: string, calls: number): Promise<void> {
  await using lua = await LuaWorker.create({
    lua: version as LuaVersion,
    host,
    functions: { sync: (x) => x, async: async (x) => await x },
  });
  for (
    const [name, fn] of [
      ["Lua → a function of the creator's thread (sync) → Lua", "sync"],
      ["Lua → a function of the creator's thread (async) → Lua", "async"],
      ["Lua → a host-module function (worker thread) → Lua", "echo"],
    ]
  ) {
    await lua.run(`bench_f = require('host').${fn}`);
    await lua.run(`local f = bench_f for i = 1, 50 do f(i) end`); // warm up
    const [samples] = await lua.run(`return (function(...) ${TIMED} end)(bench_f, ${calls})`);
    res.figures.push(
      ...percentiles({ section: "functions", name, version, unit: "µs" }, samples as number[]),
    );
  }
}

const WARMUP = 200;

/** JS → Lua: one await each, the worker idle in between. */
export async function luaFunctionCalls(res: Results, version: string, calls: number): Promise<void> {
  await using lua = await LuaWorker.create({ lua: version as LuaVersion });
  const [handle] = await lua.run("function f(x) return x end return f") as [LuaFunctionHandle];
  const cases: [string, () => Promise<unknown[]>][] = [
    ['run("return 1")', () => lua.run("return 1")],
    ['run("return f(...)", { args: [1] })', () => lua.run("return f(...)", { args: [1] })],
    ['call("f", { args: [1] })', () => lua.call("f", { args: [1] })],
    ["handle(1): a Lua function returned to JS", () => handle(1)],
  ];
  for (const [name, once] of cases) {
    const samples: number[] = [];
    let cpu0 = 0;
    for (let i = 0; i < WARMUP + calls; i++) {
      if (i === WARMUP) cpu0 = lua.cpuTime();
      const t0 = nowNs();
      await once();
      const t1 = nowNs();
      if (i >= WARMUP) samples.push(t1 - t0);
    }
    const cpuMs = lua.cpuTime() - cpu0;
    res.figures.push(
      ...percentiles({ section: "functions", name: `JS → ${name}`, version, unit: "µs" }, samples),
      // The worker thread's own time per call, which the wake-ups around it do not blur: compiling shows here.
      {
        section: "functions",
        name: `JS → ${name}: worker CPU`,
        stat: "mean",
        value: cpuMs * 1e3 / calls,
        n: calls,
        version,
        unit: "µs",
      },
    );
  }
}

/** For scale: wasmoon (Lua 5.4 in WebAssembly, on the caller's thread) calling
 * a JavaScript function from Lua and back, per call, averaged over batches of 100. */
export async function wasmoonFunctionCalls(res: Results, batches: number): Promise<void> {
  const engine = await wasmoonEngine();
  try {
    engine.global.set("jsf", (x: number) => x);
    engine.doStringSync("function batch(n) for i = 1, n do jsf(i) end end");
    const batch = engine.global.get("batch") as (n: number) => void;
    const samples: number[] = [];
    for (let i = 0; i < 20 + batches; i++) {
      const t0 = nowNs();
      batch(100);
      const t1 = nowNs();
      if (i >= 20) samples.push((t1 - t0) / 100);
    }
    res.figures.push(
      ...percentiles(
        {
          section: "functions",
          name: "wasmoon: Lua → a JS function → Lua (per call, batches of 100)",
          version: "-",
          unit: "µs",
        },
        samples,
      ),
    );
  } finally {
    engine.global.close();
  }
}
