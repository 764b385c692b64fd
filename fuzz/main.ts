/**
 * The fuzzer: random hostile Lua (fuzz/grammar.ts) run in LuaWorkers on
 * every Lua version, under Deno and Bun, in child processes
 * (fuzz/child.ts), with random timeouts, interrupts, aborts, closes and
 * memory limits. Reports crashes, hangs, lost interrupts, unusable states
 * and wrong values (deterministic programs against the stock `lua5.x` /
 * `luajit`), shrinks each new finding to a minimal program and saves it.
 *
 *   npm run fuzz -- --minutes 5 [--seed 42] [--parallel 1] [--lua 5.1,luajit]
 *                   [--runtimes deno,bun] [--out fuzz/findings] [--shrink-seconds 300] [--shrink-known]
 *   npm run fuzz -- --replay fuzz/findings/<file>.lua [--runtime bun]
 *   npm run fuzz -- --seed S --only I [--runtimes bun]   (job I of run S again, shrunk)
 *
 * Exits 1 when it found something not explained by a known class
 * (fuzz/known.ts).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type LuaVersion, versions } from "../mod.ts";
import type { Result } from "./child.ts";
import { sizeOf } from "./grammar.ts";
import { BOUNDS, deadlineOf, type Job, jobFor, makePlan, type Plan } from "./job.ts";
import { type FindingKind, knownClass } from "./known.ts";
import { shrink } from "./minimize.ts";
import { argv, exit } from "../scripts/process.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const root = here("../");

function option(name: string, fallback?: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
}

type Runtime = "deno" | "bun";
const runtimeBin: Record<Runtime, string> = {
  deno: g.Deno ? g.Deno.execPath() : join(root, "node_modules/.bin/deno"),
  bun: g.Bun ? g.process.execPath : join(root, "node_modules/.bin/bun"),
};
const stockBin: Record<LuaVersion, string> = {
  "5.1": "lua5.1",
  "5.2": "lua5.2",
  "5.3": "lua5.3",
  "5.4": "lua5.4",
  luajit: "luajit",
};

interface Proc {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  killed: boolean;
}

function run(cmd: string, args: string[], timeoutMs: number, onLine?: (line: string) => void): Promise<Proc> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "", pending = "", killed = false;
    const lines = new TextDecoder();
    const chunks: Uint8Array[] = [];
    p.stdout!.on("data", (d: Uint8Array) => {
      chunks.push(d);
      const s = lines.decode(d, { stream: true });
      if (!onLine) return;
      pending += s;
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        onLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    p.stderr!.on("data", (d: Uint8Array) => stderr = (stderr + String(d)).slice(-4000));
    const timer = setTimeout(() => {
      killed = true;
      p.kill("SIGKILL");
    }, timeoutMs);
    p.on("close", (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      const stdout = new TextDecoder().decode(concat(chunks));
      resolve({ code, signal, stdout, stderr, killed });
    });
  });
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) all.set(c, (at += c.length) - c.length);
  return all;
}

const work = mkdtempSync(join(tmpdir(), "mtint-fuzz-"));
let fileNo = 0;

/** Runs jobs in one child; returns each job's result, or why the child died during it. */
async function runBatch(
  runtime: Runtime,
  jobs: Job[],
): Promise<{ results: Map<string, Result>; died?: { id: string; why: string; stderr: string } }> {
  const file = join(work, `jobs-${++fileNo}.json`);
  writeFileSync(file, JSON.stringify(jobs));
  const child = here("child.ts");
  const args = runtime === "deno"
    ? ["run", "--no-check", "--allow-ffi", "--allow-read", "--allow-env", child, file]
    : [child, file];
  const results = new Map<string, Result>();
  let current: string | undefined;
  // The child bounds every call itself; this catches a child that stops answering.
  const limit = jobs.reduce((t, j) => t + (deadlineOf(j.actions) ?? BOUNDS.slowMs) + 3 * BOUNDS.hangMs + 20_000, 0);
  const p = await run(runtimeBin[runtime], args, limit, (line) => {
    if (line.startsWith("start ")) current = line.slice(6);
    else if (line.startsWith("result ")) {
      const r = JSON.parse(line.slice(7)) as Result;
      results.set(r.id, r);
      current = undefined;
    }
  });
  rmSync(file, { force: true });
  if (p.killed && current) {
    return { results, died: { id: current, why: "hang: the child stopped answering", stderr: p.stderr } };
  }
  if (current && !results.has(current)) {
    const why = p.signal ? `crash: signal ${p.signal}` : `crash: exit ${p.code}`;
    return { results, died: { id: current, why, stderr: p.stderr } };
  }
  if (p.code !== 0 && p.code !== 3) {
    return {
      results,
      died: { id: jobs[jobs.length - 1].id, why: `crash: exit ${p.code} after the jobs`, stderr: p.stderr },
    };
  }
  return { results };
}

