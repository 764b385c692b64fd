/**
 * Class 3 of issue 10: code that Lua runs with hooks off. A handler set
 * with mtint.sethook, a hook set with debug.sethook, and __gc finalizers
 * run with hooks disabled (L->allowhook = 0 on 5.1-5.4, the HOOK_ACTIVE bit
 * of the global hook mask on LuaJIT), so a loop there used to defeat
 * `timeout`, `signal` and `close()`. A cancellation now turns hooks back on
 * there (csrc/lua/rehook.c).
 *
 * @module
 */
import assert from "node:assert/strict";
import { LuaWorker, MtintError } from "../../mod.ts";
import type { LuaVersion } from "../../mod.ts";
import type { HostileCase } from "./case.ts";

/** A value with a __gc finalizer running `body` (5.1 and LuaJIT finalize only userdata). */
function finalized(body: string): string {
  return `(function()
    if newproxy then local u = newproxy(true) getmetatable(u).__gc = function() ${body} end return u end
    return setmetatable({}, {__gc = function() ${body} end})
  end)()`;
}

/** Finalizers a cancelled call left pending run (and loop) in the calls
 * that follow, each stopped by that call's own deadline: collect until
 * none is left, then check that the state works. */
async function stillWorks(lua: LuaWorker): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const ok = await lua.run("collectgarbage() collectgarbage()", { timeout: 50 }).then(() => true, () => false);
    if (ok) break;
  }
  assert.deepEqual(await lua.run("local t = {} for i = 1, 100 do t[i] = i end return #t", { timeout: 5000 }), [100]);
}

async function cancelled(call: Promise<unknown>): Promise<void> {
  const err = await call.then(() => null, (e) => e);
  assert.ok(err instanceof MtintError && err.code === "interrupted", `expected a cancellation, got ${err}`);
}

const loopForever = "while true do end";

const cancelledInCalls = {
  "an mtint.sethook handler that loops, interrupted from Lua":
    `local mtint = require "mtint" mtint.sethook(function() ${loopForever} end) mtint.interrupt(mtint.id()) for i = 1, 1e9 do end`,
  // In a coroutine, whose hook goes with it: the next call runs unhooked. (LuaJIT has one hook for
  // all coroutines: there the hook removes itself before it loops.)
  "a debug.sethook hook that loops": `coroutine.wrap(function()
    debug.sethook(function() if jit then debug.sethook() end ${loopForever} end, "l")
    local x = 1
  end)()`,
  "a __gc finalizer that loops, during a collection in the call": `local u = ${
    finalized(loopForever)
  } u = nil collectgarbage() collectgarbage() ${loopForever}`,
  "ten __gc finalizers that loop": `for i = 1, 10 do local u = ${
    finalized(loopForever)
  } end collectgarbage() collectgarbage() ${loopForever}`,
  "a finalizer that loops inside a handler that loops":
    `local mtint = require "mtint" mtint.sethook(function() local u = ${
      finalized(loopForever)
    } u = nil collectgarbage() ${loopForever} end) mtint.interrupt(mtint.id()) ${loopForever}`,
};

async function timeoutsWin(version: LuaVersion): Promise<void> {
  await using lua = await LuaWorker.create({ lua: version, libs: "full" });
  for (const chunk of Object.values(cancelledInCalls)) {
    await cancelled(lua.run(chunk, { timeout: 50 }));
    await stillWorks(lua);
  }
  // The same with a signal, and with the handler entered by lua.interrupt().
  const controller = new AbortController();
  const call = lua.run(`require("mtint").sethook(function() ${loopForever} end) ${loopForever}`, {
    signal: controller.signal,
  });
  setTimeout(() => lua.interrupt(), 20);
  setTimeout(() => controller.abort(), 60);
  await cancelled(call);
  await stillWorks(lua);
}

async function closeWins(version: LuaVersion): Promise<void> {
  for (const count of [1, 10]) {
    const lua = await LuaWorker.create({ lua: version });
    await lua.run(`keep = {} for i = 1, ${count} do keep[i] = ${finalized(loopForever)} end`);
    // Each finalizer stops at the watchdog's next re-kick (about 15 ms each measured).
    await lua.close({ grace: 500 });
  }
}

export const cases: HostileCase[] = [
  {
    name: "timeout and signal stop code that runs with hooks off",
    timeout: 30_000,
    run: timeoutsWin,
  },
  {
    name: "close() stops __gc finalizers that loop",
    timeout: 30_000,
    run: closeWins,
  },
];
