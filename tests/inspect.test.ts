// Seeing inside a worker: memory() from the allocator mtint owns, the CPU
// time of the worker thread, and cpuLimit, which cancels a call by the CPU
// time it used, not the wall time it took.
import assert from "node:assert/strict";
import { LuaWorker, MtintError } from "../mod.ts";
import { eachVersion, rejection } from "./harness.ts";

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
