/**
 * Latencies, all from native timestamps (CLOCK_MONOTONIC: nowNs() in JS,
 * host.clock() in Lua):
 *
 * - interrupt(id) → the hook fires in the worker (issue 7, 1);
 * - interrupt(id) → the run() promise rejects on the main thread (issue 7, 1);
 * - the same from a timer, the event loop idle, with the shared-memory
 *   wake-up and with the message alone, interleaved (issue 13, 4);
 * - a run's timeout → the cancellation stops the loop / the promise rejects (issue 6);
 * - mailbox round trip: JS send → Lua recv → Lua post → JS (issue 5);
 * - run("return 1") round trip (issue 7, 5).
 *
 * @module
 */
import { interrupt, type LuaWorker, MtintError } from "../../mod.ts";
import { useWaitAsync } from "../../src/call_queue.ts";
import { type Figure, Inbox, nowNs, percentiles, type Results, spin, yieldLoop } from "../lib.ts";

const us = (limit: number, text: string) => ({ op: "le" as const, limit, text });

export interface LatencyCounts {
  interrupts: number;
  warmup: number;
  deadlines: number;
  mailbox: number;
  roundTrips: number;
}

/** interrupt(id) → the interrupt handler takes host.clock() in the worker. */
export async function hookLatency(res: Results, version: string, lua: LuaWorker, c: LatencyCounts): Promise<void> {
  const inbox = new Inbox(lua);
  const total = c.warmup + c.interrupts;
  const running = lua.run(
    `local mtint, host = require "mtint", require "host"
    local target, n = ..., 0
    local post, clock = host.post, host.clock
    mtint.sethook(function()
      local t = clock()
      n = n + 1
      post(t)
    end)
    post("ready")
    while n < target do end
    mtint.sethook(nil)
    return n`,
    { args: [total], name: "hook-latency" },
  );
  if ((await inbox.next()) !== "ready") throw new Error("hook latency: unexpected message");
  const samples: number[] = [];
  for (let i = 0; i < total; i++) {
    await yieldLoop();
    spin(50 + Math.random() * 150); // the worker is back in its loop; spread the phase
    const t0 = nowNs();
    interrupt(lua.id);
    const t1 = (await inbox.next()) as number;
    if (i >= c.warmup) samples.push(t1 * 1e9 - t0);
  }
  const [n] = await running;
  if (n !== total) throw new Error(`hook latency: ${n} hooks for ${total} interrupts`);
  res.samples[`hook:${version}`] = samples;
  res.figures.push(
    ...percentiles(
      { section: "latency", name: "interrupt(id) → hook fires in the worker", version, unit: "µs" },
      samples,
      {
        p50: us(3, "≤ 3 µs"),
        p99: us(20, "≤ 20 µs"),
        rock50: "1.9–2.4 µs",
        rock99: "3–14 µs",
      },
    ),
  );
}

/** interrupt(id) → the pending run() rejects with MtintError("interrupted") on the main thread. */
export async function rejectLatency(res: Results, version: string, lua: LuaWorker, c: LatencyCounts): Promise<void> {
  const inbox = new Inbox(lua);
  const samples: number[] = [];
  for (let i = 0; i < c.warmup + c.interrupts; i++) {
    const running = lua.run(`require("host").post(0) while true do end`, { name: "runaway" });
    await inbox.next();
    spin(20 + Math.random() * 80);
    const t0 = nowNs();
    interrupt(lua.id);
    let t1 = 0;
    try {
      await running;
    } catch (err) {
      t1 = nowNs();
      if (!(err instanceof MtintError) || err.code !== "interrupted") throw err;
    }
    if (t1 === 0) throw new Error("reject latency: the runaway returned");
    if (i >= c.warmup) samples.push(t1 - t0);
  }
  res.samples[`reject:${version}`] = samples;
  res.figures.push(
    ...percentiles({ section: "latency", name: "interrupt(id) → run() rejects in JS", version, unit: "µs" }, samples, {
      p50: us(100, "≤ 100 µs"),
      p99: us(1000, "≤ 1 ms"),
      rock50: "postMessage design: Deno 128 µs, Bun 32 µs",
      rock99: "Deno 502 µs, Bun 361 µs",
    }),
  );
}

/**
 * interrupt(id) from a timer, the main thread's event loop otherwise idle
 * (a server between requests), → the run() promise rejects: woken by
 * Atomics.waitAsync on the channel, and by the worker's message alone,
 * sample by sample in turn.
 */
export async function idleRejectLatency(
  res: Results,
  version: string,
  lua: LuaWorker,
  c: LatencyCounts,
): Promise<void> {
  const inbox = new Inbox(lua);
  const ways = { "waitAsync": [] as number[], "message only": [] as number[] };
  for (let i = 0; i < c.warmup + c.interrupts; i++) {
    for (const [way, samples] of Object.entries(ways)) {
      useWaitAsync(way === "waitAsync");
      const running = lua.run(`require("host").post(0) while true do end`, { name: "runaway" });
      await inbox.next();
      const took = await new Promise<number>((resolve, reject) =>
        setTimeout(() => {
          const t0 = nowNs();
          interrupt(lua.id);
          running.then(() => reject(new Error("idle reject latency: the runaway returned")), (err) => {
            const t1 = nowNs();
            if (!(err instanceof MtintError) || err.code !== "interrupted") reject(err);
            resolve(t1 - t0);
          });
        }, 1 + Math.random())
      );
      if (i >= c.warmup) samples.push(took);
    }
  }
  useWaitAsync(true);
  for (const [way, samples] of Object.entries(ways)) {
    res.samples[`idle-reject:${way}:${version}`] = samples;
    res.figures.push(
      ...percentiles(
        {
          section: "idle",
          name: `interrupt(id) from a timer, loop idle → run() rejects (${way})`,
          version,
          unit: "µs",
        },
        samples,
        way === "waitAsync" ? { p50: us(100, "≤ 100 µs"), p99: us(1000, "≤ 1 ms") } : {},
      ),
    );
  }
}

