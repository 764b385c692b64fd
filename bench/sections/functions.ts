/**
 * Lua calling JavaScript (issue 13): a call from Lua to a function of the
 * thread that created the worker (sync, and async resolving at once) and
 * back, against a host-module function, which runs on the worker's own
 * thread (the fast path). Timed inside Lua around each call, with the
 * main thread's event loop idle, as a server's would be between requests.
 *
 * @module
 */
import { type LuaVersion, LuaWorker } from "../../mod.ts";
import { percentiles, type Results } from "../lib.ts";

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
