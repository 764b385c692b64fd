// Error values of every type, raised where the host has to turn them into
// a message: every one must arrive as a LuaError (or a cancellation), never
// kill the worker, hang the call, or lose the value.
import assert from "node:assert/strict";
import { LuaError, LuaWorker, MtintError } from "../../mod.ts";
import type { HostileCase } from "./case.ts";
import { DEADLINE_SLACK_MS, expectCancelled, expectLuaError, expectUsable, rejectionOf } from "./support/expect.ts";

const sleep = (ms: number) => new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms));

export const cases: HostileCase[] = [{
  name: "every type of error value arrives as a LuaError with its value",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const expected: [string, unknown][] = [
      ["'msg'", "msg"],
      ["nil", null],
      ["false", false],
      ["true", true],
      ["{ code = 7, why = 'x' }", { code: 7, why: "x" }],
      ["{ 1, 2, 3 }", [1, 2, 3]],
    ];
    for (const [value, want] of expected) {
      const err = await rejectionOf(w.run(`error(${value}, 0)`), value);
      assert.ok(err instanceof LuaError, `${value}: ${err}`);
      assert.deepEqual(err.value, want, value);
    }
    for (
      const value of [
        "print",
        "coroutine.create(function() end)",
        "setmetatable({}, { __tostring = function() return 'shown' end })",
        "setmetatable({}, { __tostring = function() error('tostring fails') end })",
        "setmetatable({}, { __tostring = function() return {} end })",
        "setmetatable({}, { __index = function() error('no fields') end })",
        "{ f = print }",
        "(function() local t = {} t.t = t return t end)()",
        "0/0",
      ]
    ) {
      const err = await rejectionOf(w.run(`error(${value})`), value);
      assert.ok(err instanceof LuaError, `${value}: ${err}`);
      assert.equal(typeof err.message, "string");
      await expectUsable(w);
    }
    for (
      const value of [
        "print",
        "coroutine.create(function() end)",
        "{ f = print }",
        "io and io.stdout or newproxy and newproxy()",
      ]
    ) {
      const err = await rejectionOf(w.run(`local v = ${value} if v == nil then error(print) end error(v)`), value);
      assert.ok(err instanceof LuaError, `${value}: ${err}`);
      assert.equal(err.value, undefined, `${value}: a value that cannot cross is undefined, not a stand-in`);
      assert.match(err.message, /^\(error object is a (function|thread|userdata|table) value/, value);
    }
  },
}, {
  name: "an error message that is not UTF-8 arrives as a LuaError with its bytes",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const err = await rejectionOf(w.run("error('\\255\\254', 0)"), "non-UTF-8 error");
    assert.ok(err instanceof LuaError, String(err));
    assert.equal(err.message, "\uFFFD\uFFFD");
    assert.deepEqual(err.value, new Uint8Array([255, 254]));
    // With a position, and from a chunk whose name is not UTF-8: the traceback and chunk read too.
    const load = lua === "5.1" ? "loadstring" : "load";
    const named = await rejectionOf(w.run(`${load}("error('\\\\255')", "=\\254")()`), "non-UTF-8 chunk name");
    assert.ok(named instanceof LuaError, String(named));
    assert.equal(named.message, "\uFFFD:1: \uFFFD");
    assert.deepEqual(named.value, new Uint8Array([254, 58, 49, 58, 32, 255]));
    assert.match(named.traceback, /\uFFFD:1:/);
    // A syntax error quoting bytes that are not UTF-8, raised as a value.
    const syntax = await rejectionOf(w.run(`error(select(2, ${load}("x = '\\255")), 0)`), "syntax");
    assert.ok(syntax instanceof LuaError && syntax.value instanceof Uint8Array, String(syntax));
    // A result refused at a key that is not UTF-8: the message names the path.
    const refused = await rejectionOf(
      w.run("return { ['\\255'] = coroutine.create(function() end) }"),
      "refused result",
    );
    assert.ok(refused instanceof TypeError, String(refused));
    assert.match(refused.message, /^result\[0\]\.\uFFFD: a Lua thread cannot cross/);
    await expectUsable(w);
  },
}, {
  name: "a number error value arrives as the number",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    for (const [chunk, want, message] of [["error(42, 0)", 42, "42"], ["error(-3.5, 0)", -3.5, "-3.5"]] as const) {
      const err = await rejectionOf(w.run(chunk), chunk);
      assert.ok(err instanceof LuaError, String(err));
      assert.equal(err.value, want, chunk);
      assert.equal(err.message, message, chunk);
    }
    // 5.3 and 5.4 add no position to a number (5.1, 5.2 and LuaJIT make it a string, as stock).
    const level1 = await rejectionOf(w.run("error(42)"), "error(42)");
    assert.ok(level1 instanceof LuaError);
    if (lua === "5.3" || lua === "5.4") assert.equal(level1.value, 42);
    else assert.equal(level1.value, "chunk:1: 42");
    const caught = await w.run("local ok, e = pcall(error, 42, 0) return math.type and math.type(e) or type(e), e");
    assert.deepEqual(caught, [lua === "5.3" || lua === "5.4" ? "integer" : "number", 42]);
  },
}, {
  name: "an error value whose __tostring never returns cannot hold the call past its deadline",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    for (
      const chunk of [
        "error(setmetatable({}, { __tostring = function() while true do end end }))",
        "local e = setmetatable({}, { __tostring = function() while true do end end }) error(e, 2)",
        "coroutine.wrap(function() error(setmetatable({}, { __tostring = function() while true do end end })) end)()",
        "error(select(2, xpcall(error, function(m) return setmetatable({}, { __tostring = function() while true do end end }) end)))",
      ]
    ) {
      // The host does not call __tostring (the message says what type the value is), or the loop runs inside
      // the call and is cancelled: both are fine, a hang is not.
      const err = await Promise.race([
        rejectionOf(w.run(chunk, { timeout: 40 }), chunk),
        sleep(40 + DEADLINE_SLACK_MS),
      ]);
      assert.ok(err instanceof LuaError || err instanceof MtintError, `${chunk}: ${err ?? "still running"}`);
      await expectUsable(w);
    }
  },
}, {
  name: "errors in error handling, deep pcall nests and huge messages keep the state working",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const [ok, msg] = await w.run("return xpcall(function() error('a') end, function(m) error('b') end)");
    assert.equal(ok, false);
    assert.ok(msg !== null && msg !== undefined, String(msg));
    await expectLuaError(
      w,
      "local f f = function(n) if n == 0 then error('deep') end return pcall(f, n - 1) end return select(2, f(150)) and error('x')",
      /.+/,
    );
    const big = await rejectionOf(w.run("error(string.rep('e', 1024 * 1024), 0)"), "big");
    assert.ok(big instanceof LuaError && big.message.length >= 1024 * 1024, String(big).slice(0, 100));
    const [depth] = await w.run(
      "local n = 0 local function f() n = n + 1 local ok = pcall(f) return ok end pcall(f) return n > 100",
    );
    assert.equal(depth, true);
    await expectUsable(w);
  },
}, {
  name: "a script that catches the cancellation and re-raises it as another value is still cancelled",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    for (
      const chunk of [
        "while true do local ok, e = pcall(function() while true do end end) error({ caught = e }) end",
        "local ok, e = pcall(function() while true do end end) error('swallowed: ' .. tostring(e))",
        "local ok, e = pcall(function() while true do end end) return 'normal'",
        "local ok, e = xpcall(function() while true do end end, function(m) return 'replaced' end) return e",
      ]
    ) {
      await expectCancelled(w, chunk);
      await expectUsable(w);
    }
  },
}, {
  name: "tracebacks that search half a million globals are stopped at the timeout, and name the same",
  async run(lua) {
    // Stock 5.2 to 5.4 search the globals (or package.loaded) for a name of
    // each frame's function, once per frame, inside one C function: with a
    // million globals one debug.traceback of 22 frames took 2-7 s here
    // (csrc/lua/traceback.c). Once cancelled, stock ran on for one frame's
    // search (an allocation fails between frames), 0.35 s here, within the
    // slack; mtint's looks for the cancellation every 4096 entries.
    await using w = await LuaWorker.create({ lua, memoryLimit: 512 << 20 });
    await w.run("for i = 1, 5e5 do _G['g' .. i] = i end", { timeout: 30_000 });
    const deep = (inner: string) =>
      `local function deep(n) if n == 0 then ${inner} end return (deep(n - 1)) end return deep(40)`;
    await expectCancelled(w, deep("while true do debug.traceback('x') end"), 50);
    await expectCancelled(w, deep("while true do xpcall(error, debug.traceback) end"), 50);
    // 5.2 searched once for each of these C frames.
    const pcalls = "pcall, ".repeat(8);
    await expectCancelled(w, deep(`while true do pcall(${pcalls}debug.traceback) end`), 50);
    if (lua === "5.2") {
      // From a start level past its "..." mark 5.2 shows every frame, each
      // found by a walk from the top: quadratic in the depth (100,000
      // frames: minutes), and an earlier build walked twice before its
      // first allocation.
      const frames =
        "local function deep(n) if n == 0 then return debug.traceback('x', 13) end return (deep(n - 1)) end";
      await expectCancelled(w, `${frames} return deep(100000)`, 50);
    }
    const [text] = await w.run(
      "function named_fn() return debug.traceback('t') end local _, _, t = pcall(pcall, named_fn) return t",
      { timeout: 30_000 },
    );
    assert.match(text as string, /^t\nstack traceback:\n/);
    if (lua !== "5.1" && lua !== "luajit") assert.match(text as string, /in function 'pcall'/);
    await expectUsable(w);
  },
}];
