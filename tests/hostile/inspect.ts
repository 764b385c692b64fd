/**
 * Hostile scripts against inspection (issue 14): stack(), profile() and
 * pause() reach a running state through its hook, so scripts that fight
 * for the hook, run where hooks are off, raise inside the sampled frame,
 * recurse deep, or name their functions with odd strings must neither
 * crash the process nor stop the state from working afterwards.
 *
 * @module
 */
import assert from "node:assert/strict";
import { LuaWorker, MtintError } from "../../mod.ts";
import type { LuaStack, LuaVersion } from "../../mod.ts";
import type { HostileCase } from "./case.ts";

const PUC: LuaVersion[] = ["5.1", "5.2", "5.3", "5.4"];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asks for the stack until `reached` holds. */
async function stackWhere(w: LuaWorker, reached: (s: LuaStack) => boolean): Promise<LuaStack> {
  for (let i = 0; i < 500; i++) {
    const stack = await w.stack({ wait: 5000 });
    if (stack !== null && reached(stack)) return stack;
    await sleep(2);
  }
  throw new Error("the stack never got there");
}

async function cancelled(call: Promise<unknown>): Promise<void> {
  const err = await call.then(() => null, (e) => e);
  assert.ok(err instanceof MtintError && err.code === "interrupted", `expected a cancellation, got ${err}`);
}

async function works(w: LuaWorker): Promise<void> {
  assert.deepEqual(await w.run("local t = {} for i = 1, 100 do t[i] = i end return #t", { timeout: 5000 }), [100]);
}

export const cases: HostileCase[] = [
  {
    name: "a script that sets its own hooks (debug.sethook, mtint.sethook) is still inspected",
    async run(lua) {
      await using w = await LuaWorker.create({ lua, libs: "full" });
      const stop = new AbortController();
      const call = w.run(
        `local mtint = require('mtint')
        mtint.sethook(function() end) -- swallows interrupts
        counted = 0
        debug.sethook(function() counted = counted + 1 end, "", 100)
        local function spin() while true do end end
        spin()`,
        { signal: stop.signal },
      );
      const stack = await stackWhere(w, (s) => s.frames[0]?.name === "spin");
      assert.equal(stack.inC, false);
      const p = w.profile({ hz: 1000 });
      await sleep(50);
      const { folded } = await p.stop();
      assert.ok(folded === "" || folded.includes("spin ("), folded);
      w.interrupt(); // swallowed by the handler: still running
      let paused = false; // an interrupt that reaches the same hook wins over the pause
      for (let i = 0; i < 50 && !paused; i++) paused = await w.pause();
      assert.ok(paused);
      w.resume();
      stop.abort();
      await cancelled(call);
      const [counted] = await w.run("return counted");
      assert.ok((counted as number) > 0, "the script's count hook kept firing");
      await works(w);
    },
  },
  {
    name: "a loop where hooks are off: stack() answers inC after its wait, close() still ends it",
    versions: PUC, // LuaJIT cannot be reached there at all (README, Running untrusted Lua)
    async run(lua) {
      const w = await LuaWorker.create({ lua, libs: "full" });
      const call = w.run(`debug.sethook(function() while true do end end, "", 1000) while true do end`);
      await sleep(30);
      const stack = await w.stack({ wait: 50 });
      assert.ok(stack !== null && stack.inC && stack.frames.length === 0, JSON.stringify(stack));
      assert.equal(await Promise.race([w.pause(), sleep(50).then(() => "waiting")]), "waiting");
      await w.close();
      await cancelled(call);
    },
  },
  {
    name: "errors inside __index while sampled and asked for stacks",
    async run(lua) {
      await using w = await LuaWorker.create({ lua });
      const p = w.profile({ hz: 2000 });
      const call = w.run(
        `local t = setmetatable({}, {__index = function(t, k) error("boom " .. k) end})
        local failed = 0
        for i = 1, 300000 do
          local ok, err = pcall(function() return t[i] end)
          if not ok and err:find("boom " .. i, 1, true) then failed = failed + 1 end
        end
        return failed`,
      );
      for (let i = 0; i < 20; i++) await w.stack();
      assert.deepEqual(await call, [300000], "every error raised and caught as written");
      const { folded } = await p.stop();
      for (const line of folded.trim().split("\n").filter(Boolean)) assert.match(line, /^main chunk \(.*\) \d+$/);
      await works(w);
    },
  },
  {
    name: "10,000 frames deep: stack() keeps the innermost 200, the profile roots them under (deeper frames)",
    async run(lua) {
      await using w = await LuaWorker.create({ lua });
      const stop = new AbortController();
      const call = w.run(
        `local function rec(n) if n == 0 then while true do end end return 1 + rec(n - 1) end
        rec(10000)`,
        { signal: stop.signal, name: "deep" },
      );
      const stack = await stackWhere(w, (s) => s.frames[0]?.line === 1 && s.truncated);
      assert.equal(stack.frames.length, 200);
      assert.ok(stack.frames.every((f) => f.name === "rec" && f.source === "deep"), JSON.stringify(stack.frames[199]));
      const p = w.profile({ hz: 1000 });
      for (const start = w.cpuTime(); w.cpuTime() - start < 30;) await sleep(5);
      const { folded } = await p.stop();
      for (const line of folded.trim().split("\n").filter(Boolean)) {
        assert.ok(line.startsWith("(deeper frames);rec (deep:1);"), line.slice(0, 80));
        assert.equal(line.split(";").length, 101, "the innermost 100 frames under one root");
      }
      stop.abort();
      await cancelled(call);
      await works(w);
    },
  },
  {
    name: "function and chunk names that are huge, not UTF-8, or hold ';' and newlines",
    async run(lua) {
      await using w = await LuaWorker.create({ lua });
      const stop = new AbortController();
      const call = w.run(
        `local bad = "bad\\255\\254;\\nname"
        _G[bad] = function() while true do end end
        local huge = string.rep("x", 1000000)
        local load = loadstring or load
        assert(load(string.format("function %s() _G[%s]() end", huge, string.format("%q", bad))))()
        assert(load(huge .. "()"))()`,
        { signal: stop.signal, name: "\uFFFD;odd\nchunk" },
      );
      const stack = await stackWhere(w, (s) => s.frames.length >= 2 && s.frames[0].line === 2);
      assert.equal(stack.frames[0].name, "bad\uFFFD\uFFFD;\nname");
      assert.equal(stack.frames[1].name, "x".repeat(200), "names are cut at 200 bytes");
      const p = w.profile({ hz: 1000 });
      for (const start = w.cpuTime(); w.cpuTime() - start < 30;) await sleep(5);
      const { folded, svg } = await p.stop();
      for (const line of folded.trim().split("\n").filter(Boolean)) {
        assert.ok(line.includes("bad\uFFFD\uFFFD??name ("), line.slice(0, 300));
      }
      assert.ok(!svg.includes("\n\n") && svg.endsWith("</svg>\n"));
      stop.abort();
      // Not cancelled(call): its traceback holds the non-UTF-8 name, which
      // the result decoder refuses (tests/hostile/strings.ts has it as todo).
      await assert.rejects(call);
      await works(w);
    },
  },
];
