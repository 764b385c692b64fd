/**
 * Runs one hostile case in this process, for each selected version, and
 * exits: 0 when it held on every version, 1 when it failed (the message on
 * stderr). A crash ends the process by a signal, which the parent reports.
 *
 * Usage: child.ts <case file> <case name>
 *
 * @module
 */
import { luaVersions } from "../harness.ts";
import type { HostileCase } from "./case.ts";
import { argv, exit } from "../../scripts/process.ts";

const [file, name] = argv;
const { cases } = await import(new URL(file, import.meta.url).href) as { cases: HostileCase[] };
const found = cases.find((c) => c.name === name);
if (!found) {
  console.error(`no case named ${JSON.stringify(name)} in ${file}`);
  exit(2);
}
const hostile = found!;
let failed = 0;
for (const lua of luaVersions.filter((v) => !hostile.versions || hostile.versions.includes(v))) {
  const started = performance.now();
  try {
    await hostile.run(lua);
    console.log(`${lua}: ok (${(performance.now() - started).toFixed(0)} ms)`);
  } catch (err) {
    failed++;
    console.error(`${lua}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  }
}
exit(failed ? 1 : 0);
