/**
 * What the calls cost (issue 7, 2), the registry at scale (issue 4), and
 * what a worker costs to create and to keep (issue 7, 5).
 *
 * @module
 */
import { interrupt, type LuaVersion, LuaWorker, MtintError, registryStats } from "../../mod.ts";
import {
  BENCH,
  collectJs,
  type Figure,
  Inbox,
  libDir,
  luaSource,
  median,
  nowNs,
  quantile,
  type Results,
  rssBytes,
  sleep,
  stockCommand,
  timedSpawn,
} from "../lib.ts";

const le = (limit: number, text: string) => ({ op: "le" as const, limit, text });

/** ns per call of `f`, batched: median of `rounds` rounds of `n` calls. */
function perCall(n: number, rounds: number, f: () => void): number {
  for (let i = 0; i < Math.min(n, 10000); i++) f();
  const xs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = nowNs();
    for (let i = 0; i < n; i++) f();
    xs.push((nowNs() - t0) / n);
  }
  return median(xs);
}

/** interrupt(id) and friends, from JS, on a live idle state and on an unknown id. */
export async function jsCallCosts(res: Results, version: string, lua: LuaWorker, calls: number): Promise<void> {
  const id = lua.id;
  const section = "calls";
  const live = perCall(calls, 5, () => interrupt(id));
  interrupt(id, false);
  const method = perCall(calls, 5, () => lua.interrupt());
  lua.interrupt(false);
  const withdraw = perCall(calls, 5, () => interrupt(id, false));
  // An id that was live and is gone: its state closed.
  const gone = await LuaWorker.create({ lua: version as LuaVersion });
  const goneId = gone.id;
  await gone.close();
  const unknown = perCall(Math.max(1000, calls / 20), 5, () => {
    try {
      interrupt(goneId);
    } catch (err) {
      if (!(err instanceof MtintError)) throw err;
    }
  });
  const clock = perCall(calls, 5, () => nowNs());
  // The state must not have kept a request: the next run completes.
  const [ok] = await lua.run("return 'ok'");
  if (ok !== "ok") throw new Error("calls: the state kept an interrupt");
  const base = { section, version, unit: "ns", stat: "mean", n: calls };
  res.figures.push(
    {
      ...base,
      name: "interrupt(id) from JS, live idle state",
      value: live,
      target: le(100, "≤ 100 ns"),
      rock: "from Lua: 76–95 ns",
    },
    { ...base, name: "lua.interrupt() from JS, live idle state", value: method },
    { ...base, name: "interrupt(id, false) from JS (withdraw)", value: withdraw },
    {
      ...base,
      name: "interrupt(id) from JS, unknown id (throws)",
      value: unknown,
      note: "includes creating and catching the MtintError",
    },
    { ...base, name: "nowNs() from JS (an FFI call, for scale)", value: clock },
  );
}

/** mtint.id() / mtint.interrupt(id) from Lua, inside a LuaWorker (bench/lua/calls.lua). */
export async function luaCallCosts(
  res: Results,
  version: string,
  lua: LuaWorker,
  other: LuaWorker,
  calls: number,
): Promise<void> {
  // A live state outside the scope of `lua`: it must look unknown, in time too.
  const stranger = await LuaWorker.create({ lua: version as LuaVersion });
  const [out] = (await lua.run(luaSource("lua/calls.lua"), {
    args: [calls, other.id, stranger.id],
    name: "calls.lua",
  })) as Record<string, number>[];
  await stranger.close();
  pushLuaCalls(res, version, out, "LuaWorker", calls);
}

function pushLuaCalls(res: Results, version: string, out: Record<string, number>, where: string, calls: number): void {
  const base = { section: where === "LuaWorker" ? "calls" : "dropin", version, unit: "ns", stat: "mean", n: calls };
  const rows: [string, string, string | undefined][] = [
    ["id_main", "mtint.id() of the running state, from Lua", "110–160 ns (registered state)"],
    ["id_co", "mtint.id(co) of a registered coroutine, from Lua", undefined],
    ["interrupt_co", "mtint.interrupt(id) from Lua, suspended coroutine, same state", "76–95 ns"],
    ["withdraw_co", "mtint.interrupt(id, false) from Lua, same coroutine", undefined],
    ["interrupt_other", "mtint.interrupt(id) from Lua, idle other state", "76–95 ns"],
    ["interrupt_unknown", "mtint.interrupt(id) from Lua, unknown id (pcall, raises)", undefined],
    ["interrupt_foreign", "mtint.interrupt(id) from Lua, live id outside its scope (pcall, raises)", undefined],
    ["pcall", "pcall of an empty Lua function (for scale)", undefined],
  ];
  for (const [key, name, rock] of rows) {
    if (out[key] === undefined) continue;
    res.figures.push({ ...base, name, value: out[key], rock });
  }
}

