// Lua functions called from JavaScript: lua.call(path | handle), function
// handles in results (calls, release, reset, close, other workers, the
// live-handle limit) and pool.call. TAG_FUNC and HANDLES_MAX are compared
// with src/protocol.ts by tests/protocol.test.ts.
import assert from "node:assert/strict";
import { LuaError, type LuaFunctionHandle, LuaPool, LuaWorker, MAX_HANDLES, MtintError } from "../mod.ts";
import { eachVersion, luaVersions, rejection, sleep, test } from "./harness.ts";

const SETUP = `
  game = { score = 0 }
  function game.add(n) game.score = game.score + n return game.score end
  function echo(...) return ... end
  function spin() while true do end end
  function wait_recv() return require("host").recv() end
  lazy = setmetatable({}, { __index = function(_, k) return function() return "lazy " .. k end end })
  callable = setmetatable({}, { __call = function(self, x) return "called with " .. tostring(x) end })
  counter = function() local n = 0 return function(k) n = n + (k or 1) return n end end`;

function isInterrupted(err: unknown): err is MtintError {
  return err instanceof MtintError && err.code === "interrupted";
}

eachVersion("call(): a global or a dotted path, __index and __call, values both ways", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  await w.run(SETUP);
  assert.deepEqual(await w.call("game.add", { args: [5] }), [5]);
  assert.deepEqual(await w.call("game.add", { args: [2] }), [7]);
  assert.deepEqual(await w.call("echo", { args: [1, "two", { three: [3] }, null, true] }), [
    1,
    "two",
    { three: [3] },
    null,
    true,
  ]);
  assert.deepEqual(await w.call("echo"), []);
  assert.deepEqual(await w.call("lazy.anything"), ["lazy anything"]);
  assert.deepEqual(await w.call("callable", { args: [4] }), ["called with 4"]);
  assert.deepEqual(await w.call("string.rep", { args: ["ab", 3] }), ["ababab"]);
});

eachVersion("call(): a path to no function names the path and what is there; the state stays usable", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  await w.run(SETUP);
  const cases: [string, RegExp][] = [
    ["missing", /^call: missing is a nil value, not a function$/],
    ["game.missing", /^call: game\.missing is a nil value, not a function$/],
    ["game.score", /^call: game\.score is a number value, not a function$/],
    ["game.score.x", /^call: game\.score\.x: game\.score is a number value, not a table$/],
    ["nope.a.b", /^call: nope\.a\.b: nope is a nil value, not a table$/],
  ];
  for (const [path, message] of cases) {
    const err = await rejection(w.call(path));
    assert.ok(err instanceof LuaError, `${path}: ${err}`);
    assert.match(err.message, message);
    assert.equal(err.code, "runtime");
  }
  for (const path of ["", "a..b", ".a", "a.", "1a", "a b", "a.b()", "a[1]", "é"]) {
    const err = await rejection(w.call(path));
    assert.ok(err instanceof TypeError, `${JSON.stringify(path)}: ${err}`);
    assert.match(err.message, /is not a Lua name or a dotted path/);
  }
  for (const bad of [42, null, {}, () => {}]) {
    assert.ok(await rejection(w.call(bad as never)) instanceof TypeError);
  }
  assert.ok(await rejection(w.call("echo", { args: 1 as never })) instanceof TypeError);
  // A Lua error inside the function, as run reports it.
  const err = await rejection(w.call("error", { args: ["boom", 0] }));
  assert.ok(err instanceof LuaError);
  assert.equal(err.message, "boom");
  assert.deepEqual(await w.call("game.add", { args: [1] }), [1]);
});

