// Coroutines as places to hide: loops in nested coroutines, resumes that
// catch errors, coroutines interrupted by id from JavaScript, coroutines
// kept across cancelled calls, and a million of them.
import assert from "node:assert/strict";
import { interrupt, LuaWorker, MtintError, registryStats } from "../../mod.ts";
import type { HostileCase } from "./case.ts";
import { expectCancelled, expectCloses, expectUsable } from "./support/expect.ts";

export const cases: HostileCase[] = [{
  name: "a loop inside nested coroutines is cancelled, however the levels catch errors",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const nest = (inner: string, levels: number, how: (f: string) => string) => {
      let code = inner;
      for (let i = 0; i < levels; i++) code = how(`function() ${code} end`);
      return code;
    };
    for (
      const chunk of [
        nest("while true do end", 10, (f) => `coroutine.wrap(${f})()`),
        nest("while true do end", 10, (f) => `coroutine.resume(coroutine.create(${f}))`),
        nest("while true do end", 10, (f) => `while true do coroutine.resume(coroutine.create(${f})) end`),
        nest("while true do end", 5, (f) => `while true do pcall(coroutine.wrap(${f})) end`),
        "while true do local co = coroutine.create(function() while true do end end) coroutine.resume(co) end",
        "local co = coroutine.wrap(function() while true do coroutine.yield() end end) while true do co() end",
        "while true do local ok = coroutine.resume(coroutine.create(function() local t = {} while true do t = { t } end end)) end",
      ]
    ) {
      await expectCancelled(w, chunk);
      await expectUsable(w);
    }
  },
}, {
  name: "a coroutine interrupted by id from JavaScript fails its resume; the call goes on",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    w.addEventListener("message", (e) => {
      const id = (e as MessageEvent).data;
      if (typeof id === "number") interrupt(id);
    });
    const [ok, err, after] = await w.run(
      `local mtint, host = require("mtint"), require("host")
       local co = coroutine.create(function() while true do coroutine.yield() end end)
       host.post(mtint.id(co))
       local t0 = host.clock()
       while host.clock() - t0 < 5 do
         local ok, err = coroutine.resume(co)
         if not ok then return ok, err, coroutine.status(co) end
       end
       return "never interrupted"`,
      { timeout: 10_000 },
    );
    assert.equal(ok, false);
    assert.match(String(err), /mtint\.error\.interrupted/);
    assert.equal(after, "dead");
    await expectUsable(w);
  },
}, {
  name: "interrupt(id, true) holds a coroutine until withdrawn, and unknown ids are refused",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const [id] = await w.run(
      `co = coroutine.create(function() for i = 1, 1e9 do coroutine.yield(i) end end)
       return require("mtint").id(co)`,
    );
    assert.equal(typeof id, "number");
    interrupt(id as number, true);
    const [first] = await w.run("return select(2, coroutine.resume(co))");
    assert.match(String(first), /interrupted/);
    // It died with the error: a new one behaves normally after the withdrawal.
    interrupt(id as number, false);
    const [n] = await w.run(
      "co = coroutine.create(function() for i = 1, 3 do coroutine.yield(i) end end) coroutine.resume(co) return select(2, coroutine.resume(co))",
    );
    assert.equal(n, 2);
    assert.throws(
      () => interrupt(2 ** 52 + 12345),
      (err) => err instanceof MtintError && err.code === "unknown_object",
    );
  },
}, {
  name: "a coroutine kept across cancelled calls resumes in the next one",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    await w.run(
      "gen = coroutine.wrap(function() local i = 0 while true do i = i + 1 coroutine.yield(i) end end) gen()",
    );
    // Cancelled while the coroutine waits: it is untouched.
    await expectCancelled(w, "while true do end");
    const [a] = await w.run("return gen()");
    assert.equal(a, 2);
    // Cancelled while it runs: the error ends it, as any error does; it is dead, not corrupt.
    await expectCancelled(w, "while true do gen() end");
    const [status, ok] = await w.run(
      "local co = coroutine.create(function() while true do end end) spin = co return 1",
      {
        timeout: 1000,
      },
    ).then(() => w.run("return coroutine.status(spin), (coroutine.resume(coroutine.create(function() end)))"));
    assert.deepEqual([status, ok], ["suspended", true]);
    await expectCancelled(w, "coroutine.resume(spin)");
    const [dead] = await w.run("return coroutine.status(spin)");
    assert.equal(dead, "dead");
  },
}, {
  name: "200,000 registered coroutines are cancelled and their ids released at close",
  timeout: 90_000,
  async run(lua) {
    const before = registryStats().ids;
    const w = await LuaWorker.create({ lua, memoryLimit: 512 << 20 });
    await expectCancelled(
      w,
      "local mtint = require('mtint') local keep = {} for i = 1, 2e5 do local co = coroutine.create(function() end) keep[i] = co mtint.id(co) end while true do end",
      3000,
    );
    await expectUsable(w);
    await expectCloses(w);
    assert.equal(registryStats().ids, before);
  },
}, {
  name: "yields across pcall, metamethods and iterators under a cancelled call",
  versions: ["5.2", "5.3", "5.4", "luajit"],
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    for (
      const chunk of [
        "local co = coroutine.wrap(function() while true do pcall(coroutine.yield) end end) while true do co() end",
        "local o = setmetatable({}, { __index = function(t, k) return coroutine.yield(k) end }) local co = coroutine.wrap(function() while true do local _ = o.x end end) while true do co() end",
        "local co = coroutine.wrap(function() for i = 1, math.huge do coroutine.yield(i) end end) for v in co do end",
      ]
    ) {
      await expectCancelled(w, chunk);
      await expectUsable(w);
    }
    const [v] = await w.run(
      "local co = coroutine.wrap(function() local ok, v = pcall(coroutine.yield, 1) return v * 2 end) co() return co(21)",
    );
    assert.equal(v, 42);
  },
}];