/**
 * n registered coroutines in one state (bench/lua/registry.lua): the cost
 * of a first mtint.id(co), of mtint.id() of a registered state, of
 * mtint.interrupt(id) on a suspended coroutine and on an idle other state;
 * the bytes a registration costs (Lua heap from lua.memoryUsed(), the rest
 * from VmRSS); and whether everything is reclaimed after collection.
 */
export async function registryScale(
  res: Results,
  version: string,
  lua: LuaWorker,
  other: LuaWorker,
  n: number,
): Promise<void> {
  const inbox = new Inbox(lua);
  const marks: Record<string, { lua: number; rss: number; ids: number }> = {};
  const running = lua.run(luaSource("lua/registry.lua"), { args: [n, other.id], name: "registry.lua" });
  for (const tag of ["start", "empty", "created", "registered", "released"]) {
    const got = await inbox.next();
    if (got !== tag) throw new Error(`registry: expected ${tag}, got ${got}`);
    await sleep(20);
    marks[tag] = { lua: lua.memoryUsed(), rss: await rssBytes(), ids: registryStats().ids };
    lua.send(true);
  }
  const [out] = (await running) as Record<string, number>[];
  const luaReg = marks.registered.lua - marks.created.lua;
  const rssReg = marks.registered.rss - marks.created.rss;
  const perCo = (marks.registered.rss - marks.empty.rss) / n;
  const section = "registry";
  const base = { section, version, n };
  res.figures.push(
    {
      ...base,
      name: "first mtint.id(co) of a new coroutine",
      stat: "mean",
      unit: "µs",
      value: out.first_id / 1e3,
      target: le(1.4, "≤ 1.4 µs"),
      rock: "1.4–1.9 µs",
    },
    { ...base, name: "mtint.id(co) again (registered coroutine)", stat: "mean", unit: "ns", value: out.again_id },
    {
      ...base,
      name: "mtint.id() of a registered state",
      stat: "mean",
      unit: "ns",
      value: out.main_id,
      target: le(110, "≤ 110 ns"),
      rock: "110–160 ns",
    },
    {
      ...base,
      name: "mtint.interrupt(id) from Lua, suspended coroutine, same state",
      stat: "mean",
      unit: "ns",
      value: out.interrupt_co,
      target: le(80, "≤ 80 ns"),
      rock: "80–100 ns",
      note: `${n} distinct coroutines`,
    },
    {
      ...base,
      name: "mtint.interrupt(id, false) from Lua, same coroutines",
      stat: "mean",
      unit: "ns",
      value: out.withdraw_co,
    },
    {
      ...base,
      name: "mtint.interrupt(id) from Lua, idle other state",
      stat: "mean",
      unit: "ns",
      value: out.interrupt_other,
      target: le(80, "≤ 80 ns"),
      rock: "80–100 ns",
    },
    {
      ...base,
      name: "bytes per registration (Lua heap + native)",
      stat: "mean",
      unit: "B",
      value: rssReg / n,
      target: le(340, "≤ 340 B"),
      rock: "340–410 B",
      note: "VmRSS delta of the process",
    },
    { ...base, name: "  of which Lua heap (lua.memoryUsed())", stat: "mean", unit: "B", value: luaReg / n },
    { ...base, name: "bytes per registered coroutine, coroutine included", stat: "mean", unit: "B", value: perCo },
    {
      ...base,
      name: "registry ids left after collection (0 = all reclaimed)",
      stat: "count",
      unit: "",
      value: marks.released.ids - marks.empty.ids,
    },
    {
      ...base,
      name: "ids registered at the peak",
      stat: "count",
      unit: "",
      value: marks.registered.ids - marks.empty.ids,
    },
    {
      ...base,
      name: "Lua heap after collection − at start (≤ 0: all reclaimed)",
      stat: "delta",
      unit: "kB",
      value: (marks.released.lua - marks.start.lua) / 1024,
    },
    {
      ...base,
      name: "process VmRSS after collection − at start (native memory kept)",
      stat: "delta",
      unit: "MB",
      value: (marks.released.rss - marks.start.rss) / 2 ** 20,
      note: "after malloc_trim",
    },
  );
}

