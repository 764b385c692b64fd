// LuaWorker.reset() and LuaPool: fresh states in the same worker, a queue
// with back-pressure, per-task cancellation, stuck workers replaced.
import assert from "node:assert/strict";
import { interrupt, LuaError, LuaPool, LuaPoolError, LuaWorker, MtintError, registryStats } from "../mod.ts";
import { eachVersion, luaVersions, rejection, sleep, test } from "./harness.ts";

const hostModule = new URL("./fixtures/host_functions.ts", import.meta.url);
// About a second inside one C function (see tests/untrusted.test.ts).
// Seconds inside one C function, as Lua sees it: a host function that blocks.
const STUCK_IN_C = "require('host').block(3000)";
const blocking = new URL("./fixtures/host_functions.ts", import.meta.url);

function isInterrupted(err: unknown): err is MtintError {
  return err instanceof MtintError && err.code === "interrupted";
}

eachVersion("reset(): a fresh state with the same options and a new id", async (lua) => {
  await using w = await LuaWorker.create({ lua, host: hostModule, memoryLimit: 4 << 20 });
  const before = registryStats();
  const oldId = w.id;
  await w.run("x = 42");
  const order = [w.run("return x"), w.reset(), w.run("return x")];
  assert.deepEqual(await order[0], [42], "a call made before reset runs on the old state");
  await order[1];
  assert.deepEqual(await order[2], [null], "a call made after it runs on the new one");
  assert.notEqual(w.id, oldId);
  assert.deepEqual(await w.run("return require('mtint').id()"), [w.id]);
  assert.throws(() => interrupt(oldId), (e) => e instanceof MtintError && e.code === "unknown_object");
  assert.deepEqual(await w.run("return require('host').add(1, 2)"), [3], "host functions are defined again");
  const err = await rejection(w.run("return string.rep('x', 8 * 1024 * 1024)"));
  assert.ok(err instanceof LuaError && err.code === "memory", "the memory limit holds");
  assert.deepEqual(registryStats(), before, "the old state's ids are gone");
  w.interrupt();
  await w.reset();
  assert.deepEqual(await w.run("return 1"), [1], "an interrupt of the old state does not reach the new one");
});

eachVersion("reset() checks its options; a closed worker refuses it", async (lua) => {
  const w = await LuaWorker.create({ lua });
  await assert.rejects(w.reset({ grace: -1 }), RangeError);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(w.reset(null as any), TypeError);
  await w.close();
  await assert.rejects(w.reset(), TypeError);
});

test("LuaPool: tasks in order of arrival, results and errors", async () => {
  const lua = luaVersions[luaVersions.length - 1];
  await using pool = await LuaPool.create({ lua, size: 1, reset: "keep", init: "seen = {}" });
  const runs = Array.from({ length: 20 }, (_, i) => pool.run("seen[#seen + 1] = ... return #seen", { args: [i] }));
  assert.deepEqual(await Promise.all(runs), Array.from({ length: 20 }, (_, i) => [i + 1]));
  assert.deepEqual(await pool.run("return table.concat(seen, ',')"), [
    Array.from({ length: 20 }, (_, i) => i).join(","),
  ]);
  const err = await rejection(pool.run("error('boom')"));
  assert.ok(err instanceof LuaError && /boom/.test(err.message));
  const stats = pool.stats();
  assert.equal(stats.completed, 21);
  assert.equal(stats.failed, 1);
  assert.equal(stats.size, 1);
  assert.ok(stats.taskMs !== null && stats.taskMs.p50 >= 0 && stats.taskMs.max >= stats.taskMs.p99);
});

eachVersion("LuaPool: reset modes keep, state and init", async (lua) => {
  {
    await using pool = await LuaPool.create({ lua, size: 1, reset: "keep" });
    await pool.run("n = (n or 0) + 1");
    assert.deepEqual(await pool.run("return n"), [1]);
  }
  {
    await using pool = await LuaPool.create({ lua, size: 1, reset: "state" });
    await pool.run("n = 1");
    assert.deepEqual(await pool.run("return n"), [null]);
  }
  {
    await using pool = await LuaPool.create({ lua, size: 2, init: "n = 10" });
    for (let i = 0; i < 6; i++) assert.deepEqual(await pool.run("n = n + 1 return n"), [11]);
  }
});