/**
 * A run with { timeout: T } on a busy loop that stamps host.clock() at
 * every iteration: the last stamp is when the cancellation stopped it.
 * Lateness is measured from the chunk's first stamp + T; the deadline is
 * set a few µs earlier (when the call begins, before the chunk compiles),
 * so the figures understate the lateness by that much.
 */
export async function deadlineLateness(
  res: Results,
  version: string,
  lua: LuaWorker,
  c: LatencyCounts,
  timeoutMs = 2,
): Promise<void> {
  await lua.run(`local clock = require("host").clock
    function BENCH_SPIN() START = clock() while true do LAST = clock() end end`);
  const stopped: number[] = [];
  const rejected: number[] = [];
  for (let i = 0; i < c.warmup / 5 + c.deadlines; i++) {
    let t1 = 0;
    try {
      await lua.run("BENCH_SPIN()", { timeout: timeoutMs, name: "deadline" });
    } catch (err) {
      t1 = nowNs();
      if (!(err instanceof MtintError) || err.code !== "interrupted") throw err;
    }
    const [start, last] = (await lua.run("return START, LAST")) as number[];
    const deadline = start * 1e9 + timeoutMs * 1e6;
    if (i >= c.warmup / 5) {
      stopped.push(last * 1e9 - deadline);
      rejected.push(t1 - deadline);
    }
  }
  res.samples[`deadline:${version}`] = stopped;
  const note = `timeout ${timeoutMs} ms on a busy loop; from the chunk's first statement`;
  res.figures.push(
    ...percentiles(
      { section: "deadline", name: "timeout → loop stops (lateness, native)", version, unit: "µs", note },
      stopped,
    ),
    ...percentiles(
      { section: "deadline", name: "timeout → run() rejects in JS (lateness)", version, unit: "µs", note },
      rejected,
    ),
  );
}

/** JS lua.send(v) → Lua host.recv() → host.post(v) → the main thread has it. */
export async function mailboxRoundTrip(res: Results, version: string, lua: LuaWorker, c: LatencyCounts): Promise<void> {
  const inbox = new Inbox(lua);
  const total = c.warmup + c.mailbox;
  const echo = lua.run(
    `local host = require "host"
    local post, recv = host.post, host.recv
    for _ = 1, ... do post(recv()) end`,
    { args: [total], name: "echo" },
  );
  const samples: number[] = [];
  for (let i = 0; i < total; i++) {
    const t0 = nowNs();
    lua.send(i);
    const v = await inbox.next();
    const t1 = nowNs();
    if (v !== i) throw new Error(`mailbox: sent ${i}, got ${v}`);
    if (i >= c.warmup) samples.push(t1 - t0);
  }
  await echo;
  res.figures.push(
    ...percentiles({ section: "mailbox", name: "send → recv → post → JS round trip", version, unit: "µs" }, samples),
  );
}

/** await lua.run("return 1"). */
export async function runRoundTrip(res: Results, version: string, lua: LuaWorker, c: LatencyCounts): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < c.warmup + c.roundTrips; i++) {
    const t0 = nowNs();
    const [one] = await lua.run("return 1");
    const t1 = nowNs();
    if (one !== 1) throw new Error("run round trip: wrong result");
    if (i >= c.warmup) samples.push(t1 - t0);
  }
  res.samples[`roundtrip:${version}`] = samples;
  res.figures.push(
    ...percentiles({ section: "roundtrip", name: 'run("return 1") round trip', version, unit: "µs" }, samples, {
      p50: us(50, "≤ 50 µs"),
    }),
  );
}

/** The figures of one section, in order, for the progress log. */
export function summary(figures: Figure[], section: string, version: string): string {
  return figures.filter((f) => f.section === section && f.version === version)
    .map((f) => `${f.stat} ${f.value.toFixed(1)} ${f.unit}`).join(", ");
}

/** postMessage round trips with an empty echo worker: the runtime's floor under run("return 1"). */
export async function postMessageFloor(res: Results, c: LatencyCounts): Promise<void> {
  const worker = new Worker(new URL("../echo_worker.ts", import.meta.url).href, { type: "module" });
  let resolve: (v: unknown) => void = () => {};
  worker.onmessage = (event: MessageEvent) => resolve(event.data);
  const samples: number[] = [];
  for (let i = 0; i < c.warmup + c.roundTrips; i++) {
    const back = new Promise((r) => resolve = r);
    const t0 = nowNs();
    worker.postMessage(i);
    const v = await back;
    const t1 = nowNs();
    if (v !== i) throw new Error("echo worker: wrong reply");
    if (i >= c.warmup) samples.push(t1 - t0);
  }
  worker.terminate();
  res.figures.push(
    ...percentiles(
      {
        section: "roundtrip",
        name: "postMessage round trip with an empty echo worker (the runtime's floor)",
        version: "-",
        unit: "µs",
      },
      samples,
    ),
  );
}