/** LuaWorker.create() time and the memory an idle worker holds. */
export async function createAndIdle(res: Results, version: string, count: number): Promise<void> {
  const times: number[] = [];
  const workers: LuaWorker[] = [];
  // The first one pays for loading libraries on this thread: not counted.
  const first = await LuaWorker.create({ lua: version as LuaVersion });
  await first.run("return 1");
  collectJs();
  await sleep(50);
  const rss0 = await rssBytes();
  for (let i = 0; i < count; i++) {
    const t0 = nowNs();
    const w = await LuaWorker.create({ lua: version as LuaVersion });
    times.push(nowNs() - t0);
    await w.run("return 1");
    workers.push(w);
  }
  collectJs();
  await sleep(100);
  const rss1 = await rssBytes();
  const luaBytes = median(workers.map((w) => w.memoryUsed()));
  const closes: number[] = [];
  for (const w of [...workers, first]) {
    const t0 = nowNs();
    await w.close();
    closes.push(nowNs() - t0);
  }
  const base = { section: "roundtrip", version, n: count };
  res.figures.push(
    { ...base, name: "LuaWorker.create()", stat: "p50", unit: "ms", value: quantile(times, 0.5) / 1e6 },
    { ...base, name: "LuaWorker.create()", stat: "max", unit: "ms", value: Math.max(...times) / 1e6 },
    { ...base, name: "lua.close() of an idle worker", stat: "p50", unit: "ms", value: quantile(closes, 0.5) / 1e6 },
    {
      ...base,
      name: "memory of an idle worker (process VmRSS)",
      stat: "mean",
      unit: "MB",
      value: (rss1 - rss0) / count / 2 ** 20,
      note: `${count} workers`,
    },
    {
      ...base,
      name: "memory of an idle worker (Lua heap, memoryUsed())",
      stat: "p50",
      unit: "kB",
      value: luaBytes / 1024,
    },
  );
}

/** The same Lua scripts with the drop-in module under the stock interpreters. */
export function dropin(res: Results, version: LuaVersion, calls: number, n: number): void {
  const stock = stockCommand(version);
  if (!stock) {
    res.notes.push(`drop-in: no stock interpreter for ${version}`);
    return;
  }
  const env = { LUA_CPATH: `${libDir(version)}/?.so` };
  const parse = (stdout: string): Record<string, number> =>
    Object.fromEntries(stdout.trim().split("\n").map((l) => l.split("\t")).map(([k, v]) => [k, Number(v)]));
  const c = parse(timedSpawn(stock.bin, [...stock.flags, `${BENCH}lua/calls.lua`, String(calls)], env).stdout);
  pushLuaCalls(res, version, c, `${stock.bin}${stock.flags.length ? " " + stock.flags.join(" ") : ""}`, calls);
  const r = parse(timedSpawn(stock.bin, [...stock.flags, `${BENCH}lua/registry.lua`, String(n)], env).stdout);
  const where = `, ${n.toLocaleString("en-US")} registered`;
  const base = { section: "dropin", version, n, stat: "mean" };
  const figs: Figure[] = [
    {
      ...base,
      name: `first mtint.id(co) of a new coroutine${where}`,
      unit: "µs",
      value: r.first_id / 1e3,
      rock: "1.4–1.9 µs",
    },
    { ...base, name: `mtint.id() of a registered state${where}`, unit: "ns", value: r.main_id, rock: "110–160 ns" },
    {
      ...base,
      name: `mtint.interrupt(id), distinct suspended coroutines${where}`,
      unit: "ns",
      value: r.interrupt_co,
      rock: "80–100 ns",
    },
    {
      ...base,
      name: `bytes per registration (VmRSS delta)${where}`,
      unit: "B",
      value: (r.rss_registered - r.rss_created) / n,
      rock: "340–410 B",
    },
    {
      ...base,
      name: `Lua heap after collection − at start${where}`,
      unit: "kB",
      stat: "delta",
      value: (r.lua_released - r.lua_start) / 1024,
    },
  ];
  res.figures.push(...figs);
}
