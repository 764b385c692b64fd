/**
 * The benchmark suite, for the runtime it runs under: every section for
 * every Lua version built, then the comparisons; writes
 * bench/results/<runtime>.json and prints the figures. bench/report.ts
 * merges the runtimes' results into bench/results/RESULTS.md.
 *
 *   deno run --allow-ffi --allow-read --allow-env --allow-run --allow-write [--v8-flags=--expose-gc] bench/run.ts [options]
 *   bun bench/run.ts [options]
 *
 * Options:
 *   --versions 5.4,luajit   only these Lua versions (default: all built)
 *   --quick                 small counts, to try the suite out (not for the README)
 *   --no-dropin             skip the drop-in module under the stock interpreters
 *                           (runtime-independent: scripts/bench.sh runs it under Deno only)
 *   --only a,b              only these sections: latency, idle, calls, registry, roundtrip,
 *                           deadline, mailbox, functions, inspect, runaway, pool, cpu, dropin, floors, ids
 *   --out FILE              where to write the JSON (default bench/results/<runtime>.json)
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { type LuaVersion, LuaWorker, registryStats, versions } from "../mod.ts";
import { ALTERNATIVES } from "./alternatives.ts";
import {
  BENCH,
  fmt,
  freeGB,
  log,
  machine,
  meets,
  nowNs,
  type Results,
  runChild,
  RUNTIME,
  runtimeVersion,
} from "./lib.ts";
import { createAndIdle, dropin, jsCallCosts, luaCallCosts } from "./sections/costs.ts";
import { cpuPrograms } from "./sections/cpu.ts";
import {
  deadlineLateness,
  hookLatency,
  idleRejectLatency,
  type LatencyCounts,
  mailboxRoundTrip,
  postMessageFloor,
  rejectLatency,
  runRoundTrip,
  summary,
} from "./sections/latency.ts";
import { floors } from "./sections/floors.ts";
import { idLookup } from "./sections/ids.ts";
import { altRunaway, mtintRunaway } from "./sections/runaway.ts";
import { altPoolFigures, mtintPool, resetTimes } from "./sections/pool.ts";
import { callerFunctions, luaFunctionCalls, wasmoonFunctionCalls } from "./sections/functions.ts";
import { argv, exit } from "../scripts/process.ts";
import { inspectLatency, luajitOwnProfiler, profilerOverhead } from "./sections/inspect.ts";

const option = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes("--quick");
const only = option("--only")?.split(",");
const wants = (section: string) => !only || only.includes(section);
const built = versions();
const chosen = (option("--versions")?.split(",") ?? built) as LuaVersion[];
for (const v of chosen) if (!built.includes(v)) throw new Error(`Lua ${v} is not built (built: ${built.join(", ")})`);

const counts: LatencyCounts = quick
  ? { interrupts: 100, warmup: 20, deadlines: 30, mailbox: 200, roundTrips: 300 }
  : { interrupts: 500, warmup: 50, deadlines: 200, mailbox: 1000, roundTrips: 2000 };
const registryN = quick ? 100_000 : 1_000_000;
const callN = quick ? 200_000 : 1_000_000;
const jsCallN = quick ? 50_000 : 200_000;
const cpuRounds = quick ? 1 : 3;
const cpuScale = quick ? 0.2 : 1;
const runawayReps = quick ? 5 : 20;
const idleWorkers = quick ? 3 : 8;
const poolTasks = quick ? 1000 : 10_000;
// wasmoon's terminated runaways keep spinning until their process ends
// (bench/sections/runaway.ts): fewer tasks, or the machine drowns.
const altPoolTasks = quick ? 300 : 2000;
const poolSize = 2;

const started = nowNs();
const res: Results = {
  runtime: RUNTIME,
  runtimeVersion: runtimeVersion(),
  date: new Date().toISOString(),
  command: RUNTIME === "deno"
    ? `deno run --allow-ffi --allow-read --allow-env --allow-run --allow-write${
      typeof (globalThis as { gc?: unknown }).gc === "function" ? " --v8-flags=--expose-gc" : ""
    } bench/run.ts ${argv.join(" ")}`.trim()
    : `bun bench/run.ts ${argv.join(" ")}`.trim(),
  machine: machine(),
  engines: {},
  figures: [],
  samples: {},
  times: {},
  seconds: 0,
  notes: quick ? ["--quick: small counts, not for publishing"] : [],
};
log(`${res.runtimeVersion}; Lua ${chosen.join(", ")}; ${res.machine.cpu}, ${res.machine.cores} cores`);
const baseline = registryStats();

for (const v of chosen) {
  const t0 = nowNs();
  if (wants("roundtrip")) await createAndIdle(res, v, idleWorkers);
  // The scripts of `lua` interrupt `other` (calls, registry): granted.
  const other = await LuaWorker.create({ lua: v });
  const lua = await LuaWorker.create({ lua: v, interrupts: [other] });
  res.engines[v] = lua.engine;
  if (wants("roundtrip")) {
    await runRoundTrip(res, v, lua, counts);
    log(`${v} run("return 1"): ${summary(res.figures, "roundtrip", v)}`);
  }
  if (wants("latency")) {
    await hookLatency(res, v, lua, counts);
    await rejectLatency(res, v, lua, counts);
    log(`${v} latency: ${summary(res.figures, "latency", v)}`);
  }
  if (wants("idle")) {
    await idleRejectLatency(res, v, lua, counts);
    log(`${v} idle: ${summary(res.figures, "idle", v)}`);
  }
  if (wants("deadline")) {
    await deadlineLateness(res, v, lua, counts);
    log(`${v} deadline: ${summary(res.figures, "deadline", v)}`);
  }
  if (wants("mailbox")) {
    await mailboxRoundTrip(res, v, lua, counts);
    log(`${v} mailbox: ${summary(res.figures, "mailbox", v)}`);
  }
  if (wants("calls")) {
    await jsCallCosts(res, v, other, jsCallN);
    await luaCallCosts(res, v, lua, other, callN);
    log(`${v} calls done`);
  }
  if (wants("functions")) {
    await callerFunctions(res, v, quick ? 300 : 2000);
    await luaFunctionCalls(res, v, quick ? 300 : 2000);
    log(`${v} functions: ${summary(res.figures, "functions", v)}`);
  }
  if (wants("inspect")) {
    await inspectLatency(res, v, quick ? 50 : 300);
    await profilerOverhead(res, v, quick ? 6 : 30, quick ? 0.1 : 0.25);
    if (v === "luajit") await luajitOwnProfiler(res, quick ? 6 : 30, quick ? 0.1 : 0.25);
    log(`${v} inspect: ${summary(res.figures, "inspect", v)}`);
  }
  if (wants("runaway")) await mtintRunaway(res, v, lua, runawayReps);
  if (wants("pool")) {
    await resetTimes(res, v, quick ? 50 : 300);
    await mtintPool(res, v, poolTasks, poolSize, "state");
    await mtintPool(res, v, poolTasks, poolSize, "keep");
    log(`${v} pool: ${summary(res.figures, "pool", v)}`);
  }
  if (wants("registry")) {
    if (freeGB() < 3) res.notes.push(`registry ${v}: only ${freeGB().toFixed(1)} GB free`);
    // In a fresh process: VmRSS deltas need one that has not grown yet.
    const child = JSON.parse(runChild("child.ts", ["registry", v, String(registryN)]));
    res.figures.push(...child.figures);
    res.notes.push(...child.notes);
    log(`${v} registry: ${summary(res.figures, "registry", v)}`);
  }
  await lua.close();
  await other.close();
  log(`${v}: ${((nowNs() - t0) / 1e9).toFixed(1)} s`);
}

if (wants("roundtrip")) {
  await postMessageFloor(res, counts);
  log(`postMessage floor: ${summary(res.figures, "roundtrip", "-")}`);
}
if (wants("functions")) {
  await wasmoonFunctionCalls(res, quick ? 100 : 1000);
  log(`functions wasmoon: ${summary(res.figures, "functions", "-")}`);
}
if (wants("cpu")) {
  const cpuVersions: string[] = [...chosen];
  if (chosen.includes("luajit")) cpuVersions.push("luajit+jit");
  await cpuPrograms(res, cpuVersions, cpuRounds, cpuScale);
}
if (wants("runaway")) {
  for (const name of ALTERNATIVES) {
    res.engines[name] = altRunaway(res, name, quick ? 2 : 6);
    log(`runaway ${name} done`);
  }
}
if (wants("pool")) {
  for (const fresh of [true, false]) {
    const r = JSON.parse(
      runChild("child.ts", ["alt-pool", "wasmoon", String(altPoolTasks), String(poolSize), fresh ? "fresh" : "reused"]),
    );
    altPoolFigures(res, "wasmoon", altPoolTasks, poolSize, fresh, r);
  }
  log(`pool wasmoon: ${summary(res.figures, "pool", "-")}`);
}
if (wants("floors")) {
  floors(res, quick ? 300 : 2000, quick ? 50 : 200);
  log("floors done");
}
if (wants("ids")) {
  idLookup(res, quick ? 200_000 : 2_000_000);
  log("ids done");
}
if (wants("dropin") && !argv.includes("--no-dropin")) {
  for (const v of chosen) dropin(res, v, callN, registryN);
  log("drop-in done");
}

const after = registryStats();
if (after.ids !== baseline.ids || after.states !== baseline.states) {
  res.notes.push(`registry not back to baseline at the end: ${JSON.stringify(baseline)} → ${JSON.stringify(after)}`);
}
res.seconds = (nowNs() - started) / 1e9;
res.machine.loadAfter = machine().loadBefore;
const out = option("--out") ?? `${BENCH}results/${RUNTIME}.json`;
mkdirSync(`${BENCH}results`, { recursive: true });
writeFileSync(out, JSON.stringify(res, null, 1) + "\n");

console.log(`\n## ${res.runtimeVersion}: ${res.seconds.toFixed(0)} s, written to ${out}\n`);
let section = "";
for (const f of res.figures) {
  if (f.section !== section) console.log(`\n[${section = f.section}]`);
  const target = f.target ? `  target ${f.target.text}: ${meets(f.value, f.target) ? "met" : "MISSED"}` : "";
  console.log(
    `${f.version.padEnd(10)} ${`${f.name} ${f.stat}`.padEnd(84)} ${fmt(f.value, f.unit).padStart(12)}${target}`,
  );
}
for (const note of res.notes) console.log(`note: ${note}`);
exit(0);
