// Seeing inside a worker: memory() from the allocator mtint owns, the CPU
// time of the worker thread, and cpuLimit, which cancels a call by the CPU
// time it used, not the wall time it took; stack(), profile(), pause() and
// resume() of a running call.
import assert from "node:assert/strict";
import { LuaWorker, MtintError } from "../mod.ts";
import { eachVersion, rejection, sleep, test } from "./harness.ts";
import { decodeStack, type LuaStack } from "../src/inspect.ts";
import { flameGraph } from "../src/flamegraph.ts";

eachVersion("memory(): used, peak, allocations and limit", async (lua) => {
  await using w = await LuaWorker.create({ lua, memoryLimit: 16 * 1024 * 1024 });
  const before = w.memory();
  assert.equal(before.limit, 16 * 1024 * 1024);
  assert.ok(before.used > 0 && before.peak >= before.used && before.allocations > 0, JSON.stringify(before));
  assert.equal(before.used, w.memoryUsed());
  await w.run("local t = {} for i = 1, 20000 do t[i] = {i} end t = nil collectgarbage() collectgarbage()");
  const after = w.memory();
  assert.ok(after.peak >= before.used + 20000 * 16, `the peak saw the tables: ${JSON.stringify(after)}`);
  assert.ok(after.used < after.peak / 2, `used fell again: ${JSON.stringify(after)}`);
  assert.ok(after.allocations >= before.allocations + 20000, "every table was an allocation");
  await using unlimited = await LuaWorker.create({ lua });
  assert.equal(unlimited.memory().limit, null);
});

eachVersion("cpuTime(): CPU spent in calls; waiting does not count", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  assert.ok(w.cpuTime() >= 0);
  const t0 = w.cpuTime();
  await w.run("local x = 0 for i = 1, 3e6 do x = x + i end");
  const busy = w.cpuTime() - t0;
  assert.ok(busy > 0.5, `a busy loop used CPU: ${busy} ms`);
  const t1 = w.cpuTime();
  await w.run("require('host').recv(0.2)");
  const waiting = w.cpuTime() - t1;
  assert.ok(waiting < 100, `200 ms of waiting used ${waiting} ms of CPU`);
});

eachVersion("cpuLimit cancels by CPU time (cause cpuLimit); a call that waits is not cancelled", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const err = await rejection(w.run("while true do end", { cpuLimit: 30 }));
  assert.ok(err instanceof MtintError && err.code === "interrupted" && err.cause === "cpuLimit", String(err));
  assert.ok(w.cpuTime() >= 25, `it ran for its CPU limit: ${w.cpuTime()} ms`);
  assert.deepEqual(await w.run("require('host').recv(0.15) return 'waited'", { cpuLimit: 30 }), ["waited"]);
  const timedOut = await rejection(w.run("while true do end", { cpuLimit: 60_000, timeout: 30 }));
  assert.ok(timedOut instanceof MtintError && timedOut.cause === "timeout", String(timedOut));
  assert.deepEqual(await w.run("return 1", { cpuLimit: 5 }), [1]);
  for (const bad of [0, -1, NaN, "5"]) {
    // deno-lint-ignore no-explicit-any
    await assert.rejects(w.run("return 1", { cpuLimit: bad as any }), RangeError);
  }
});

// --- stack, profile, pause ------------------------------------------------

/** Asks for the stack until `reached` holds (the call may not be there yet). */
async function stackWhere(w: LuaWorker, reached: (s: LuaStack) => boolean): Promise<LuaStack> {
  for (let i = 0; i < 500; i++) {
    const stack = await w.stack({ wait: 5000 });
    if (stack !== null && reached(stack)) return stack;
    await sleep(2);
  }
  throw new Error("the stack never got there");
}

/** Asks for the stack until its innermost frame is `name`. */
function stackAt(w: LuaWorker, name: string): Promise<LuaStack> {
  return stackWhere(w, (s) => s.frames[0]?.name === name);
}

const NESTED = `local function spin()
  while true do end
end
local function middle() spin() end
middle()
`;

eachVersion("stack(): names, lines and what of the running frames; null when idle", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  assert.equal(await w.stack(), null);
  const call = w.run(NESTED, { name: "nested" });
  const stack = await stackAt(w, "spin");
  assert.equal(stack.inC, false);
  assert.equal(stack.truncated, false);
  assert.deepEqual(stack.frames, [
    { name: "spin", source: "nested", line: 2, what: "Lua" },
    { name: "middle", source: "nested", line: 4, what: "Lua" },
    { name: null, source: "nested", line: 5, what: "main" },
  ]);
  w.interrupt();
  await assert.rejects(call, MtintError);
  assert.equal(await w.stack(), null);
  assert.deepEqual(await w.run("return 1 + 1"), [2], "the state works after being inspected");
});

