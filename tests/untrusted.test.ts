// Running Lua you did not write: a catalogue of hostile scripts and bad
// input. Each case asserts a clear error and a worker that still works.
import assert from "node:assert/strict";
import { LuaError, LuaWorker, MtintError, registryStats } from "../mod.ts";
import { eachVersion, luaVersions, rejection, sleep, test } from "./harness.ts";

const hostModule = new URL("./fixtures/host_functions.ts", import.meta.url);

function isInterrupted(err: unknown): err is MtintError {
  return err instanceof MtintError && err.code === "interrupted";
}

async function stillWorks(w: LuaWorker): Promise<void> {
  assert.deepEqual(await w.run("local t = {} for i = 1, 100 do t[i] = i end return #t"), [100]);
}

// A chunk that spends seconds inside one C function, as Lua sees it: a
// host-module function that blocks the worker's thread.
const STUCK_IN_C = "require('host').block(3000)";

eachVersion("runaway loops stop at their timeout, however they try to hold on", async (lua) => {
  await using w = await LuaWorker.create({ lua, libs: "full", timeout: 30 });
  for (
    const chunk of [
      "while true do end",
      "local function f() return f() end f()", // tail calls: no stack growth
      "while true do pcall(function() while true do end end) end",
      "while true do pcall(error) end",
      "while true do xpcall(function() while true do end end, function() while true do end end) end",
      "xpcall(function() error('x') end, function() while true do end end)",
      "local co = coroutine.wrap(function() while true do end end) co()",
      "for _ = 1, 1e12 do coroutine.wrap(function() end)() end",
      "while true do collectgarbage() end",
      "collectgarbage('stop') while true do end",
      "while true do debug.sethook() end",
      "debug.sethook(function() end, 'l') while true do end",
      "local t = setmetatable({}, {__index = function(t, k) return t[k + 1] end}) while true do pcall(function() return t[1] end) end",
      "while true do local ok = pcall(string.rep, 'x', 1e7) end",
    ]
  ) {
    const err = await rejection(w.run(chunk, { name: "hostile" }));
    assert.ok(isInterrupted(err), `${chunk}: ${err}`);
    assert.equal(err.cause, "timeout");
    await stillWorks(w);
  }
});

eachVersion("the interrupted call's traceback says where the script was", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const err = await rejection(w.run("local function spin()\n  while true do end\nend\nspin()", {
    name: "where.lua",
    timeout: 20,
  }));
  assert.ok(isInterrupted(err));
  assert.match(err.traceback ?? "", /where\.lua:2/);
});

eachVersion("deep recursion is a stack overflow error, and the state lives on", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const err = await rejection(w.run("local function f(n) return 1 + f(n + 1) end return f(1)"));
  assert.ok(err instanceof LuaError && err.code === "runtime", String(err));
  assert.match(err.message, /stack overflow/);
  await stillWorks(w);
});

eachVersion("memory bombs fail at the limit as out-of-memory, and the state lives on", async (lua) => {
  const limit = 8 * 1024 * 1024;
  await using w = await LuaWorker.create({ lua, memoryLimit: limit });
  const base = w.memoryUsed();
  assert.ok(base > 0 && base < limit, `${base}`);
  for (
    const chunk of [
      "return string.rep('x', 64 * 1024 * 1024)",
      "local t = {} for i = 1, 1e8 do t[i] = i end",
      "local t = {} for i = 1, 1e8 do t[#t + 1] = tostring(i) end",
      "local s = 'x' while true do s = s .. s end",
      "collectgarbage('stop') local t = {} while true do t[#t + 1] = {} end",
    ]
  ) {
    const err = await rejection(w.run(chunk));
    assert.ok(err instanceof LuaError && err.code === "memory", `${chunk}: ${err}`);
    assert.match(err.message, /not enough memory/);
    await stillWorks(w);
  }
  assert.deepEqual(await w.run("collectgarbage('restart') collectgarbage() return 1"), [1]);
  assert.ok(w.memoryUsed() < base + 512 * 1024, `memory back down: ${w.memoryUsed()} from ${base}`);
  // Caught inside the script, it is an ordinary Lua error there.
  const [ok, message] = await w.run("return pcall(string.rep, 'x', 64 * 1024 * 1024)");
  assert.equal(ok, false);
  assert.match(String(message), /not enough memory/);
});

eachVersion("os.exit cannot end the host process", async (lua) => {
  for (const libs of ["safe", "full"] as const) {
    await using w = await LuaWorker.create({ lua, libs });
    const err = await rejection(w.run("os.exit(1)"));
    assert.ok(err instanceof LuaError);
    assert.match(err.message, /os\.exit is disabled/);
    await stillWorks(w);
  }
});

