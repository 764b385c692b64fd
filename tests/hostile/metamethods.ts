// Every metamethod, as an attacker uses it: one that never returns, one
// that errors with odd values, chains that never end. Cancellation must win,
// errors must arrive as LuaErrors, and the state must live on.
import assert from "node:assert/strict";
import { type LuaVersion, LuaWorker } from "../../mod.ts";
import type { HostileCase } from "./case.ts";
import { expectCancelled, expectLuaError, expectUsable } from "./support/expect.ts";

const LOOP = "while true do end";

/** [event, an expression that triggers it on `o`], per version. */
function events(lua: LuaVersion): [string, string][] {
  const list: [string, string][] = [
    ["__index", "o.x"],
    ["__newindex", "(function() o.x = 1 end)()"],
    ["__call", "o()"],
    ["__add", "o + 1"],
    ["__sub", "o - 1"],
    ["__mul", "o * 1"],
    ["__div", "o / 1"],
    ["__mod", "o % 1"],
    ["__pow", "o ^ 1"],
    ["__unm", "-o"],
    ["__concat", "o .. ''"],
    ["__eq", "o == setmetatable({}, getmetatable(o))"],
    ["__lt", "o < o"],
    ["__le", "o <= o"],
    ["__tostring", "tostring(o)"],
  ];
  if (lua === "5.3" || lua === "5.4") {
    list.push(["__idiv", "o // 1"], ["__band", "o & 1"], ["__bor", "o | 1"], ["__bxor", "o ~ 1"], ["__shl", "o << 1"], [
      "__shr",
      "o >> 1",
    ], ["__bnot", "~o"]);
  }
  if (lua === "5.2" || lua === "5.3" || lua === "5.4") list.push(["__pairs", "pairs(o)"], ["__len", "#o"]);
  if (lua === "5.2") list.push(["__ipairs", "ipairs(o)"]);
  return list;
}

const use = (event: string, body: string, expr: string) =>
  `local o = setmetatable({}, { ${event} = function() ${body} end }) return ${expr}`;

export const cases: HostileCase[] = [{
  name: "a metamethod that never returns is cancelled, for every event",
  timeout: 90_000,
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    for (const [event, expr] of events(lua)) {
      await expectCancelled(w, use(event, LOOP, expr));
      await expectUsable(w);
    }
  },
}, {
  name: "a metamethod that raises any kind of value fails the call with a LuaError",
  timeout: 90_000,
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    for (const [event, expr] of events(lua)) {
      for (
        const [value, message] of [
          ["'boom'", /boom/],
          ["{ code = 7 }", /table/],
          ["nil", /nil/],
          ["setmetatable({}, { __tostring = function() error('again') end })", /.+/],
          ["coroutine.create(print)", /.+/],
        ] as const
      ) {
        await expectLuaError(w, use(event, `error(${value})`, expr), message);
      }
      await expectUsable(w);
    }
  },
}, {
  name: "__index and __newindex chains that loop are a Lua error, not a hang",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    await expectLuaError(
      w,
      "local a, b = {}, {} setmetatable(a, { __index = b }) setmetatable(b, { __index = a }) return a.x",
      /loop|chain/,
    );
    await expectLuaError(
      w,
      "local a, b = {}, {} setmetatable(a, { __newindex = b }) setmetatable(b, { __newindex = a }) a.x = 1",
      /loop|chain/,
    );
    // A chain of metamethod calls that recurses in Lua: a stack overflow error.
    await expectLuaError(
      w,
      "local o o = setmetatable({}, { __index = function(t, k) return o[k] end }) return o.x",
      /stack overflow|C stack/,
    );
    await expectUsable(w);
  },
}, {
  name: "__tostring and __name results cross faithfully, bad ones are errors",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const [s] = await w.run(
      "return tostring(setmetatable({}, { __tostring = function() return 'caf\\195\\169' end }))",
    );
    assert.equal(s, "café");
    if (lua === "5.3" || lua === "5.4") {
      await expectLuaError(
        w,
        "return tostring(setmetatable({}, { __tostring = function() return {} end }))",
        /__tostring/,
      );
    }
    const [eq] = await w.run(
      "local mt = { __eq = function() return 'yes' end } return setmetatable({}, mt) == setmetatable({}, mt)",
    );
    assert.equal(eq, true); // __eq's result is converted to a boolean
    const [lt] = await w.run(
      "local mt = { __lt = function() return nil end } return setmetatable({}, mt) < setmetatable({}, mt)",
    );
    assert.equal(lt, false);
    await expectUsable(w);
  },
}, {
  name: "a protected metatable stays protected, and the string metatable cannot be replaced",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    await expectLuaError(
      w,
      "local t = setmetatable({}, { __metatable = 'locked' }) setmetatable(t, {})",
      /protected metatable/,
    );
    const [mt] = await w.run("return getmetatable(setmetatable({}, { __metatable = 'locked' }))");
    assert.equal(mt, "locked");
    await expectLuaError(w, "setmetatable('', {})", /table expected|bad argument/);
    // Changing the shared string metatable's __index affects this state only, and the next call still works.
    await w.run("getmetatable('').__index = function() error('hijacked') end");
    await expectLuaError(w, "return ('x'):upper()", /hijacked/);
    await expectUsable(w);
  },
}, {
  name: "a __concat that catches an error inside a longer concatenation neither hangs nor crashes",
  // Debian's liblua5.4 5.4.4 (CVE-2022-33099 fix without upstream's 603b2c64): luaV_concat keeps a pointer into
  // the stack across the metamethod; fuzzing found 'malloc(): mismatching next->prev_size' aborts here (seed
  // 1000 job 1028, seed 2026 jobs 338, 2013, 2218). mtint keeps that stack in place (csrc/lua/concatguard.c).
  versions: ["5.4"],
  timeout: 5_000,
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const [ok, value] = await w.run(
      "local o = setmetatable({}, { __concat = function(a, b) " +
        "pcall(table.sort, { 3, 2, 1, 5, 4 }, function() error('cmp') end) return 'r' end }) " +
        "local function f() return 'x' .. o .. 'y' end return pcall(f)",
      { timeout: 1000 },
    );
    assert.deepEqual([ok, value], [true, "xr"]);
    await expectUsable(w);
  },
}, {
  name: "a __concat metamethod that moves the Lua stack, in every way, neither crashes nor corrupts the result",
  timeout: 60_000,
  async run(lua) {
    for (const [what, chunk, mayRefuse] of stackMoves(lua)) {
      await using w = await LuaWorker.create({ lua });
      const [ok, value] = await w.run(chunk, { timeout: 5000, name: what });
      if (ok === true || !mayRefuse) assert.deepEqual([ok, value], [true, "xr"], what);
      // Where the library would use the freed stack, mtint refuses the move: the growth fails instead.
      else assert.match(String(value), /not enough memory|too many results/, what);
      await expectUsable(w);
    }
  },
}, {
  name: "a stack growth refused under __concat reports why when nothing catches it",
  versions: ["5.4"],
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const chunk = DEEP + "local o = setmetatable({}, { __concat = function() deep(5000) return 'r' end }) " +
      "return 'x' .. o .. 'y'";
    try {
      assert.deepEqual(await w.run(chunk, { timeout: 5000 }), ["xr"]); // a library without the bug
    } catch (err) {
      assert.ok(err instanceof Error);
      assert.match(err.message, /stack cannot grow under a __concat metamethod/);
    }
    await expectUsable(w);
  },
}];

