// Finalizers as an attacker writes them: looping (Lua runs them with hooks
// off), raising, allocating, resurrecting, breeding more finalizers; and
// the collector's own knobs. Deadlines and close() must still win.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { LuaError, type LuaVersion, LuaWorker, MtintError } from "../../mod.ts";
import type { HostileCase } from "./case.ts";
import { DEADLINE_SLACK_MS, expectCancelled, expectCloses, expectUsable, rejectionOf } from "./support/expect.ts";

/** Lua that defines GC(f): an object whose finalizer is f, on every version (5.1, LuaJIT: newproxy). */
const GC = `local function GC(f)
  if newproxy then local p = newproxy(true) getmetatable(p).__gc = f return p end
  return setmetatable({}, { __gc = f })
end `;

const hasClose = (lua: LuaVersion) => lua !== "5.1" && lua !== "luajit";

export const cases: HostileCase[] = [{
  name: "a finalizer that loops during a collection inside a call is cancelled",
  timeout: 20_000,
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    await expectCancelled(w, `${GC} GC(function() while true do end end) collectgarbage() return 1`);
    await expectUsable(w);
  },
}, {
  name: "close() resolves when a finalizer loops at close",
  timeout: 20_000,
  async run(lua) {
    const w = await LuaWorker.create({ lua });
    await w.run(`${GC} keep = GC(function() while true do end end)`);
    await expectCloses(w, 500);
  },
}, {
  // fuzz seed 3100 jobs 1757 and 1844, shrunk: finalizers that call collectgarbage() as the state closes.
  // Lua 5.3's lua_close looped forever in the collection such a finalizer starts (host.c preclose).
  name: "finalizers that collect as the state closes let close() finish (fuzz 3100:1757)",
  timeout: 20_000,
  async run(lua) {
    const w = await LuaWorker.create({ lua });
    const program = readFileSync(new URL("./support/close_collect.lua", import.meta.url), "utf8");
    await w.run(program, { name: "fz" }).catch(() => {});
    await expectCloses(w, 500);
  },
}, {
  name: "finalizers that breed more finalizers do not keep close() or a call from ending",
  timeout: 30_000,
  async run(lua) {
    const w = await LuaWorker.create({ lua });
    await expectCancelled(
      w,
      `${GC} local function breed() GC(breed) end for i = 1, 10 do breed() end while true do local t = {} end`,
    );
    await expectUsable(w);
    await w.run(`${GC} local function breed() G = GC(breed) end for i = 1, 10 do breed() end`);
    await expectCloses(w, 2000);
  },
}, {
  name: "finalizers that raise surface as Lua errors where stock Lua raises them, then the state works",
  versions: ["5.2", "5.3"],
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const lua52 = (err: unknown) => assert.ok(err instanceof LuaError && /finalizer/.test(err.message), String(err));
    await w.run(`${GC} for i = 1, 200 do GC(function() error("finalizer " .. i) end) end`).catch(lua52);
    // 5.2 and 5.3 raise a finalizer's error from the allocation whose collection step ran it, as
    // the stock interpreters do (Lua's own gc.lua checks it): never anything but a LuaError.
    let errors = 0;
    for (let i = 0; i < 400 && errors < 200; i++) {
      await w.run("local t = {} for i = 1, 2e4 do t[i] = { i } end return #t").then(
        (values) => assert.deepEqual(values, [20000]),
        (err) => {
          lua52(err);
          errors++;
        },
      );
    }
    await w.run("collectgarbage() collectgarbage()").catch(() => {});
    assert.deepEqual(await w.run("local t = {} for i = 1, 2e4 do t[i] = { i } end return #t"), [20000]);
  },
}, {
  name: "after an out-of-memory error, finalizers run within the memory limit and the deadline",
  // 5.1 and LuaJIT: mtint collects after an allocation failed at the limit (they have no emergency collection).
  versions: ["5.1", "luajit"],
  timeout: 30_000,
  async run(lua) {
    const limit = 16 << 20;
    const w = await LuaWorker.create({ lua, memoryLimit: limit });
    // Doubling a string: out of memory within a few ms (string.rep copies byte by byte on 5.1).
    const doubled = "local s = 'x' for i = 1, 16 do s = s .. s end";
    const oom = "local s = 'x' for i = 1, 30 do s = s .. s end";
    // Finalizers that allocate 8 times the limit: they fail at it, as the script did.
    const started = performance.now();
    const err = await rejectionOf(
      // The collector stopped: the finalizers run in mtint's collection after the out-of-memory error.
      w.run(
        `${GC} collectgarbage("stop") local keep = {} ` +
          `for i = 1, 3 do keep[i] = GC(function() ${doubled} local t = {} for i = 1, 2048 do t[i] = s .. i end end) end ` +
          `keep = nil ${oom}`,
        { timeout: 20_000 },
      ),
      "allocating finalizers",
    );
    assert.ok(
      (err instanceof LuaError && err.code === "memory") || (err instanceof MtintError && err.code === "interrupted"),
      String(err),
    );
    assert.ok(
      performance.now() - started < 20_000 + DEADLINE_SLACK_MS,
      `settled after ${performance.now() - started} ms`,
    );
    // (The message handler may pass the limit by a traceback's size.)
    assert.ok(w.memory().peak <= limit + (1 << 20), `${w.memory().peak} bytes at the peak, limit ${limit}`);
    // Finalizers a cancelled call left run in the next one, as stock (they may fail at the limit again).
    await w.run('collectgarbage("restart") collectgarbage()').catch((err) => assert.ok(err instanceof LuaError, err));
    assert.ok(w.memory().peak <= limit + (1 << 20), `${w.memory().peak} bytes at the peak, limit ${limit}`);
    await expectUsable(w);
    // A finalizer that loops: the deadline wins in the collection too (not on LuaJIT: hooks off, see hooks_off.ts).
    if (lua !== "luajit") {
      await expectCancelled(w, `${GC} collectgarbage("stop") GC(function() while true do end end) ${oom}`, 200);
      await w.run('collectgarbage("restart")');
      await expectUsable(w);
    }
    await expectCloses(w);
  },
}, {
  name: "finalizers that raise odd values, allocate, or resurrect leave the state working",
  versions: ["5.1", "5.2", "5.3", "5.4"],
  async run(lua) {
    await using w = await LuaWorker.create({ lua, memoryLimit: 16 << 20 });
    for (
      const body of [
        "error(setmetatable({}, { __tostring = function() error('again') end }))",
        "error(coroutine.create(function() end))",
        "local t = {} for i = 1, 1e4 do t[i] = { i } end",
        "saved = o",
        "collectgarbage()",
        "coroutine.wrap(function() coroutine.yield() end)()",
        "require('mtint').interrupt(require('mtint').id())",
      ]
    ) {
      // Run where the version lets finalizer errors escape, they may surface as a LuaError: never as anything else.
      // (A C function that fails its allocations slowly, in a finalizer, may also be cancelled.)
      await w.run(`${GC} for i = 1, 20 do GC(function(o) ${body} end) end collectgarbage() collectgarbage()`, {
        timeout: 3000,
      }).catch((err) => assert.ok(err instanceof LuaError || err instanceof MtintError, `${body}: ${err}`));
      // Drain whatever is left (5.2 and 5.3 raise one finalizer's error per collection, as stock
      // Lua does), then the state must work.
      for (let i = 0; i < 100; i++) {
        if (await w.run("collectgarbage() collectgarbage()").then(() => true, () => false)) break;
      }
      await expectUsable(w);
    }
  },
}, {
  // 5.2 and 5.3 leave each failed finalizer's error value on the main thread's stack while lua_close
  // runs finalizers, counting on the next call to grow the stack: at the memory limit (or once close
  // is cancelled) that growth fails, and the next finalizer writes past the end of the stack's block
  // (csrc/lua/closestack.c). Before the fix this crashed the process on 5.2 and 5.3 every time.
  name: "finalizers that fail at the memory limit as the state closes do not corrupt the heap",
  timeout: 30_000,
  async run(lua) {
    const w = await LuaWorker.create({ lua, memoryLimit: 2 << 20 });
    await w.run(
      `${GC} hold, keep = {}, {} for i = 1, 300 do keep[i] = GC(function() while true do hold[#hold + 1] = {} end end) end`,
    );
    await expectCloses(w);
  },
}, {
  // The same past LUAI_MAXSTACK, where Lua grows the stack no more: a million objects with a failing
  // finalizer (73 MB, no memory limit) segfaulted the worker at close, as they crash stock lua5.2 at
  // exit. 5.2 only (5.3 is the same code), for the time it takes.
  name: "a million finalizers that fail as the state closes do not write past the stack",
  versions: ["5.2"],
  timeout: 120_000,
  async run(lua) {
    const w = await LuaWorker.create({ lua });
    await w.run(`local mt = { __gc = function() error("x") end } keep = {}
      for i = 1, 1003000 do keep[i] = setmetatable({}, mt) end`);
    await w.close({ grace: 60_000 });
  },
}, {
  name: "a finalizer's error raised by mtint's own allocation around the script is that error, not out of memory",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    // The first error stops the collection; the other finalizers run in later collection steps.
    await w.run(`${GC} for i = 1, 50 do GC(function() error("finalizer " .. i) end) end pcall(collectgarbage)`);
    for (let i = 0; i < 200; i++) {
      await w.run("return 1 + 1").then(
        (values) => assert.deepEqual(values, [2]),
        (err) =>
          assert.ok(err instanceof LuaError && err.code === "runtime" && /finalizer/.test(err.message), `${err}`),
      );
    }
  },
}, {
  // A finalizer's error surfaces from the allocation whose collection step ran it, as in stock LuaJIT,
  // also when that allocation is mtint's own, outside the script's pcall: it was reported as "not enough
  // memory" (csrc/lua/host.c report_outer).
  name: "LuaJIT: finalizers that raise, then finalizers that allocate, leave the state working",
  versions: ["luajit"],
  async run(lua) {
    await using w = await LuaWorker.create({ lua, memoryLimit: 16 << 20 });
    // Finalizers that raise give runtime errors; 20 that each allocate 1e4 tables, with no collection
    // between them, may pass 16 MiB.
    const raised = (body: string) => (err: unknown) =>
      assert.ok(
        err instanceof LuaError && (err.code === "runtime" || err.code === "memory" && body.includes("1e4")),
        `${body}: ${err}`,
      );
    for (
      const body of [
        "error(setmetatable({}, { __tostring = function() error('again') end }))",
        "error(coroutine.create(function() end))",
        "local t = {} for i = 1, 1e4 do t[i] = { i } end",
        "saved = o",
        "collectgarbage()",
      ]
    ) {
      await w.run(`${GC} for i = 1, 20 do GC(function(o) ${body} end) end collectgarbage() collectgarbage()`, {
        timeout: 3000,
      }).catch(raised(body));
      for (let i = 0; i < 100; i++) {
        if (await w.run("collectgarbage() collectgarbage()").then(() => true, raised(body))) break;
      }
      await expectUsable(w);
    }
  },
}, {
  name: "the collector's knobs, set to extremes, do not hang or crash a call",
  async run(lua) {
    await using w = await LuaWorker.create({ lua, memoryLimit: 64 << 20 });
    const knobs = [
      "collectgarbage('step', 1e9)",
      "collectgarbage('setpause', 0) collectgarbage('setstepmul', 1e9)",
      "collectgarbage('setpause', 1e9)",
      "collectgarbage('stop')",
    ];
    if (lua === "5.4") knobs.push("collectgarbage('generational', 0, 0)", "collectgarbage('incremental', 1, 1, 1)");
    for (const knob of knobs) {
      const started = performance.now();
      // Finishes, fails at the memory limit, or (a full collection per allocation) is cancelled in time.
      await w.run(`${knob} local t = {} for i = 1, 5e4 do t[i % 1000] = { i } end`, { timeout: 2000 }).catch((err) =>
        assert.ok(err instanceof LuaError && err.code === "memory" || err instanceof MtintError, `${knob}: ${err}`)
      );
      assert.ok(performance.now() - started < 2000 + DEADLINE_SLACK_MS, knob);
      await w.run("collectgarbage('restart') collectgarbage()");
      if (lua === "5.4") await w.run("collectgarbage('incremental')");
      await expectUsable(w);
    }
  },
}, {
  name: "weak tables and finalized objects cross back as what is left",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const [weak, strong, count] = await w.run(
      `${GC} local n = 0 local weak = setmetatable({}, { __mode = "v" }) local strong = {}
       for i = 1, 10 do weak[i] = {} strong[i] = { i } GC(function() n = n + 1 end) end
       collectgarbage() collectgarbage()
       local left = 0 for _ in pairs(weak) do left = left + 1 end
       return left, #strong, n`,
    );
    assert.deepEqual([weak, strong, count], [0, 10, 10]);
    if (hasClose(lua)) {
      const [ephemeron] = await w.run(
        `local e = setmetatable({}, { __mode = "k" }) do local k = {} e[k] = { k } end collectgarbage() collectgarbage()
         return next(e) == nil`,
      );
      assert.equal(ephemeron, true);
    }
  },
}];