eachVersion("call(): timeout, signal, interrupt and close stop a called function", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  await w.run(SETUP);
  let err = await rejection(w.call("spin", { timeout: 30 }));
  assert.ok(isInterrupted(err));
  assert.equal(err.cause, "timeout");
  const controller = new AbortController();
  setTimeout(() => controller.abort("enough"), 30);
  err = await rejection(w.call("spin", { signal: controller.signal }));
  assert.ok(isInterrupted(err));
  assert.equal(err.cause, "enough");
  const running = w.call("spin");
  await sleep(30);
  w.interrupt();
  assert.ok(isInterrupted(await rejection(running)));
  // __index along the path runs under the call's deadline.
  await w.run("trap = setmetatable({}, { __index = function() while true do end end })");
  assert.ok(isInterrupted(await rejection(w.call("trap.x", { timeout: 30 }))));
  assert.ok(isInterrupted(await rejection(w.call("spin", { cpuLimit: 20 }))));
  assert.deepEqual(await w.call("game.add", { args: [1] }), [1]);
  // Queued behind a run, in order.
  const order: string[] = [];
  const first = w.run("require('host').recv(0.05) return 'run'").then(([v]) => order.push(String(v)));
  const second = w.call("echo", { args: ["call"] }).then(([v]) => order.push(String(v)));
  await Promise.all([first, second]);
  assert.deepEqual(order, ["run", "call"]);
  const stuck = w.call("spin");
  const queued = w.call("echo", { args: [1] });
  await sleep(20);
  await w.close();
  assert.ok(isInterrupted(await rejection(stuck)));
  assert.ok(isInterrupted(await rejection(queued)));
  assert.ok(await rejection(w.call("echo")) instanceof TypeError);
});

eachVersion(
  "handles: functions in results are callable, nested or not, and cross back as the same function",
  async (lua) => {
    await using w = await LuaWorker.create({ lua });
    await w.run(SETUP);
    const [next, api] = await w.run("return counter(), { inc = counter(), deep = { f = echo } }") as [
      LuaFunctionHandle,
      { inc: LuaFunctionHandle; deep: { f: LuaFunctionHandle } },
    ];
    assert.equal(typeof next, "function");
    assert.deepEqual(await next(), [1]);
    assert.deepEqual(await next(10), [11]);
    assert.deepEqual(await w.call(next, { args: [100], timeout: 1000 }), [111]);
    assert.deepEqual(await api.inc(), [1]);
    assert.deepEqual(await api.deep.f("x", { y: 1 }), ["x", { y: 1 }]);
    assert.equal(w.liveHandles, 3);
    const [h] = await w.call("counter") as [LuaFunctionHandle];
    assert.deepEqual(await h(), [1]);
    // Passed back: Lua gets the very function.
    await w.run("kept = ...", { args: [next] });
    assert.deepEqual(await w.run("local f = ... return rawequal(f, kept), kept(1)", { args: [next] }), [true, 112]);
    assert.deepEqual(await w.call("kept", { args: [1] }), [113]);
    // A handle call queues behind a busy worker like any call.
    const busy = w.run("require('host').recv(0.05) return 'busy'");
    assert.deepEqual(await Promise.all([busy, next()]), [["busy"], [114]]);
    // Errors and cancellation inside a handle call, as call() reports them.
    const [spinner] = await w.run("return spin") as [LuaFunctionHandle];
    assert.ok(isInterrupted(await rejection(w.call(spinner, { timeout: 30 }))));
    const [thrower] = await w.run("return function() error({ code = 7 }) end") as [LuaFunctionHandle];
    const err = await rejection(thrower());
    assert.ok(err instanceof LuaError);
    assert.deepEqual(err.value, { code: 7 });
    // Functions do not cross in posts, errors, or through send().
    assert.ok(await rejection(w.run("require('host').post(print)")) instanceof LuaError);
    assert.ok(await rejection(w.run("error(print)")) instanceof LuaError);
    assert.throws(() => w.send(next), TypeError);
    assert.match( // a table key in Lua, but one that could not come back
      (await rejection(w.run("return ...", { args: [new Map([[next, 1]])] }))).message,
      /a table key must be a string, number, bigint, boolean or Uint8Array/,
    );
    assert.ok(await rejection(w.run("return ...", { args: [(() => 1) as never] })) instanceof TypeError);
  },
);

