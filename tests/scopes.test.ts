// The interrupts option of LuaWorker.create (issue 17): its argument
// checks and grants that name a live worker's state (the flag shared with
// csrc/lua/host.h: tests/protocol.test.ts). The hostile side is in tests/hostile/tenants.ts.
import assert from "node:assert/strict";
import { error, interrupt, LuaError, LuaWorker } from "../mod.ts";
import { eachVersion, luaVersions, test } from "./harness.ts";

test("create() checks the interrupts option", async () => {
  const lua = luaVersions[0];
  for (const bad of ["all", "", 1, {}, null, true]) {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      LuaWorker.create({ lua, interrupts: bad as any }),
      (err: Error) => err instanceof TypeError && /interrupts must be "own", "process" or an array/.test(err.message),
    );
  }
  for (const [bad, kind] of [[["x"], TypeError], [[1.5], RangeError], [[0], RangeError], [[2 ** 53], RangeError]]) {
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      LuaWorker.create({ lua, interrupts: bad as any }),
      (err: Error) => err instanceof (kind as typeof TypeError) && /interrupts\[0\]/.test(err.message),
    );
  }
  // A grant names a live state's main id: not a closed worker's, not a coroutine's.
  const closed = await LuaWorker.create({ lua });
  await closed.close();
  await assert.rejects(LuaWorker.create({ lua, interrupts: [closed] }), /is not the id of a live LuaWorker/);
  await using w = await LuaWorker.create({ lua });
  const [co] = await w.run("co = coroutine.create(function() end) return require('mtint').id(co)");
  await assert.rejects(LuaWorker.create({ lua, interrupts: [co as number] }), /is not the id of a live LuaWorker/);
  await using ok = await LuaWorker.create({ lua, interrupts: [w, w.id] });
  assert.deepEqual(await ok.run("return require('mtint').interrupt(..., false)", { args: [co] }), [true]);
});

eachVersion("scripts reach their own state by default; JavaScript reaches every state", async (lua) => {
  await using a = await LuaWorker.create({ lua });
  await using b = await LuaWorker.create({ lua, interrupts: "own" });
  for (const [from, to] of [[a, b], [b, a]]) {
    const err = await from.run("require('mtint').interrupt(...)", { args: [to.id] }).then(() => null, (e) => e);
    assert.ok(err instanceof LuaError, String(err));
    assert.equal(err.message, `${error.unknown_object}: interruptible id ${to.id}`);
    assert.equal(interrupt(to.id, false), true);
  }
  assert.deepEqual(await a.run("local m = require('mtint') return m.interrupt(m.id(), false)"), [true]);
  assert.ok(Math.abs(a.id - b.id) > 2 ** 20, `consecutive workers' ids ${a.id} and ${b.id} are far apart`);
});

test("grants survive the grantee's reset(); the granted worker's reset ends them", async () => {
  const lua = luaVersions[0];
  await using b = await LuaWorker.create({ lua });
  await using a = await LuaWorker.create({ lua, interrupts: [b] });
  const reach = (id: number) => a.run("return pcall(require('mtint').interrupt, ..., false)", { args: [id] });
  assert.deepEqual(await reach(b.id), [true, true]);
  await a.reset();
  assert.deepEqual(await reach(b.id), [true, true]);
  await b.reset(); // a new state, not the one granted
  const [ok, err] = await reach(b.id);
  assert.equal(ok, false);
  assert.equal(err, `${error.unknown_object}: interruptible id ${b.id}`);
  await a.reset(); // the grant's state is gone: skipped, not an error
  assert.deepEqual(await a.run("return 1"), [1]);
});
