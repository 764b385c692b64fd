// Lua functions handed to JavaScript as handles (src/handles.ts,
// csrc/lua/handles.c): a script cannot grow its state without bound with
// them, a handle reaches its own state's function only (forged bytes
// included), a dropped handle is released, and calling one cannot deadlock
// the worker it waits for.
import assert from "node:assert/strict";
import { LuaError, type LuaFunctionHandle, LuaWorker, MAX_HANDLES, MtintError } from "../../mod.ts";
import { openCore } from "../../ffi/mod.ts";
import type { HostileCase } from "./case.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

/** Collects garbage in this process, as much as the runtime allows (Deno: --v8-flags=--expose-gc). */
function collect(): boolean {
  if (g.Bun) g.Bun.gc(true);
  else if (typeof g.gc === "function") g.gc();
  else return false;
  return true;
}

/** A forged list of one function handle: TAG_FUNC (9), the state's main id, the handle number. */
function forged(state: number, id: number): Uint8Array {
  const bytes = new Uint8Array(4 + 1 + 16);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 1, true);
  bytes[4] = 9;
  view.setFloat64(5, state, true);
  view.setFloat64(13, id, true);
  return bytes;
}

export const cases: HostileCase[] = [{
  name: "a script returning 300,000 functions gets a clear error and its state keeps none of them",
  async run(lua) {
    await using w = await LuaWorker.create({ lua, memoryLimit: 512 << 20 });
    await w.run("collectgarbage() collectgarbage()");
    const before = w.memory().used;
    // 300,000 times one function: every place it appears is a handle of its own.
    const err = await w.run("local f = function() end local t = {} for i = 1, 3e5 do t[i] = f end return t")
      .then(() => null, (e) => e);
    assert.ok(err instanceof TypeError, `got ${err}`);
    assert.match(err.message, new RegExp(`holds ${MAX_HANDLES} live function handles \\(the limit\\)`));
    assert.equal(w.liveHandles, 0);
    // The handles made before the limit were dropped with the failed result,
    // and their table with them (MAX_HANDLES slots would take a megabyte).
    await w.run("collectgarbage() collectgarbage()");
    const after = w.memory().used;
    assert.ok(after < before + (256 << 10), `${after - before} bytes kept after the failed result`);
    assert.deepEqual(await w.run("return 1"), [1]);
  },
}, {
  name: "handles fill the limit across calls; past it results fail until handles are released",
  versions: ["5.4"],
  timeout: 120_000,
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const kept: LuaFunctionHandle[] = [];
    for (let i = 0; i < MAX_HANDLES / 4096; i++) {
      const [batch] = await w.run("local t = {} for i = 1, 4096 do t[i] = print end return t");
      kept.push(...batch as LuaFunctionHandle[]);
    }
    assert.equal(w.liveHandles, MAX_HANDLES);
    const err = await w.run("return print").then(() => null, (e) => e);
    assert.ok(err instanceof TypeError && /the limit/.test(err.message), `got ${err}`);
    kept.pop()!.release();
    const [one] = await w.run("return print");
    assert.equal(typeof one, "function");
  },
}, {
  name: "a handle reaches its own worker's function only: other workers refuse it, forged bytes too",
  async run(lua) {
    await using victim = await LuaWorker.create({ lua });
    await using attacker = await LuaWorker.create({ lua });
    const [secret] = await victim.run("called = 0 return function() called = called + 1 return 'secret' end");
    const handle = secret as LuaFunctionHandle;
    await attacker.run("function echo(...) return ... end");
    for (const attempt of [attacker.call(handle), attacker.call("echo", { args: [handle] })]) {
      const err = await attempt.then(() => null, (e) => e);
      assert.ok(err instanceof TypeError && /belongs to another LuaWorker/.test(err.message), `got ${err}`);
    }
    // Bytes forged past the TypeScript checks: the victim's state id and
    // handle number sent into the attacker's state (and the number of one
    // that does not exist into the victim's) are refused by the C side.
    const core = openCore();
    const recv = "local ok, err = pcall(require('host').recv, 1) return ok, err";
    assert.equal(core.send(attacker.id, forged(victim.id, 1)), 0);
    const [ok, message] = await attacker.run(recv);
    assert.equal(ok, false);
    assert.match(String(message), /a function handle of another Lua state/);
    assert.equal(core.send(victim.id, forged(victim.id, 1e6)), 0);
    const [ok2, message2] = await victim.run(recv);
    assert.equal(ok2, false);
    assert.match(String(message2), /function handle .* was released/);
    assert.deepEqual(await victim.run("return called"), [0]);
    assert.deepEqual(await handle(), ["secret"]);
  },
}, {
  name: "a handle of a state that was reset never reaches the new state's functions",
  versions: ["5.4"], // the TypeScript side's logic: one version
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const [old] = await w.run("return function() return 'old' end") as LuaFunctionHandle[];
    const reset = w.reset();
    // The new state makes a handle with the same number as the old one.
    const fresh = w.run("return function() return 'new' end");
    const err = await old().then(() => null, (e) => e);
    assert.ok(err instanceof TypeError && /reset/.test(err.message), `got ${err}`);
    await reset;
    const [f] = await fresh as LuaFunctionHandle[];
    assert.deepEqual(await f(), ["new"]);
    assert.match(String(await old().then(() => null, (e) => e)), /reset/);
  },
}, {
  name: "__index along a call path that never returns is stopped by the call's deadline",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    await w.run(
      `setmetatable(_G, { __index = function(_, k) if k == "loop" then while true do end end error("no " .. k) end })
      trap = setmetatable({}, { __index = function() while true do end end })`,
    );
    for (const path of ["loop", "trap.x", "trap.x.y"]) {
      const err = await w.call(path, { timeout: 50 }).then(() => null, (e) => e);
      assert.ok(err instanceof MtintError && err.code === "interrupted", `${path}: got ${err}`);
    }
    const err = await w.call("missing").then(() => null, (e) => e);
    assert.ok(err instanceof LuaError && /no missing/.test(err.message), `got ${err}`);
    assert.deepEqual(await w.call("rawequal", { args: [1, 1] }), [true]);
  },
}, {
  name: "a caller's function that calls a handle of the worker waiting for it gets an error, not a deadlock",
  versions: ["5.4"], // the TypeScript side's logic: one version
  async run(lua) {
    const made: LuaFunctionHandle[] = [];
    await using w = await LuaWorker.create({ lua, functions: { reenter: () => made[0]() } });
    made.push(...await w.run("return function() return 1 end") as LuaFunctionHandle[]);
    const handle = made[0];
    const [ok, message] = await w.run("return pcall(require('host').reenter)", { timeout: 5000 });
    assert.equal(ok, false);
    assert.match(String(message), /would wait for itself/);
    assert.deepEqual(await handle(), [1]);
  },
}, {
  name: "handles JavaScript drops are released in their state (FinalizationRegistry)",
  versions: ["5.4"], // the TypeScript side's logic: one version
  async run(lua) {
    if (!collect()) throw new Error("no way to collect garbage: run Deno with --v8-flags=--expose-gc");
    await using w = await LuaWorker.create({ lua });
    await w.run("collectgarbage() collectgarbage()");
    const before = w.memory().used;
    await (async () => {
      // Twenty closures holding 1 MB each, kept alive only by their handles.
      const result = await w.run(`local t = {}
        for i = 1, 20 do local s = string.rep("x", 1e6) .. i t[i] = function() return #s end end
        return t`);
      assert.equal((result[0] as LuaFunctionHandle[]).length, 20);
    })();
    assert.equal(w.liveHandles, 20);
    for (let i = 0; i < 100 && w.liveHandles > 0; i++) {
      collect();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(w.liveHandles, 0);
    await w.run("collectgarbage() collectgarbage()"); // after the queued release
    const after = w.memory().used;
    assert.ok(after < before + (2 << 20), `${after - before} bytes kept after the handles were dropped`);
  },
}];
