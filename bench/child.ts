/**
 * Runs one memory-sensitive section for one Lua version in a fresh process
 * and prints its figures as JSON on stdout: the registry at scale measures
 * VmRSS deltas, which a process that already grew (an earlier version's
 * million coroutines, the registry's own tables, malloc's free lists) would
 * hide. bench/run.ts starts it with the runtime it runs under.
 *
 *   <runtime> bench/child.ts registry <version> <n>
 *   <runtime> bench/child.ts alt-runaway <wasmoon|fengari>
 *   <runtime> bench/child.ts alt-pool <wasmoon|fengari> <tasks> <size> <fresh|reused>
 *
 * The second stops a wasmoon or fengari runaway with worker.terminate(),
 * which in some cases leaves the worker's thread spinning until the process
 * exits: in its own process it cannot slow down what is measured next.
 *
 * @module
 */
import { type LuaVersion, LuaWorker } from "../mod.ts";
import type { Results } from "./lib.ts";
import { registryScale } from "./sections/costs.ts";
import { altCycle } from "./sections/runaway.ts";
import { altPool } from "./sections/pool.ts";
import type { AltName } from "./alternatives.ts";
import { argv, exit } from "../scripts/process.ts";

const [section, version, n, size, mode] = argv;
if (section === "registry") {
  const res = { figures: [], notes: [], samples: {}, times: {}, engines: {} } as unknown as Results;
  const other = await LuaWorker.create({ lua: version as LuaVersion });
  const lua = await LuaWorker.create({ lua: version as LuaVersion, interrupts: [other] });
  await registryScale(res, version, lua, other, Number(n));
  await lua.close();
  await other.close();
  console.log(JSON.stringify({ figures: res.figures, notes: res.notes }));
} else if (section === "alt-runaway") {
  console.log(JSON.stringify(await altCycle(version as AltName)));
} else if (section === "alt-pool") {
  console.log(JSON.stringify(await altPool(version as AltName, Number(n), Number(size), mode === "fresh")));
} else {
  throw new Error(`child: unknown section ${section}`);
}
exit(0);