/** The stock interpreter's answer for a deterministic program: "ok:<value>", "error:..." or undefined. */
async function reference(job: Job): Promise<string | undefined> {
  const file = join(work, `ref-${++fileNo}.lua`);
  writeFileSync(file, job.source);
  const p = await run(stockBin[job.lua], [here("reference.lua"), file], 20_000);
  rmSync(file, { force: true });
  if (p.code !== 0 || p.killed) return undefined; // the stock interpreter crashed or hung: nothing to compare
  return p.stdout;
}

/**
 * Lua 5.2 names a function in an argument error by searching the global table two levels deep
 * (lauxlib's pushglobalfuncname): `'assert'` or `'_G.assert'`, whichever `next` meets first, which
 * depends on the table's history (lua.c's own `arg` global changes it). Not a difference of mtint's.
 */
function comparable(output: string): string {
  return output.replaceAll("'_G.", "'");
}

interface Verdict {
  kind: FindingKind;
  detail: string;
}

/** What is wrong with one job's run, if anything. */
async function judge(
  job: Job,
  r: Result | undefined,
  died?: { why: string; stderr: string },
): Promise<Verdict | undefined> {
  if (died) {
    return { kind: died.why.startsWith("hang") ? "hang" : "crash", detail: `${died.why}\n${died.stderr.slice(-1500)}` };
  }
  if (!r) return undefined;
  if (r.outcome === "hang") return { kind: "hang", detail: r.detail };
  if (r.close?.startsWith("hang")) return { kind: "hang", detail: r.close };
  if (r.sanity?.startsWith("hang")) return { kind: "hang", detail: r.sanity };
  // The close that fired is the earliest one (the child ignores later ones).
  const closes = job.actions.filter((a) => a.kind === "close").sort((
    a,
    b,
  ) => (a.kind === "close" && b.kind === "close" ? a.at - b.at : 0));
  const close = closes[0];
  const graceOf = close?.kind === "close" ? close.grace : undefined;
  // close() gives up on a call after `grace` ms and rejects it: documented, and no finding for a short grace.
  const gaveUp = graceOf !== undefined && graceOf < 500 &&
    /did not stop|did not finish closing/.test(r.detail + (r.close ?? ""));
  if (r.outcome === "other-error" && !gaveUp) return { kind: "worker-failed", detail: r.detail };
  const deadline = r.deadlineMs;
  if (
    deadline !== undefined && (r.outcome === "ok" || r.outcome === "lua-error") &&
    r.settledMs > deadline + BOUNDS.lostMs
  ) {
    return {
      kind: "lost-interrupt",
      detail: `settled ${r.outcome} ${r.settledMs.toFixed(0)} ms after run(), deadline ${deadline} ms: ${r.detail}`,
    };
  }
  if (r.close?.startsWith("rejected") && !gaveUp) {
    return { kind: "close-rejected", detail: r.close };
  }
  if (r.sanity && r.sanity !== "ok") return { kind: "unusable", detail: r.sanity };
  if (job.diff && job.actions.length === 0) {
    const worker = r.outcome === "ok" ? `ok:${r.value}` : r.outcome === "lua-error" ? `error:${r.detail}` : undefined;
    if (worker === undefined || r.detail.startsWith("memory")) return undefined;
    const stock = await reference(job);
    if (stock === undefined) return undefined;
    // Both failed: the messages differ in form (the worker's error carries its own prefix).
    if (stock.startsWith("error:") && worker.startsWith("error:")) return undefined;
    if (comparable(stock) !== comparable(worker)) {
      return { kind: "wrong-value", detail: firstDifference(worker, stock) };
    }
  }
  return undefined;
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const from = Math.max(0, a.lastIndexOf("\n", i) + 1);
  return `worker: ${JSON.stringify(a.slice(from, i + 120))}\nstock:  ${JSON.stringify(b.slice(from, i + 120))}`;
}

/** Runs one job alone in a fresh child and judges it. */
async function rerun(runtime: Runtime, job: Job): Promise<Verdict | undefined> {
  const { results, died } = await runBatch(runtime, [job]);
  return judge(job, results.get(job.id), died);
}