eachVersion("handles: release, reset and close end them; another worker refuses them", async (lua) => {
  const w = await LuaWorker.create({ lua });
  await using other = await LuaWorker.create({ lua });
  await w.run(SETUP);
  await other.run(SETUP);
  const [a, b, c] = await w.run("return counter(), counter(), counter()") as LuaFunctionHandle[];
  assert.equal(w.liveHandles, 3);
  a.release();
  a.release(); // twice is nothing
  assert.equal(a.released, true);
  assert.equal(w.liveHandles, 2);
  let err = await rejection(a());
  assert.ok(err instanceof TypeError);
  assert.match(err.message, /was released/);
  assert.match(
    (await rejection(w.run("return ...", { args: [a] }))).message,
    /args\[0\]: the function handle was released/,
  );
  // Another worker: neither callable there nor passable to it.
  err = await rejection(other.call(b));
  assert.match(err.message, /belongs to another LuaWorker/);
  err = await rejection(other.call("echo", { args: [b] }));
  assert.match(err.message, /args\[0\]: the function handle belongs to another LuaWorker/);
  assert.deepEqual(await b(), [1]);
  await w.reset();
  assert.equal(w.liveHandles, 0);
  assert.equal(b.released, true);
  err = await rejection(b());
  assert.match(err.message, /belongs to a Lua state that was reset/);
  // A handle call queued before a reset reaches the old state's function, or fails; never the new state's.
  await w.run(SETUP);
  const [d] = await w.run("return counter()") as LuaFunctionHandle[];
  const before = d();
  const reset = w.reset();
  await reset;
  assert.deepEqual(await before, [1]);
  b.release(); // of a state that is gone: nothing
  const [e] = await w.run("return function() return 'e' end") as LuaFunctionHandle[];
  await w.close();
  assert.equal(e.released, true);
  err = await rejection(e());
  assert.match(err.message, /closed/);
  assert.equal(c.released, true);
});

test("handles: the live-handle limit, and a result that cannot cross keeps none", async () => {
  await using w = await LuaWorker.create({ lua: luaVersions[0] });
  await w.run(`function many(n) local t = {} for i = 1, n do t[i] = function() return i end end return t end`);
  // A function with a value that cannot cross: the result keeps no handle (the whole limit is free below).
  assert.ok(await rejection(w.run("return print, coroutine.create(function() end)")) instanceof TypeError);
  let err = await rejection(w.call("many", { args: [MAX_HANDLES + 1] }));
  assert.ok(err instanceof TypeError);
  assert.match(err.message, new RegExp(`${MAX_HANDLES} live function handles \\(the limit\\)`));
  assert.equal(w.liveHandles, 0);
  // The failed result's handles were dropped: the whole limit is free.
  const [all] = await w.call("many", { args: [MAX_HANDLES] }) as [LuaFunctionHandle[]];
  assert.equal(all.length, MAX_HANDLES);
  assert.equal(w.liveHandles, MAX_HANDLES);
  assert.deepEqual(await all[MAX_HANDLES - 1](), [MAX_HANDLES]);
  err = await rejection(w.run("return print"));
  assert.match(err.message, /the limit/);
  all[0].release();
  const [one] = await w.run("return print") as [LuaFunctionHandle];
  assert.equal(typeof one, "function");
  // Release them all (in batches the channel holds): the limit is free again.
  for (const h of all) h.release();
  one.release();
  assert.equal(w.liveHandles, 0);
  const [again] = await w.call("many", { args: [MAX_HANDLES] }) as [LuaFunctionHandle[]];
  assert.equal(again.length, MAX_HANDLES);
  for (const h of again) h.release();
  assert.deepEqual(await w.run("return 1"), [1]);
}, 120_000);

test("pool.call: the queue, options and errors of pool.run; handles end with the task's state", async () => {
  const lua = luaVersions[0];
  await using pool = await LuaPool.create({ lua, size: 1, init: SETUP });
  assert.deepEqual(await pool.call("echo", { args: [1, "a"] }), [1, "a"]);
  assert.deepEqual(await Promise.all([pool.call("game.add", { args: [2] }), pool.call("game.add", { args: [3] })]), [
    [2],
    [3], // a fresh state for each task (reset "init")
  ]);
  assert.ok(isInterrupted(await rejection(pool.call("spin", { timeout: 30 }))));
  assert.ok((await rejection(pool.call("missing"))) instanceof LuaError);
  assert.ok((await rejection(pool.call("a..b"))) instanceof TypeError);
  assert.ok((await rejection(pool.call(42 as never))) instanceof TypeError);
  const [h] = await pool.call("counter") as [LuaFunctionHandle];
  assert.match((await rejection(h())).message, /reset/);
  assert.equal(pool.stats().completed, 4);
  await using kept = await LuaPool.create({ lua, size: 1, init: SETUP, reset: "keep" });
  const [k] = await kept.call("counter") as [LuaFunctionHandle];
  assert.deepEqual(await k(), [1]);
  await kept.close();
  assert.match((await rejection(k())).message, /closed/);
});
