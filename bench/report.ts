/**
 * Merges the runtimes' results (bench/results/deno.json, bun.json) into
 * bench/results/RESULTS.md, latency.svg and cpu.svg, and prints the
 * markdown. Runs under Deno or Bun:
 *
 *   deno run --allow-read --allow-write bench/report.ts
 *   bun bench/report.ts
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Figure, fmt, meets, PROGRAM_TEXT, PROGRAMS, quantile, type Results } from "./common.ts";
import { cdfChart, type Panel, ratioBars, type Series } from "./svg.ts";

const dir = fileURLToPath(new URL("./results/", import.meta.url));
const runs: Results[] = ["deno", "bun"]
  .filter((r) => existsSync(`${dir}${r}.json`))
  .map((r) => JSON.parse(readFileSync(`${dir}${r}.json`, "utf8")) as Results);
if (runs.length === 0) throw new Error(`no results in ${dir}: run bench/run.ts first`);

const VERSION_ORDER = ["5.1", "5.2", "5.3", "5.4", "luajit", "luajit+jit", "-"];
const RUNTIME_NAME: Record<string, string> = { deno: "Deno", bun: "Bun" };
const both = runs.map((r) => RUNTIME_NAME[r.runtime]).join(" / ");

const SECTIONS: [string, string, string][] = [
  [
    "latency",
    "1. Interrupt latency",
    "interrupt(id) from the main thread on a LuaWorker busy in a Lua loop. *hook fires*: the handler set with `mtint.sethook` takes `host.clock()` (the same CLOCK_MONOTONIC as `nowNs()`); *run() rejects*: `nowNs()` in the `catch` of the awaited call.",
  ],
  [
    "idle",
    "Interrupt latency, event loop idle (issue 13)",
    "interrupt(id) from a timer, the main thread otherwise idle (a server between requests), → `nowNs()` in the rejection handler of the awaited run(). Woken by `Atomics.waitAsync` on the channel (with the message as a fallback) and by the message alone, sample by sample in turn.",
  ],
  [
    "calls",
    "2. Cost of the calls",
    "ns per call, batched (JS: median of 5 rounds; Lua: one chunk timing itself with `host.clock()`, the empty loop subtracted).",
  ],
  [
    "cpu",
    "3–4. CPU-bound programs",
    "Ratios of median wall times (3 rounds, sides alternated, same process run). LuaWorker: `await lua.run(text)`; stock: `lua5.x file` through child_process minus the interpreter's start-up; wasmoon / fengari: the same text on the main thread. LuaJIT: the worker's default (JIT off) against `luajit -joff`; *luajit+jit*: `{ jit: true }` against `luajit -jon`.",
  ],
  [
    "runaway",
    "4. Stop a runaway script and run the next one",
    "From the decision to stop a `while true do end` to the next chunk's result on the main thread.",
  ],
  ["roundtrip", "5. Round trips, creation, memory", ""],
  [
    "functions",
    "Lua and JavaScript calling each other (issue 13)",
    "Lua → JS: timed inside Lua around each call (`host.clock()`), the main thread's loop idle. JS → Lua: timed from JavaScript around each `await`, one call at a time; *worker CPU*: the worker thread's CPU time per call (`lua.cpuTime()`), where compiling a chunk shows and the thread wake-ups do not. wasmoon: Lua 5.4 in WebAssembly on the caller's thread, a Lua loop calling a JS function, per call over batches of 100.",
  ],
  [
    "registry",
    "Registry at scale (issue 4)",
    "N registered coroutines in one LuaWorker state, in a fresh process per version (VmRSS deltas need one that has not grown yet); times from `host.clock()` inside one chunk; memory: `lua.memoryUsed()` for the Lua heap, the process VmRSS for the rest; `registryStats()` for what is left after `collectgarbage()`.",
  ],
  [
    "deadline",
    "Deadline precision (issue 6)",
    "`run(loop, { timeout: 2 })` on a loop that stores `host.clock()` at every iteration: lateness = the last stamp − (first stamp + 2 ms).",
  ],
  [
    "mailbox",
    "Mailbox round trip (issue 5)",
    "`lua.send(i)` → `host.recv()` → `host.post(v)` → the main thread's `messages()` iterator.",
  ],
  [
    "inspect",
    "Looking inside a running call (issue 14)",
    "Against a busy loop: from `lua.stack()` / `lua.pause()` in JS to the promise resolving (the poll included). Profiler: `bench/programs/fib.lua` with and without `lua.profile({ hz })`, rounds alternated, medians; overhead on the worker thread's CPU time (`lua.cpuTime()`), wall time beside it; the CPU per sample from a 10 kHz run.",
  ],
  [
    "floors",
    "Reference floors of this machine (C)",
    "`bench/native/floors.c`, built with `zig cc -O2` and run in each runtime's run: what the mechanisms under the figures above cost here without Lua or JavaScript.",
  ],
  [
    "ids",
    "Lookup by id in the core (issue 17)",
    "`bench/native/id_lookup.c`, built with `zig cc -O2` against `csrc/core`: decoding the keyed id permutation and checking a script's scope, without Lua or JavaScript; best of 7 rounds.",
  ],
  [
    "dropin",
    "The drop-in module under the stock interpreters",
    "`LUA_CPATH=zig-out/lib/<v>/?.so lua5.x bench/lua/{calls,registry}.lua` (LuaJIT with `-joff`): the same library as a plain C module, as the rock is used; runtime-independent, measured once.",
  ],
];

function versionsOf(figs: Figure[]): string[] {
  const vs = new Set(figs.map((f) => f.version));
  return VERSION_ORDER.filter((v) => vs.has(v));
}

function key(f: Figure): string {
  return `${f.section}\u0000${f.name}\u0000${f.stat}`;
}

/** The figure of each runtime for (section, name, stat, version). */
function lookup(section: string, name: string, stat: string, version: string): (Figure | undefined)[] {
  return runs.map((r) =>
    r.figures.find((f) => f.section === section && f.name === name && f.stat === stat && f.version === version)
  );
}