function save(out: string, runtime: Runtime, job: Job, v: Verdict, note: string): string {
  mkdirSync(out, { recursive: true });
  const file = join(out, `${v.kind}-${job.lua}-${runtime}-${job.id.replace(":", "_")}.lua`);
  const { source: _, ...meta } = job;
  const header = [
    `-- mtint fuzz finding: ${v.kind} (${note})`,
    ...v.detail.split("\n").slice(0, 12).map((l) => `--   ${l}`),
    `-- replay: npm run fuzz -- --replay ${file} --runtime ${runtime}`,
    `-- job: ${JSON.stringify({ ...meta, runtime })}`,
  ];
  writeFileSync(file, header.join("\n") + "\n" + job.source);
  return file;
}

async function replay(file: string): Promise<never> {
  const text = readFileSync(file, "utf8");
  const metaLine = text.split("\n").find((l) => l.startsWith("-- job: "));
  if (!metaLine) throw new Error(`${file}: no "-- job:" line`);
  const meta = JSON.parse(metaLine.slice(8));
  // The program is everything after the header's last line.
  const source = text.slice(text.indexOf("\n", text.indexOf("-- job: ")) + 1);
  const job: Job = { ...meta, source };
  const runtime = (option("runtime") ?? meta.runtime ?? "deno") as Runtime;
  const { results, died } = await runBatch(runtime, [job]);
  console.log(JSON.stringify(results.get(job.id) ?? died, null, 2));
  const v = await judge(job, results.get(job.id), died);
  console.log(v ? `${v.kind}: ${v.detail}` : "no finding");
  rmSync(work, { recursive: true, force: true });
  return exit(v ? 1 : 0);
}