const DEEP = "local function deep(n) if n > 0 then return deep(n - 1) + 1 end return 0 end ";

/** [what, chunk returning pcall's results for 'x' .. o .. 'y', whether the stack must grow (which mtint may
 * refuse on a library with the bug)]: each way a metamethod can reallocate the Lua stack under luaV_concat.
 * A stack grown beforehand (`deep(3000)` first) is shrunk by a caught error or a GC traversal. */
function stackMoves(lua: LuaVersion): [string, string, boolean][] {
  const concat = (tm: string, before = "") =>
    DEEP + before + `local o = setmetatable({}, { __concat = function(a, b) ${tm} return 'r' end }) ` +
    "return pcall(function() return 'x' .. o .. 'y' end)";
  const list: [string, string, boolean][] = [
    ["pcall shrinks it", concat("pcall(error, 'e')", "deep(3000) "), false],
    ["xpcall shrinks it", concat("xpcall(error, function(m) return m end, 'e')", "deep(3000) "), false],
    ["a collection shrinks it", concat("collectgarbage()", "deep(3000) "), false],
    [
      "a coroutine's collection shrinks it",
      concat("coroutine.wrap(function() collectgarbage() end)()", "deep(3000) "),
      false,
    ],
    ["deep recursion grows it", concat("deep(3000)"), true],
    [
      "a __tostring grows it",
      concat("tostring(setmetatable({}, { __tostring = function() deep(3000) return 'p' end }))"),
      true,
    ],
    ["an __index grows it", concat("local _ = setmetatable({}, { __index = function() deep(3000) end }).k"), true],
    [
      "table.unpack grows it",
      concat("local t = {} for i = 1, 20000 do t[i] = i end select('#', (table.unpack or unpack)(t))"),
      true,
    ],
    ["in a coroutine", "return coroutine.wrap(function() " + concat("deep(3000)") + " end)()", true],
  ];
  if (lua !== "5.1" && lua !== "luajit") { // __gc on tables
    list.push(
      [
        "a finalizer grows it",
        concat("setmetatable({}, { __gc = function() deep(3000) end }) collectgarbage()"),
        false,
      ],
      [
        "in a finalizer",
        DEEP + "local o = setmetatable({}, { __concat = function(a, b) deep(3000) return 'r' end }) local got " +
        "setmetatable({}, { __gc = function() got = { pcall(function() return 'x' .. o .. 'y' end) } end }) " +
        "collectgarbage() collectgarbage() return got[1], got[2]",
        true,
      ],
    );
  }
  if (lua === "5.4") {
    list.push([
      "a __close grows it",
      concat("do local c <close> = setmetatable({}, { __close = function() deep(3000) end }) end"),
      true,
    ]);
  }
  return list;
}
