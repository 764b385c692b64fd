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
  },
}, {
  name: "an error message that is not UTF-8 arrives as a LuaError",
  todo: "h6 (values): error('\\255\\254') rejects with TypeError ERR_ENCODING_INVALID_ENCODED_DATA (a fatal UTF-8 " +
    "decode of the message) instead of a LuaError",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const err = await rejectionOf(w.run("error('\\255\\254')"), "non-UTF-8 error");
    assert.ok(err instanceof LuaError, String(err));
    await expectUsable(w);
  },
}, {
  name: "a number error value arrives as the number",
  todo: "h6 (values): the message handler converts a number error value to a string in place, so error(42) arrives " +
    "as '42' (stock pcall returns the number 42)",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const err = await rejectionOf(w.run("error(42, 0)"), "error(42)");
    assert.ok(err instanceof LuaError);
    assert.equal(err.value, 42);
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
}];
