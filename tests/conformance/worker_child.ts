/**
 * Runs conformance probes in LuaWorkers (libs "full"), one fresh worker
 * each, printing what they print; "==> <probe>" starts each probe's output
 * and "==! <message>" reports a probe that failed as a whole.
 *
 * Usage: worker_child.ts <lua version> <probe file>...
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { type LuaVersion, LuaWorker } from "../../mod.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const [lua, ...probes]: string[] = g.Deno ? g.Deno.args : g.process.argv.slice(2);
for (const probe of probes) {
  console.log(`==> ${probe}`);
  const worker = await LuaWorker.create({ lua: lua as LuaVersion, libs: "full" });
  try {
    await worker.run(readFileSync(probe, "utf8"), { name: probe });
  } catch (err) {
    console.log(`==! ${err instanceof Error ? err.message : String(err)}`);
  }
  await worker.close();
}
