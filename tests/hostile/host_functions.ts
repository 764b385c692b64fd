// Host functions (the `host` option) and the other JavaScript a worker runs
// while Lua waits: whatever they throw or return becomes a Lua error at the
// call site or a faithful value, never a dead worker.
import assert from "node:assert/strict";
import { LuaWorker, MtintError } from "../../mod.ts";
import type { HostileCase } from "./case.ts";

const hostile = new URL("../fixtures/hostile_host.ts", import.meta.url);
const hanging = new URL("../fixtures/hanging_host.ts", import.meta.url);

/** Calls host.<name>() under pcall; asserts a Lua error naming it, and that the state lives on. */
async function callFails(w: LuaWorker, name: string, pattern: RegExp): Promise<void> {
  const [ok, message] = await w.run(`local ok, e = pcall(require("host").${name}) return ok, tostring(e)`);
  assert.equal(ok, false, `${name} returned`);
  assert.match(String(message), new RegExp(`^${name}: `), `${name}: ${message}`);
  assert.match(String(message), pattern, `${name}: ${message}`);
  assert.deepEqual(await w.run("return kept"), ["yes"], "the state is lost");
}

export const cases: HostileCase[] = [{
  name: "a host function throws what cannot be turned into a message (null prototype, bad toString, Proxy, Symbol)",
  async run(lua) {
    await using w = await LuaWorker.create({ lua, host: hostile });
    await w.run("kept = 'yes'");
    await callFails(w, "throwsNullProto", /object/);
    await callFails(w, "throwsBadToString", /object/);
    await callFails(w, "throwsBadMessage", /Error/);
    await callFails(w, "throwsProxy", /cannot be described/);
    await callFails(w, "throwsRevoked", /cannot be described/);
    await callFails(w, "throwsSymbol", /Symbol\(sym\)/);
    // The error is catchable as any other, and uncaught it fails the run only.
    const err = await w.run(`require("host").throwsNullProto()`).then(() => null, (e) => e);
    assert.ok(err instanceof Error && /throwsNullProto/.test(err.message), String(err));
    assert.deepEqual(await w.run("return kept"), ["yes"]);
    // print() with a __tostring that fails or returns no string raises in Lua too.
    const [a, b] = await w.run(`
      local bad = setmetatable({}, {__tostring = function() error("no text") end})
      local notext = setmetatable({}, {__tostring = function() return {} end})
      return select(2, pcall(print, bad)), select(2, pcall(print, notext))`);
    assert.match(String(a), /no text/);
    assert.match(String(b), /string/);
  },
}, {
  name: "a host function returns a hostile value (Proxy, revoked Proxy, thenable that throws, getter that throws)",
  async run(lua) {
    await using w = await LuaWorker.create({ lua, host: hostile });
    await w.run("kept = 'yes'");
    await callFails(w, "returnsProxy", /trap refuses/);
    await callFails(w, "returnsRevoked", /revoked/);
    await callFails(w, "returnsThenThrows", /then refuses/);
    await callFails(
      w,
      "returnsNullProtoWithBadGetter",
      /returnsNullProtoWithBadGetter\[0\]\.a: reading the value threw/,
    );
  },
}, {
  name: "host.post and host functions given shared subtables (2^24 paths) fail fast, naming the path",
  versions: ["5.4", "luajit"], // the codec of values.ts, which runs on every version
  timeout: 120_000,
  async run(lua) {
    await using w = await LuaWorker.create({ lua, host: hostile });
    for (const call of ['require("host").post(t)', 'require("host").echo(t)']) {
      const started = performance.now();
      const [ok, message] = await w.run(
        `local t = {} for i = 1, 24 do t = {a = t, b = t} end return pcall(function() ${call} end)`,
      );
      assert.equal(ok, false);
      assert.match(String(message), /\[0\](\.[ab])+: the value holds more than 4194304 values/);
      console.log(`${call}: rejected in ${(performance.now() - started).toFixed(0)} ms`);
    }
    assert.deepEqual(await w.run("return 1"), [1]);
  },
}, {
  name: "a host module whose top-level await never settles: create() gives up, by createTimeout or signal",
  versions: ["5.4"], // the import is the same for every version
  async run(lua) {
    const late = await LuaWorker.create({ lua, host: hanging, createTimeout: 3000 }).then(() => null, (e) => e);
    assert.ok(late instanceof Error, String(late));
    assert.match(late.message, /gave up after 3000 ms importing the host module .*hanging_host\.ts/);
    const reason = new Error("the user gave up");
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 3000);
    const aborted = await LuaWorker.create({ lua, host: hanging, signal: controller.signal }).then(
      () => null,
      (e) => e,
    );
    assert.ok(aborted instanceof MtintError && aborted.code === "interrupted", String(aborted));
    assert.equal(aborted.cause, reason);
    // The process is not held by the abandoned workers: the child exits.
  },
}, {
  name:
    "a script that calls the creator's functions in a tight loop neither stalls the creator's event loop nor outlasts its deadline",
  async run(lua) {
    // The creator polls for the next call while calls come this fast
    // (src/channel.ts): its timers must still run, and a timeout, a signal
    // and close() must still end the call.
    let calls = 0;
    await using w = await LuaWorker.create({ lua, functions: { tick: () => ++calls } });
    let last = performance.now(), worstGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 1);
    try {
      const loop = `local tick = require("host").tick while true do tick() end`;
      const started = performance.now();
      const err = await w.run(loop, { timeout: 300 }).then(() => null, (e) => e);
      assert.ok(err instanceof MtintError && err.cause === "timeout", String(err));
      assert.ok(performance.now() - started < 5000, "the deadline was outlasted");
      assert.ok(calls > 1000, `only ${calls} calls`);
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 100);
      assert.ok((await w.run(loop, { signal: stop.signal }).then(() => null, (e) => e)) instanceof MtintError);
      assert.ok(worstGap < 250, `the creator's timers stalled for ${worstGap.toFixed(0)} ms`);
      assert.deepEqual(await w.run("return 1"), [1]);
      const running = w.run(loop).then(() => null, (e) => e);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await w.close();
      assert.ok(await running instanceof MtintError);
    } finally {
      clearInterval(timer);
    }
  },
}];
