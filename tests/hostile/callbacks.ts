// Every standard function that calls back into Lua, with a callback that
// never returns: the call's timeout must still win, and the state work on.
import assert from "node:assert/strict";
import { type LuaVersion, LuaWorker, MtintError } from "../../mod.ts";
import type { HostileCase } from "./case.ts";
import { expectCancelled, expectCloses, expectUsable, rejectionOf } from "./support/expect.ts";

const LOOP = "while true do end";

/** Chunks whose callback loops, per version. */
function loopingCallbacks(lua: LuaVersion): string[] {
  const modern = lua === "5.3" || lua === "5.4";
  const chunks = [
    `string.gsub("abc", "%w", function() ${LOOP} end)`,
    `for _ in string.gmatch("abc", ".") do ${LOOP} end`,
    `table.sort({ 3, 1, 2 }, function(a, b) ${LOOP} end)`,
    `pcall(function() ${LOOP} end)`,
    `xpcall(function() ${LOOP} end, function() ${LOOP} end)`,
    `xpcall(error, function() ${LOOP} end)`,
    `coroutine.wrap(function() ${LOOP} end)()`,
    `coroutine.resume(coroutine.create(function() ${LOOP} end))`,
    `load(function() ${LOOP} end)`,
    `tostring(setmetatable({}, { __tostring = function() ${LOOP} end }))`,
    `print(setmetatable({}, { __tostring = function() ${LOOP} end }))`,
    `package.preload.spin = function() ${LOOP} end require("spin")`,
    `select(2, pcall(error, setmetatable({}, { __newindex = function() ${LOOP} end }))).x = 1`,
  ];
  chunks.push(`load(function() return " " end)`); // a reader that never ends
  if (lua === "5.1" || lua === "luajit") {
    chunks.push(`table.foreach({ 1 }, function() ${LOOP} end)`, `table.foreachi({ 1 }, function() ${LOOP} end)`);
  }
  if (lua !== "5.1" && lua !== "luajit") {
    chunks.push(
      `for k in pairs(setmetatable({}, { __pairs = function() ${LOOP} end })) do end`,
      `string.format("%s", setmetatable({}, { __tostring = function() ${LOOP} end }))`,
    );
  }
  if (modern) {
    const slow =
      `setmetatable({}, { __index = function() ${LOOP} end, __newindex = function() ${LOOP} end, __len = function() return 3 end })`;
    chunks.push(
      `table.concat(${slow})`,
      `table.unpack(${slow}, 1, 3)`,
      `table.insert(${slow}, 1)`,
      `table.remove(${slow}, 1)`,
      `table.move(${slow}, 1, 3, 1, {})`,
      `table.move({ 1, 2, 3 }, 1, 3, 1, ${slow})`,
      `table.sort(${slow})`,
      `for i, v in ipairs(${slow}) do end`,
    );
  }
  if (lua === "5.4") {
    chunks.push(
      `do local x <close> = setmetatable({}, { __close = function() ${LOOP} end }) end`,
      `pcall(function() local x <close> = setmetatable({}, { __close = function() ${LOOP} end }) error("e") end)`,
    );
  }
  return chunks;
}

async function everyCallback(lua: LuaVersion): Promise<void> {
  await using w = await LuaWorker.create({ lua, libs: "full" });
  for (const chunk of loopingCallbacks(lua)) {
    await expectCancelled(w, chunk);
    await expectUsable(w);
  }
}

export const cases: HostileCase[] = [{
  name: "a callback that never returns is cancelled, in every standard function that takes one",
  versions: ["5.1", "5.2", "5.3", "5.4"],
  timeout: 120_000,
  run: everyCallback,
}, {
  name: "LuaJIT: a callback that never returns is cancelled, in every standard function that takes one",
  versions: ["luajit"],
  timeout: 60_000,
  run: everyCallback,
}, {
  name: "a __close handler run by coroutine.close that never returns is cancelled",
  versions: ["5.4"],
  timeout: 30_000,
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const closer = `setmetatable({}, { __close = function() ${LOOP} end })`;
    // Two handlers: the second runs after the cancellation stopped the first.
    const suspended = `coroutine.create(function() local a <close> = ${closer} local b <close> = ${closer} ` +
      `coroutine.yield() end)`;
    const close = `local co = ${suspended} coroutine.resume(co) coroutine.close(co)`;
    for (
      const chunk of [
        close,
        `coroutine.wrap(function() ${close} end)()`,
        `while true do local co = ${suspended} coroutine.resume(co) pcall(coroutine.close, co) end`,
        `local co = ${suspended} coroutine.resume(co) coroutine.wrap(function() coroutine.close(co) end)()`,
      ]
    ) {
      await expectCancelled(w, chunk);
      await expectUsable(w);
    }
    const abort = new AbortController();
    setTimeout(() => abort.abort("stop"), 40);
    const err = await rejectionOf(w.run(close, { signal: abort.signal }), "signal");
    assert.ok(err instanceof MtintError && err.cause === "stop", String(err));
    await expectUsable(w);
    const closing = await LuaWorker.create({ lua });
    const running = closing.run(close).catch((err) => err);
    await new Promise((resolve) => setTimeout(resolve, 40));
    await expectCloses(closing, 500);
    assert.ok((await running) instanceof MtintError);
  },
}, {
  name: "callbacks that swallow errors still cannot swallow the cancellation",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    for (
      const chunk of [
        "while true do string.gsub('x', 'x', function() pcall(function() while true do end end) end) end",
        "while true do table.sort({ 2, 1 }, function(a, b) pcall(error) return a < b end) end",
        "while true do pcall(load, function() error('r') end) end",
        "while true do pcall(tostring, setmetatable({}, { __tostring = function() while true do end end })) end",
        "local f f = function() return select(2, xpcall(f, f)) end while true do pcall(f) end",
      ]
    ) {
      await expectCancelled(w, chunk);
      await expectUsable(w);
    }
  },
}, {
  name: "callbacks get and return values as the stock functions do",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const [gsub, sorted, wrapped, loaded] = await w.run(`
      local s = string.gsub("a1b2", "(%a)(%d)", function(a, d) return d .. a end)
      local t = { 5, 3, 9, 1 } table.sort(t, function(a, b) return a > b end)
      local w = coroutine.wrap(function(x) local y = coroutine.yield(x + 1) return y * 2 end)
      local first = w(1)
      local parts, i = { "return ", "4", "0 + 2" }, 0
      local f = load(function() i = i + 1 return parts[i] end)
      return s, table.concat(t, ","), first + w(10), f()`);
    assert.deepEqual([gsub, sorted, wrapped, loaded], ["1a2b", "9,5,3,1", 22, 42]);
  },
}];