async function main(): Promise<never> {
  const replayFile = option("replay");
  if (replayFile) return replay(replayFile);
  const minutes = Number(option("minutes", "1"));
  const seed = Number(option("seed", String(Date.now() % 1e9)));
  const parallel = Number(option("parallel", "1"));
  const batchSize = Number(option("batch", "6"));
  const out = option("out", join(root, "fuzz/findings"))!;
  const shrinkBudget = Number(option("shrink-seconds", "300")) * 1000;
  const shrinkKnown = argv.includes("--shrink-known");
  const only = option("lua")?.split(",");
  const lua = versions().filter((v) => !only || only.includes(v));
  const runtimes = (option("runtimes", "deno,bun")!.split(",")) as Runtime[];
  if (!(minutes > 0) || !Number.isFinite(seed) || !(parallel >= 1) || lua.length === 0) {
    console.error("usage: fuzz --minutes N [--seed S] [--parallel P] [--lua 5.1,...] [--runtimes deno,bun]");
    return exit(2);
  }
  const onlyJob = option("only");
  if (onlyJob !== undefined) {
    // One job again (as numbered in a run's report), on each runtime, shrunk and saved if it still fails.
    const plan = makePlan(seed, Number(onlyJob), lua);
    let failed = false;
    for (const runtime of runtimes) {
      const v = await rerun(runtime, plan.job);
      console.log(
        `${plan.job.id} ${plan.job.lua} ${runtime}: ${v ? `${v.kind}: ${v.detail.split("\n")[0]}` : "no finding"}`,
      );
      if (!v) continue;
      failed = true;
      const nodes = await shrink(
        plan.nodes,
        async (c) => (await rerun(runtime, jobFor(plan.job, plan.profile, c)))?.kind === v.kind,
      );
      const file = save(
        out,
        runtime,
        jobFor(plan.job, plan.profile, nodes),
        v,
        `shrunk from ${sizeOf(plan.nodes)} to ${sizeOf(nodes)}`,
      );
      console.log(`saved ${file}`);
    }
    rmSync(work, { recursive: true, force: true });
    return exit(failed ? 1 : 0);
  }
  console.log(`fuzz: seed ${seed}, ${minutes} min, ${lua.join(" ")}, ${runtimes.join(" ")}, ${parallel} at a time`);
  const end = performance.now() + minutes * 60_000;
  const stats = new Map<string, { jobs: number; ms: number; cancelled: number; diffs: number }>();
  const seen = new Map<string, number>();
  const findings: { sig: string; file?: string; owner?: string; count: number }[] = [];
  let next = 0;
  let batchNo = 0;

  const queued: { runtime: Runtime; plan: Plan; v: Verdict; entry: (typeof findings)[number] }[] = [];
  function record(runtime: Runtime, plan: Plan, v: Verdict) {
    const known = knownClass(v.kind, plan.job, v.detail);
    const sig = `${v.kind} ${plan.job.lua} ${runtime} ${
      known ? `known:${known.owner}:${known.what.slice(0, 40)}` : "new"
    }`;
    const prior = seen.get(sig);
    if (prior !== undefined) {
      findings[prior].count++;
      return;
    }
    seen.set(sig, findings.length);
    const entry: (typeof findings)[number] = { sig, owner: known?.owner, count: 1 };
    findings.push(entry);
    console.log(
      `\nFOUND ${v.kind} (${
        known ? `known, ${known.owner}: ${known.what}` : "NEW"
      }) ${plan.job.lua} ${runtime} job ${plan.job.id}`,
    );
    console.log("  " + v.detail.split("\n").slice(0, 6).join("\n  "));
    queued.push({ runtime, plan, v, entry });
  }

  // Once the fuzzing time is over: each new kind of finding shrunk and saved.
  async function shrinkAndSave(runtime: Runtime, plan: Plan, v: Verdict, entry: (typeof findings)[number]) {
    let job = plan.job;
    let note = entry.owner ? `known class, ${entry.owner}` : "new";
    // Known classes are not shrunk unless asked (--shrink-known): their owners have reproducers.
    if (performance.now() < shrinkEnd && (!entry.owner || shrinkKnown)) {
      const again = await rerun(runtime, job);
      if (!again || again.kind !== v.kind) {
        note += ", did not reproduce alone (timing-dependent)";
      } else {
        const before = sizeOf(plan.nodes);
        const nodes = await shrink(plan.nodes, async (candidate) => {
          if (performance.now() > shrinkEnd) return false;
          const w = await rerun(runtime, jobFor(plan.job, plan.profile, candidate));
          return w?.kind === v.kind;
        });
        job = jobFor(plan.job, plan.profile, nodes);
        note += `, shrunk from ${before} to ${sizeOf(nodes)} statements`;
      }
    }
    entry.file = save(out, runtime, job, v, note);
    console.log(`saved ${entry.file} (${note})`);
  }

  async function lane() {
    while (performance.now() < end) {
      const runtime = runtimes[batchNo++ % runtimes.length];
      const plans: Plan[] = [];
      for (let i = 0; i < batchSize; i++) plans.push(makePlan(seed, next++, lua));
      let pending = plans;
      while (pending.length && performance.now() < end) {
        const startedAt = performance.now();
        const { results, died } = await runBatch(runtime, pending.map((p) => p.job));
        for (const plan of pending) {
          const r = results.get(plan.job.id);
          const isDead = died?.id === plan.job.id;
          if (!r && !isDead) continue;
          const key = `${plan.job.lua} ${runtime}`;
          const s = stats.get(key) ?? { jobs: 0, ms: 0, cancelled: 0, diffs: 0 };
          s.jobs++;
          s.ms += r?.totalMs ?? performance.now() - startedAt;
          if (r?.outcome === "interrupted") s.cancelled++;
          if (plan.job.diff && r?.outcome === "ok") s.diffs++;
          stats.set(key, s);
          const v = await judge(plan.job, r, isDead ? died : undefined);
          if (v) record(runtime, plan, v);
        }
        // After a death, the jobs the child never reached run in a new one.
        pending = died ? pending.filter((p) => !results.has(p.job.id) && p.job.id !== died.id) : [];
      }
    }
  }

  await Promise.all(Array.from({ length: parallel }, lane));
  // New findings first: known ones only get what budget is left.
  queued.sort((a, b) => Number(!!a.entry.owner) - Number(!!b.entry.owner));
  const shrinkEnd = performance.now() + shrinkBudget;
  for (const q of queued) await shrinkAndSave(q.runtime, q.plan, q.v, q.entry);
  console.log(`\nfuzz: seed ${seed}: ${next} jobs generated`);
  for (const [key, s] of [...stats].sort()) {
    console.log(
      `  ${key.padEnd(12)} ${String(s.jobs).padStart(5)} jobs, ${(s.ms / 1000).toFixed(0).padStart(5)} s in workers, ` +
        `${s.cancelled} cancelled, ${s.diffs} compared with the stock interpreter`,
    );
  }
  const fresh = findings.filter((f) => !f.owner);
  for (const f of findings) {
    console.log(`  ${f.owner ? "known" : "NEW  "} ${f.sig} x${f.count}${f.file ? ` -> ${f.file}` : ""}`);
  }
  console.log(fresh.length ? `fuzz: ${fresh.length} new finding(s)` : "fuzz: no new findings");
  rmSync(work, { recursive: true, force: true });
  return exit(fresh.length ? 1 : 0);
}

await main();