test("LuaPool: back-pressure beyond maxQueue", async () => {
  const lua = luaVersions[0];
  await using pool = await LuaPool.create({ lua, size: 1, maxQueue: 2 });
  const recv = "return require('host').recv(5)";
  const held = [pool.run(recv), pool.run("return 1"), pool.run("return 2")];
  for (const run of held) run.catch(() => {});
  const err = await rejection(pool.run("return 3"));
  assert.ok(err instanceof LuaPoolError && err.code === "queue_full", String(err));
  assert.equal(pool.stats().queued, 2);
  assert.equal(pool.stats().busy, 1);
  await sleep(20);
  await pool.close({ cancel: true });
  for (const run of held) assert.ok(isInterrupted(await rejection(run)));
  const closed = await rejection(pool.run("return 4"));
  assert.ok(closed instanceof LuaPoolError && closed.code === "closed");
});

eachVersion("LuaPool: runaways stop at their timeout and every other task is answered", async (lua) => {
  await using pool = await LuaPool.create({ lua, size: 2, timeout: 30 });
  const tasks = Array.from({ length: 40 }, (_, i) => i % 10 === 3 ? "while true do end" : `return ${i}`);
  const settled = await Promise.allSettled(tasks.map((chunk) => pool.run(chunk)));
  settled.forEach((s, i) => {
    if (i % 10 === 3) assert.ok(s.status === "rejected" && isInterrupted(s.reason), `task ${i}`);
    else assert.deepEqual(s.status === "fulfilled" && s.value, [i]);
  });
  assert.equal(pool.stats().replaced, 0, "interrupted workers are kept");
});

eachVersion("LuaPool: a worker stuck in a C function is retired and replaced, the queue goes on", async (lua) => {
  await using pool = await LuaPool.create({ lua, size: 1, timeout: 20, retireAfter: 50, host: blocking });
  const stuck = pool.run(STUCK_IN_C);
  const next = pool.run("return 'next'");
  const err = await rejection(stuck);
  assert.ok(isInterrupted(err) && /retired/.test(err.message), String(err));
  assert.deepEqual(await next, ["next"]);
  assert.equal(pool.stats().replaced, 1);
}, 120_000);

eachVersion("LuaPool: a signal cancels a queued or a running task", async (lua) => {
  await using pool = await LuaPool.create({ lua, size: 1 });
  const running = new AbortController(), queued = new AbortController();
  const a = pool.run("while true do end", { signal: running.signal });
  const b = pool.run("return 'never'", { signal: queued.signal });
  const c = pool.run("return 'after'");
  queued.abort("no");
  assert.ok(isInterrupted(await rejection(b)));
  await sleep(10);
  running.abort("stop");
  const err = await rejection(a);
  assert.ok(isInterrupted(err) && err.cause === "stop", String(err));
  assert.deepEqual(await c, ["after"]);
});

test("LuaPool: close() drains the queue first; create() checks its options", async () => {
  const lua = luaVersions[0];
  const pool = await LuaPool.create({ lua, size: 1 });
  const runs = [pool.run("return 1"), pool.run("return 2")];
  await pool.close();
  assert.deepEqual(await Promise.all(runs), [[1], [2]]);
  for (
    const bad of [{ size: 0 }, { size: 1.5 }, { maxQueue: -1 }, { reset: "no" }, { retireAfter: NaN }, {
      init: 1,
    }, { reset: "state", init: "x = 1" }]
  ) {
    // deno-lint-ignore no-explicit-any
    await assert.rejects(
      LuaPool.create({ lua, ...bad } as any),
      (e) => e instanceof RangeError || e instanceof TypeError,
    );
  }
  await assert.rejects(LuaPool.create({ lua, init: "error('init fails')" }), LuaError);
});