eachVersion("stack(): inside a coroutine, across the resume into the main chunk", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const stop = new AbortController(); // interrupt() aims at the main state, not the coroutine
  const call = w.run(
    `local co = coroutine.wrap(function()
      local function deep() while true do end end
      deep()
    end)
    co()`,
    { name: "co", signal: stop.signal },
  );
  const { frames } = await stackAt(w, "deep");
  assert.deepEqual(frames[0], { name: "deep", source: "co", line: 2, what: "Lua" });
  assert.equal(frames[1].line, 3, JSON.stringify(frames));
  assert.deepEqual(frames.at(-1), { name: null, source: "co", line: 5, what: "main" }, JSON.stringify(frames));
  assert.ok(frames.some((f) => f.what === "C"), `the resume shows as a C frame: ${JSON.stringify(frames)}`);
  stop.abort();
  await assert.rejects(call, MtintError);
});

eachVersion(
  "stack(): inside a C function it answers after `wait` with inC, and when the function returns",
  async (lua) => {
    await using w = await LuaWorker.create({ lua });
    const call = w.run("local v = require('host').recv() while true do end", { name: "recv" });
    await sleep(20);
    const blocked = await w.stack({ wait: 30 });
    assert.deepEqual(blocked, { frames: [], truncated: false, inC: true });
    w.send(1);
    const after = await stackWhere(w, (s) => !s.inC);
    assert.deepEqual(after.frames, [{ name: null, source: "recv", line: 1, what: "main" }]);
    w.interrupt();
    await assert.rejects(call, MtintError);
    await assert.rejects(w.stack({ wait: -1 }), RangeError);
  },
);

test("stack(): the answer's layout decodes (empty, truncated, non-UTF-8 names)", () => {
  assert.deepEqual(decodeStack(new Uint8Array(0)), { frames: [], truncated: false, inC: false });
  const bytes = new Uint8Array([1, 0, 0, 0, 1, 7, 0, 0, 0, 1, 2, 0, 1, 0, 0xff, 0x61, 0x62]);
  assert.deepEqual(decodeStack(bytes), {
    frames: [{ name: "\ufffda", source: "b", line: 7, what: "C" }],
    truncated: true,
    inC: false,
  });
});

eachVersion("profile(): the hot function dominates the folded stacks; the SVG is well-formed", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  assert.throws(() => w.profile({ hz: 0 }), RangeError);
  const p = w.profile({ hz: 500 });
  assert.throws(() => w.profile(), /already being profiled/);
  const call = w.run(
    `local function hot() local x = 0 for i = 1, 20000 do x = x + i end return x end
    local function cold() local x = 0 for i = 1, 200 do x = x + i end return x end
    while true do hot() cold() end`,
    { name: "prof" },
  );
  for (const start = w.cpuTime(); w.cpuTime() - start < 150;) await sleep(10);
  const { samples, folded, svg } = await p.stop();
  w.interrupt();
  await assert.rejects(call, MtintError);
  const lines = folded.trim().split("\n");
  assert.ok(samples > 0 && lines.length > 0, folded);
  let total = 0, hot = 0;
  for (const line of lines) {
    const m = line.match(/^(.+) (\d+)$/);
    assert.ok(m, `folded line: ${line}`);
    total += Number(m[2]);
    if (m[1].endsWith(";hot (prof:1)")) hot += Number(m[2]);
    assert.ok(m[1].startsWith("main chunk (prof:0)"), `rooted at the chunk: ${line}`);
  }
  assert.equal(total, samples);
  assert.ok(hot > total / 2, `hot() dominates: ${folded}`);
  assert.ok(svg.startsWith("<svg ") && svg.trim().endsWith("</svg>"), "an SVG document");
  assert.equal(svg.match(/<g>/g)?.length, svg.match(/<\/g>/g)?.length);
  assert.ok(svg.includes("hot (prof:1) ("), "hover titles name the frames");
  const again = w.profile({ hz: 100 }); // a new profile after a stop
  assert.equal((await again.stop()).samples, 0, "nothing runs: no samples");
});

