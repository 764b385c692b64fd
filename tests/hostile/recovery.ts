// What one call leaves behind must not fail the next, unrelated one, and a
// failure is reported for what it is (out of memory, not syntax; a stopped
// state, not one blocked in C).
import assert from "node:assert/strict";
import { LuaError, LuaWorker, MtintError } from "../../mod.ts";
import type { HostileCase } from "./case.ts";

const ALLOCATE = "local t = {} for i = 1, 1e4 do t[i] = {i} end return #t";

export const cases: HostileCase[] = [{
  name: "out of memory while compiling a chunk is code memory, not syntax",
  async run(lua) {
    await using w = await LuaWorker.create({ lua, memoryLimit: 4 << 20 });
    const err = await w.run(`return {${"1,".repeat(2_000_000)}}`).then(() => null, (e) => e);
    assert.ok(err instanceof LuaError, String(err));
    assert.equal(err.code, "memory", err.message);
    const syntax = await w.run("return +").then(() => null, (e) => e);
    assert.ok(syntax instanceof LuaError && syntax.code === "syntax", String(syntax));
    assert.deepEqual(await w.run(ALLOCATE), [1e4]);
  },
}, {
  name: "an error in a finalizer does not fail the next, unrelated call",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    await w.run(`for i = 1, 10 do setmetatable({}, {__gc = function() error("finalizer " .. i) end}) end`);
    for (let i = 0; i < 3; i++) assert.deepEqual(await w.run(`${ALLOCATE}, collectgarbage()`), [1e4, 0]);
    if (lua === "5.1" || lua === "luajit") return; // tables have no __gc
    // Finalizers keep Lua's order, resurrection, current __gc and protected metatables.
    const [order, saved, protectedError, same] = await w.run(`
      log = {}
      for i = 1, 3 do setmetatable({}, {__gc = function(o) log[#log + 1] = i saved = o end}) end
      local mt = {__gc = true}
      local late = setmetatable({}, mt)
      mt.__gc = function() log[#log + 1] = "late" end
      late = nil
      local locked = setmetatable({}, {__metatable = "locked"})
      local ok, e = pcall(setmetatable, locked, {__gc = print})
      collectgarbage() collectgarbage()
      local f = function() end
      return table.concat(log, ","), type(saved), e, getmetatable(setmetatable({}, {__gc = f})).__gc == f`);
    assert.deepEqual([order, saved, protectedError, same], [
      "late,3,2,1",
      "table",
      "cannot change a protected metatable",
      true,
    ]);
  },
}, {
  name: "out of memory caught by pcall leaves no full state to the next call",
  async run(lua) {
    await using w = await LuaWorker.create({ lua, memoryLimit: 16 << 20 });
    const [ok] = await w.run(`return pcall(function() local t = {} while true do t[#t + 1] = {1, 2, 3} end end)`);
    assert.equal(ok, false);
    assert.deepEqual(await w.run(ALLOCATE), [1e4]);
    assert.deepEqual(await w.run("return #string.rep('a', 1e6)"), [1e6]);
  },
}, {
  name:
    "close({ grace: 100 }) of a plain Lua loop while the main thread is busy for 300 ms: stopped, not 'blocked in C'",
  async run(lua) {
    for (let i = 0; i < 5; i++) {
      const w = await LuaWorker.create({ lua });
      const call = w.run("while true do end").then(() => null, (e) => e);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const closing = w.close({ grace: 100 });
      // The state stops at once; the worker's message waits for this thread.
      const until = performance.now() + 300;
      while (performance.now() < until) { /* busy */ }
      await closing;
      const err = await call;
      assert.ok(err instanceof MtintError && err.code === "interrupted", String(err));
    }
  },
}];