eachVersion("the safe preset: no io, os.execute, loadlib, C modules, or binary chunks", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  assert.deepEqual(
    await w.run(`return io == nil, os.execute == nil, os.getenv == nil, os.remove == nil, dofile == nil,
      loadfile == nil, package.loadlib == nil, debug.sethook == nil, debug.getregistry == nil, jit == nil`),
    Array(10).fill(true),
  );
  assert.deepEqual(await w.run("return os.time() > 0, type(os.clock()), type(debug.traceback())"), [
    true,
    "number",
    "string",
  ]);
  const [ok, err] = await w.run("return pcall(require, 'socket')");
  assert.equal(ok, false);
  assert.match(String(err), /module 'socket' not found/);
  assert.deepEqual(await w.run("return require('string') == string, require('mtint') ~= nil"), [true, true]);
  for (
    const chunk of [
      "return (loadstring or load)(string.dump(function() end))",
      "local n = 0 return load(function() n = n + 1 if n == 1 then return '\\27Lua' end end)",
    ]
  ) {
    const [fn, msg] = await w.run(chunk);
    assert.equal(fn, null);
    assert.match(String(msg), /binary|wrong mode/);
  }
  assert.deepEqual(await w.run("return (loadstring or load)('return 1 + 1')()"), [2]);
  // 5.1's load takes a reader function only, as stock (loadstring takes text).
  if (lua !== "5.1") assert.deepEqual(await w.run("return load('return x', 'env', 't', { x = 5 })()"), [5]);
});

eachVersion("the full preset has the standard libraries", async (lua) => {
  await using w = await LuaWorker.create({ lua, libs: "full" });
  assert.deepEqual(await w.run("return type(io.write), type(os.execute), type(package.loadlib), type(debug.sethook)"), [
    "function",
    "function",
    "function",
    "function",
  ]);
});

eachVersion("a script stuck in a C function: timeout fires when it returns; close reports it", async (lua) => {
  await using w = await LuaWorker.create({ lua, host: hostModule });
  const started = performance.now();
  const err = await rejection(w.run(`require('host').block(300) while true do end`, { timeout: 20 }));
  assert.ok(isInterrupted(err));
  assert.ok(performance.now() - started > 250, "it could only stop once the C function returned");

  const stuck = await LuaWorker.create({ lua, host: hostModule });
  const running = stuck.run(STUCK_IN_C);
  await sleep(20);
  const closeErr = await rejection(stuck.close({ grace: 50 }));
  assert.match(closeErr.message, /did not stop its running call within 50 ms; it is blocked in a C function/);
  assert.equal(await rejection(running), closeErr, "the call it gave up on rejects with the same error");
}, 120_000);

eachVersion("closing while a host function runs", async (lua) => {
  const w = await LuaWorker.create({ lua, host: hostModule });
  const running = w.run("local h = require('host') while true do h.add(1, 2) end");
  await sleep(30);
  await w.close();
  assert.ok(isInterrupted(await rejection(running)));
});

test("100 workers created and closed leak no registry entries, threads or much memory", async () => {
  const lua = luaVersions[luaVersions.length - 1];
  const rss = () => "Deno" in globalThis ? Deno.memoryUsage().rss : process.memoryUsage().rss;
  const before = registryStats();
  // Warm up: the first workers load libraries and JIT the JavaScript.
  for (let i = 0; i < 5; i++) await (await LuaWorker.create({ lua })).close();
  const rssBefore = rss();
  for (let i = 0; i < 100; i++) {
    const w = await LuaWorker.create({ lua });
    await w.run("local t = {} for i = 1, 1000 do t[i] = coroutine.create(print) end require('mtint').id(t[1])");
    await w.close();
  }
  const grown = rss() - rssBefore;
  assert.deepEqual(registryStats(), before);
  console.log(`100 workers: registry ${JSON.stringify(registryStats())}, RSS grew ${(grown / 1048576).toFixed(1)} MiB`);
  assert.ok(grown < 150 * 1048576, `RSS grew ${grown} bytes`);
}, 300_000);

test("bad options to the untrusted-code features", async () => {
  const lua = luaVersions[0];
  await assert.rejects(LuaWorker.create({ lua, memoryLimit: NaN }), RangeError);
  await assert.rejects(LuaWorker.create({ lua, memoryLimit: Infinity }), RangeError);
  await assert.rejects(LuaWorker.create({ lua, timeout: -1 }), RangeError);
  await assert.rejects(LuaWorker.create({ lua, timeout: NaN }), RangeError);
  await using w = await LuaWorker.create({ lua });
  await assert.rejects(w.close({ grace: -1 }), RangeError);
  await stillWorks(w);
});