eachVersion("profile(): a call running inside a coroutine is sampled at every tick", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const hz = 500, stop = new AbortController();
  const call = w.run(
    `local function spin(n) local x = 0 for i = 1, n do x = x + i end return x end
    coroutine.wrap(function() while true do spin(20000) end end)()`,
    { name: "prof", signal: stop.signal },
  );
  while ((await w.stack()) === null) await sleep(1);
  const p = w.profile({ hz });
  const start = w.cpuTime();
  while (w.cpuTime() - start < 200) await sleep(10);
  const { samples, folded } = await p.stop();
  const ran = w.cpuTime() - start;
  stop.abort(); // interrupt() would wait for the coroutine to return to the main state
  await assert.rejects(call, MtintError);
  // One sample per tick while it runs (5.1 to 5.3 reach a coroutine only
  // by the kick signal, which a profile tick sends only while one runs).
  assert.ok(samples >= ran * hz / 1000 * 0.7, `${samples} samples in ${ran.toFixed(0)} ms of CPU: ${folded}`);
  assert.ok(folded.split("\n").every((l) => l === "" || l.includes(";? (prof:2)")), folded);
});

test("flame graph: escapes names and keeps widths to the samples", () => {
  const svg = flameGraph('a;<b&"c> 3\na 1\nbad line\n', "t");
  assert.ok(svg.includes("&lt;b&amp;&quot;c&gt;") && !svg.includes("<b&"), svg);
  assert.ok(svg.includes("all (4 samples, 100.00%)") && svg.includes("(3 samples, 75.00%)"), svg);
});

/** Values posted by the script so far. */
function collect(w: LuaWorker): number[] {
  const got: number[] = [];
  w.addEventListener("message", (e) => got.push((e as MessageEvent).data as number));
  return got;
}

const COUNTER = `local host = require('host')
local n = 0
while n < ... do
  n = n + 1
  if n % 50000 == 0 then host.post(n) end
end
return n`;

eachVersion("pause() stops the call at its next instruction; resume() lets it finish correctly", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  assert.equal(await w.pause(), false, "nothing runs");
  assert.equal(w.resume(), false);
  const got = collect(w);
  const call = w.run(COUNTER, { args: [1e7] });
  while (got.length < 2) await sleep(2);
  assert.equal(await w.pause(), true);
  assert.equal(await w.pause(), true, "pausing a paused call");
  const cpu = w.cpuTime();
  await sleep(60); // the posts already made arrive
  const seen = got.length;
  await sleep(100);
  assert.equal(got.length, seen, "no iteration while paused");
  assert.ok(w.cpuTime() - cpu < 20, `it waits natively: ${w.cpuTime() - cpu} ms of CPU`);
  const stack = await w.stack({ wait: 5000 });
  assert.ok(
    stack && !stack.inC && stack.frames[0].what === "main",
    `the stack of a paused call: ${JSON.stringify(stack)}`,
  );
  assert.equal(w.resume(), true);
  assert.deepEqual(await call, [1e7]);
  await sleep(20);
  assert.deepEqual(got, got.map((_, i) => (i + 1) * 50000), "every value once, in order");
  assert.equal(got.length, 200);
  assert.deepEqual(await w.run("return 'after'"), ["after"]);
});

eachVersion("while paused, a timeout, an interrupt and close() still end the call", async (lua) => {
  const spin = "while true do end";
  const running = (w: LuaWorker) => stackWhere(w, () => true);
  {
    await using w = await LuaWorker.create({ lua });
    const timedOut = w.run(spin, { timeout: 200 });
    await running(w);
    assert.equal(await w.pause(), true);
    const err = await rejection(timedOut);
    assert.ok(err instanceof MtintError && err.cause === "timeout", String(err));
    const interrupted = w.run(spin);
    await running(w);
    assert.equal(await w.pause(), true);
    w.interrupt();
    assert.ok((await rejection(interrupted)) instanceof MtintError);
    const aborted = new AbortController();
    const signalled = w.run(spin, { signal: aborted.signal });
    await running(w);
    assert.equal(await w.pause(), true);
    aborted.abort("stop");
    assert.ok((await rejection(signalled)) instanceof MtintError);
    assert.equal(w.resume(), false, "nothing left paused");
    assert.deepEqual(await w.run("return 3"), [3]);
    const closing = w.run(spin);
    await running(w);
    assert.equal(await w.pause(), true);
    await w.close();
    const closed = await rejection(closing);
    assert.ok(closed instanceof MtintError && closed.code === "interrupted", String(closed));
    await assert.rejects(w.pause(), TypeError);
    await assert.rejects(w.stack(), TypeError);
    assert.throws(() => w.profile(), TypeError);
  }
});