function cell(figs: (Figure | undefined)[]): string {
  const present = figs.filter((f): f is Figure => f !== undefined);
  if (present.length === 0) return "";
  const unit = present[0].unit;
  const parts = figs.map((f) => {
    if (!f) return "–";
    const text = fmt(f.value, unit === "×" ? "×" : "");
    return f.target && !meets(f.value, f.target) ? `${text} ✗` : text;
  });
  const shown = present.length === 1 ? [parts[figs.indexOf(present[0])]] : parts;
  return `${shown.join(" / ")}${unit && unit !== "×" ? ` ${unit}` : ""}`;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function rowsOf(section: string): { name: string; stat: string; target?: string; rock?: string; note?: string }[] {
  const seen = new Map<string, { name: string; stat: string; target?: string; rock?: string; note?: string }>();
  for (const r of runs) {
    for (const f of r.figures.filter((f) => f.section === section)) {
      const k = key(f);
      const row = seen.get(k) ?? { name: f.name, stat: f.stat };
      row.target ??= f.target?.text;
      row.rock ??= f.rock;
      if (f.note && section !== "cpu") row.note ??= f.note;
      seen.set(k, row);
    }
  }
  return [...seen.values()];
}

function sectionTable(section: string): string {
  const figs = runs.flatMap((r) => r.figures.filter((f) => f.section === section));
  if (figs.length === 0) return "_not measured_";
  const versions = versionsOf(figs);
  const rows = rowsOf(section);
  const hasTarget = rows.some((r) => r.target), hasRock = rows.some((r) => r.rock);
  const header = ["figure", "stat", ...versions.map((v) => (v === "-" ? "value" : v))];
  if (hasTarget) header.push("target");
  if (hasRock) header.push("the rock / reference");
  const body = rows.map((row) => {
    const cells = [
      row.name + (row.note ? ` (${row.note})` : ""),
      row.stat,
      ...versions.map((v) => cell(lookup(section, row.name, row.stat, v))),
    ];
    if (hasTarget) cells.push(row.target ?? "");
    if (hasRock) cells.push(row.rock ?? "");
    return cells;
  });
  return table(header, body);
}

/** Every figure with a target: one row per figure, a cell per version, and how many met. */
function targetsTable(): string {
  const all = runs.flatMap((r) => r.figures.filter((f) => f.target));
  const versions = versionsOf(all);
  const rows = new Map<string, Figure>();
  for (const f of all) if (!rows.has(key(f))) rows.set(key(f), f);
  const body = [...rows.values()].map((f) => {
    const mine = all.filter((g) => key(g) === key(f));
    const met = mine.filter((g) => meets(g.value, g.target!)).length;
    return [
      `${f.name} ${f.stat}`,
      f.target!.text,
      ...versions.map((v) => cell(lookup(f.section, f.name, f.stat, v))),
      met === mine.length ? `**all ${met}**` : `${met} of ${mine.length}`,
    ];
  });
  return table(["figure", "target", ...versions, "met"], body);
}

function cpuTimes(): string {
  const versions = VERSION_ORDER.filter((v) => runs.some((r) => r.times[`loop:worker:${v}`] !== undefined));
  const t = (key: string) => {
    const xs = runs.map((r) => r.times[key]);
    if (xs.every((x) => x === undefined)) return "";
    return xs.map((x) => (x === undefined ? "–" : x.toFixed(3))).join(" / ");
  };
  const body = PROGRAMS.flatMap((p) =>
    versions.map((v) => [
      PROGRAM_TEXT[p],
      v,
      t(`${p}:stock:${v}`),
      t(`${p}:host:${v}`),
      t(`${p}:worker:${v}`),
    ])
  );
  const alts = PROGRAMS.map((p) => [PROGRAM_TEXT[p], t(`${p}:wasmoon:-`), t(`${p}:fengari:-`)]);
  return [
    table(["program", "Lua", "stock interpreter", "C host (shared lib, pthread)", "LuaWorker"], body),
    "",
    table(["program", "wasmoon", "fengari (×6 of 1/6 of the work)"], alts),
  ].join("\n");
}

// ---------------------------------------------------------------- pictures

const COLORS: Record<string, string> = {
  "5.1": "#1f77b4",
  "5.2": "#ff7f0e",
  "5.3": "#2ca02c",
  "5.4": "#d62728",
  luajit: "#9467bd",
};

/** The C floor of a signal to a spinning thread (bench/native/floors.c), p50 of the first run that has it. */
function signalFloor(): [number, string][] {
  const f = runs.flatMap((r) => r.figures).find((f) =>
    f.section === "floors" && f.name.includes("rt_tgsigqueueinfo") && f.stat === "p50"
  );
  return f ? [[f.value, `C signal floor p50 ${fmt(f.value, "µs")}`]] : [];
}

function latencySvg(): string {
  const versions = VERSION_ORDER.filter((v) => runs.some((r) => r.samples[`hook:${v}`]));
  const series = (kind: string): Series[] =>
    runs.flatMap((r) =>
      versions.filter((v) => r.samples[`${kind}:${v}`]).map((v) => ({
        label: `${RUNTIME_NAME[r.runtime]}, Lua ${v}`,
        color: COLORS[v] ?? "#333",
        dashed: r.runtime === "bun",
        values: r.samples[`${kind}:${v}`].map((ns) => ns / 1e3),
      }))
    );
  const n = runs[0].samples[`hook:${versions[0]}`]?.length ?? 0;
  const panels: Panel[] = [
    {
      title: "interrupt(id) → hook fires in the worker",
      series: series("hook"),
      marks: [[3, "p50 target 3 µs"], [20, "p99 target 20 µs"], ...signalFloor()],
    },
    {
      title: "interrupt(id) → run() rejects on the main thread",
      series: series("reject"),
      marks: [[100, "p50 target 100 µs"], [1000, "p99 target 1 ms"]],
    },
  ];
  const m = runs[0].machine;
  return cdfChart(
    "mtint interrupt latency (cumulative distribution; above p90 the tail is stretched)",
    `${n} interrupts per line; solid: Deno, dashed: Bun; ${m.cpu}, ${m.cores} cores; ${runs[0].date.slice(0, 10)}`,
    panels,
  );
}

function cpuSvg(): string | undefined {
  const ref = "5.4";
  if (!runs.some((r) => r.times[`loop:stock:${ref}`])) return undefined;
  const groups = PROGRAMS.map((p) => ({
    label: PROGRAM_TEXT[p],
    bars: runs.flatMap((r) => {
      const stock = r.times[`${p}:stock:${ref}`];
      const rt = RUNTIME_NAME[r.runtime];
      return [
        {
          label: `mtint LuaWorker 5.4 (${rt})`,
          color: r.runtime === "deno" ? "#d62728" : "#ff9896",
          value: r.times[`${p}:worker:${ref}`] / stock,
        },
        {
          label: `wasmoon (${rt})`,
          color: r.runtime === "deno" ? "#1f77b4" : "#aec7e8",
          value: r.times[`${p}:wasmoon:-`] / stock,
        },
        {
          label: `fengari (${rt})`,
          color: r.runtime === "deno" ? "#7f7f7f" : "#c7c7c7",
          value: r.times[`${p}:fengari:-`] / stock,
        },
      ];
    }),
  }));
  return ratioBars(
    "CPU-bound Lua: time relative to the stock lua5.4 binary",
    `median of 3 rounds, each runtime against its own stock run; ${runs[0].machine.cpu}, ${runs[0].date.slice(0, 10)}`,
    groups,
    "stock lua5.4",
  );
}

// ---------------------------------------------------------------- the document

const m = runs[0].machine;
const engines = Object.assign({}, ...runs.map((r) => r.engines)) as Record<string, string>;
const lines: string[] = [];
lines.push("# mtint benchmark results", "");
lines.push(
  `Produced by \`sh scripts/bench.sh\` on ${
    runs.map((r) =>
      `${r.date.slice(0, 16).replace("T", " ")} UTC (${RUNTIME_NAME[r.runtime]}, ${r.seconds.toFixed(0)} s)`
    ).join(", ")
  }:`,
  "",
  ...runs.map((r) => `- \`${r.command}\``),
  `- \`deno run --allow-read --allow-write bench/report.ts\` (this file and the pictures)`,
  "",
  `**Machine:** ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, ${m.os}, Linux ${m.kernel}; load average (1, 5, 15 min) before → after each run: ${
    runs.map((r) => `${r.machine.loadBefore.join(" ")} → ${r.machine.loadAfter?.join(" ") ?? "?"}`).join(" / ")
  }.`,
  `**Runtimes:** ${runs.map((r) => r.runtimeVersion).join(", ")}. **Engines:** ${
    Object.entries(engines).map(([k, v]) => `${k} = ${v}`).join("; ")
  }.`,
  "",
  `Cells read **${both}** (one value: measured once, runtime-independent). ✗ marks a figure that misses its target. Latencies are p50 / p99 over the stated samples; “mean” figures are ns per call over batches.`,
  "",
  "![interrupt latency](latency.svg)",
  "",
  "## Targets",
  "",
  targetsTable(),
  "",
);
for (const [section, title, intro] of SECTIONS) {
  lines.push(`## ${title}`, "");
  if (intro) {
    const n = runs.flatMap((r) => r.figures).find((f) => f.section === "registry")?.n ?? 0;
    lines.push(intro.replace("N registered", `${n.toLocaleString("en-US")} registered`), "");
  }
  lines.push(sectionTable(section), "");
  if (section === "cpu") {
    lines.push(
      "Median times in seconds (" + both + " runs):",
      "",
      cpuTimes(),
      "",
      "![CPU-bound programs](cpu.svg)",
      "",
    );
  }
}
const notes = [...new Set(runs.flatMap((r) => r.notes.map((n) => `${RUNTIME_NAME[r.runtime]}: ${n}`)))];
if (notes.length) lines.push("## Notes", "", ...notes.map((n) => `- ${n}`), "");
// Sample counts, for the record.
const counts = runs.map((r) => {
  const k = Object.keys(r.samples).find((k) => k.startsWith("hook:"));
  return k
    ? `${RUNTIME_NAME[r.runtime]}: ${r.samples[k].length} interrupts per version (p99 ${
      fmt(quantile(r.samples[k], 0.99) / 1e3, "µs")
    } for ${k.slice(5)})`
    : "";
}).filter(Boolean);
if (counts.length) lines.push(`Samples: ${counts.join("; ")}.`, "");

const markdown = lines.join("\n");
writeFileSync(`${dir}RESULTS.md`, markdown);
writeFileSync(`${dir}latency.svg`, latencySvg());
const cpu = cpuSvg();
if (cpu) writeFileSync(`${dir}cpu.svg`, cpu);
console.log(markdown);
