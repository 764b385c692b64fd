// The string library as a weapon: huge results, patterns that backtrack,
// malformed patterns and formats, byte strings that must cross intact.
import assert from "node:assert/strict";
import { interrupt, LuaError, LuaWorker, MtintError } from "../../mod.ts";
import type { HostileCase } from "./case.ts";
import {
  DEADLINE_SLACK_MS,
  expectCancelled,
  expectLuaError,
  expectUsable,
  rejectionOf,
  settlesWithin,
} from "./support/expect.ts";

export const cases: HostileCase[] = [{
  name: "huge strings fail at the memory limit, and the state lives on",
  async run(lua) {
    await using w = await LuaWorker.create({ lua, memoryLimit: 32 << 20 });
    for (
      const chunk of [
        "return #string.rep('x', 2^30)",
        "return #string.rep('ab', 2^24, ',')",
        "local s = 'x' while true do s = s .. s end",
        "return #table.concat({ string.rep('x', 2^20) }, '', 1, 1) .. string.rep('y', 2^26)",
        "return #string.format('%s%s', string.rep('x', 2^24), string.rep('x', 2^24))",
        "return #string.gsub(string.rep('x', 2^20), 'x', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')",
        "return #string.rep(string.rep('x', 2^10), 2^20)",
      ]
    ) {
      const err = await rejectionOf(w.run(chunk), chunk);
      assert.ok(
        err instanceof LuaError && (err.code === "memory" || /too large|not enough memory/.test(err.message)),
        `${chunk}: ${err}`,
      );
      await expectUsable(w);
    }
  },
}, {
  name: "a pattern that backtracks for hours is stopped while it matches, by a timeout or an interrupt",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    // Each would run for hours inside one C function of the stock library
    // (2^40 ways to backtrack, n^3 and n*m searches); csrc/lua/patterns.c
    // looks for the cancellation while it matches.
    const backtrack = "string.rep('a', 40), string.rep('a?', 40) .. string.rep('a', 40)";
    for (
      const chunk of [
        `string.find(${backtrack})`,
        `string.match(${backtrack})`,
        `for _ in string.gmatch(${backtrack}) do end`,
        `string.gsub(${backtrack}, '%0')`,
        `string.find(string.rep('a', 2e6), '.-.-.-b')`,
        `string.gsub(string.rep('a', 2e6), '(a*)*b', '%1')`,
        `string.find(string.rep('a', 4e7), string.rep('a', 2e5) .. 'b', 1, true)`,
        `string.find(string.rep('a', 4e7), string.rep('a', 2e5) .. 'b')`,
        `pcall(string.find, ${backtrack}) while true do end`,
      ]
    ) await expectCancelled(w, chunk, chunk.includes("4e7") ? 300 : 20); // building 40 MB first
    // Odd arguments, which each version converts its own way (a string, NaN,
    // out of range): the search is cut short or never starts; it never runs on.
    for (
      const chunk of [
        ...["'1'", "0/0", "-1e300", "1e300", "2^31 + 5", "2^63"].map((init) => `string.find(${backtrack}, ${init})`),
        ...["'9'", "-1", "0/0", "1e300", "2^32 + 1"].map((n) => `string.gsub(${backtrack}, 'x', ${n})`),
      ]
    ) {
      const started = performance.now();
      await w.run(chunk, { timeout: 20 }).catch(() => {});
      const ms = performance.now() - started;
      assert.ok(ms < 20 + DEADLINE_SLACK_MS, `${chunk}: ended after ${ms.toFixed(0)} ms (timeout 20)`);
    }
    const running = w.run(`return (string.find(${backtrack}))`);
    await new Promise((r) => setTimeout(r, 30));
    interrupt(w.id);
    assert.ok((await rejectionOf(running, "interrupt")) instanceof MtintError);
    await expectUsable(w);
  },
}, {
  name: "table.sort of a large array without a comparator is stopped while it sorts",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    // 10^7 numbers: seconds of comparisons inside one C function in stock Lua.
    await w.run("T = {} local x = 7 for i = 1, 1e7 do x = (x * 1103515245 + 12345) % 2147483648 T[i] = x end");
    await expectCancelled(w, "table.sort(T)", 50);
    await expectUsable(w);
    assert.deepEqual(await w.run("local t = {3, 1, 2} table.sort(t) return t[1], t[2], t[3]"), [1, 2, 3]);
  },
}, {
  name: "library loops as long as an argument says are stopped while they loop",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    // Nothing moved or copied 2^40 times: hours inside one C function in stock 5.3/5.4 (table.move, insert,
    // remove) and 5.1-5.4 (rep).
    for (
      const chunk of [
        "table.move({}, 1, 2^40, 2)",
        "table.move({}, 1, 2^40, 2, {})",
        "table.move({1, 2, 3}, 1, 2^40, 1)",
        "string.rep('', 2^40)",
        "string.rep('', 2^40, '')",
        "string.rep('', '1099511627776')",
        // insert and remove shift as many elements as __len claims (5.3, 5.4).
        "table.insert(setmetatable({}, {__len = function() return 2^40 end}), 1, 1)",
        "table.remove(setmetatable({}, {__len = function() return 2^40 end}), 1)",
      ]
    ) {
      // Settles (returns or fails) within its timeout, whatever it does.
      await settlesWithin(w.run(`return (${chunk})`, { timeout: 20 }).catch(() => {}), 20 + DEADLINE_SLACK_MS, chunk);
    }
    assert.deepEqual(await w.run("return string.rep('', 2^40)"), [""]);
    await expectUsable(w);
  },
}, {
  name: "malformed patterns and formats are Lua errors, not crashes",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const patterns = [
      "[a",
      "%",
      "(()",
      "%b",
      "%bx",
      "%f",
      "%fx",
      "(%1)",
      "%9",
      "((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))",
      "[%",
      "(",
      ")",
    ];
    for (const p of patterns) {
      for (const fn of ["find", "match", "gmatch", "gsub"]) {
        const call = fn === "gmatch"
          ? `for a in string.gmatch('abc(d)', ${JSON.stringify(p)}) do end`
          : fn === "gsub"
          ? `string.gsub('abc(d)', ${JSON.stringify(p)}, '%0')`
          : `string.${fn}('abc(d)', ${JSON.stringify(p)})`;
        const r = await w.run(`return pcall(function() ${call} end)`);
        assert.ok(r[0] === true || typeof r[1] === "string", `${call}: ${JSON.stringify(r)}`);
      }
    }
    for (
      const f of [
        "'%99999d', 1",
        "'%y', 1",
        "'%', 1",
        "'%d', 'x'",
        "'%d', 1.5",
        "'%c', -1",
        "'%q', {}",
        "'%s'",
        "'%.999f', 1",
        "'%1$s', 1",
      ]
    ) {
      const r = await w.run(`return pcall(string.format, ${f})`);
      assert.ok(r[0] === true || typeof r[1] === "string", `format(${f}): ${JSON.stringify(r)}`);
    }
    await expectLuaError(w, "return string.rep('x', -1) .. string.char(256)", /value out of range|invalid value/);
    if (lua === "5.3" || lua === "5.4") {
      for (
        const f of [
          "'i17', 1",
          "'!17', 1",
          "'c-1', ''",
          "'s1', string.rep('x', 300)",
          "'i0', 1",
          "'z', 'a\\0b'",
          "'<' .. string.rep('i', 1e5), 1",
        ]
      ) {
        const r = await w.run(`return pcall(string.pack, ${f})`);
        assert.ok(r[0] === true || typeof r[1] === "string", `pack(${f}): ${JSON.stringify(r)}`);
      }
      const [len, pos] = await w.run("return utf8.len('\\xff\\xfe'), select(2, utf8.len('a\\xff'))");
      assert.deepEqual([len, pos], [null, 2]);
      await expectLuaError(w, "return utf8.codepoint('\\xff')", /invalid UTF-8/);
    }
    await expectUsable(w);
  },
}, {
  name: "byte strings, NULs and invalid UTF-8 cross intact both ways",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const all = new Uint8Array(256).map((_, i) => i);
    const [back, len, sum] = await w.run(
      "local s = ... local n = 0 for i = 1, #s do n = n + s:byte(i) end return s, #s, n",
      { args: [all] },
    );
    assert.ok(back instanceof Uint8Array, String(back));
    assert.deepEqual([...back], [...all]);
    assert.deepEqual([len, sum], [256, 255 * 128]);
    const [nul, bad, text] = await w.run("return 'a\\0b', '\\255\\254', 'caf\\195\\169'");
    assert.equal(nul, "a\0b");
    assert.deepEqual(bad instanceof Uint8Array ? [...bad] : bad, [255, 254]);
    assert.equal(text, "café");
  },
}, {
  name: "string functions with a cancelled call stop at their next allocation",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const started = performance.now();
    const err = await rejectionOf(
      w.run("local t = {} for i = 1, 1e9 do t[i % 100] = string.rep('x', 1e4) .. i end", { timeout: 30 }),
      "rep",
    );
    assert.ok(err instanceof MtintError, String(err));
    assert.ok(performance.now() - started < 30 + DEADLINE_SLACK_MS);
    await expectUsable(w);
  },
}];
