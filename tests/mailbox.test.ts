// Talking to a running script: host.post / lua.messages(), lua.send /
// host.recv, and host functions from the worker's host module.
import assert from "node:assert/strict";
import { error, LuaError, LuaWorker, MtintError } from "../mod.ts";
import { eachVersion, luaVersions, rejection, test } from "./harness.ts";

const hostModule = new URL("./fixtures/host_functions.ts", import.meta.url);

eachVersion("posted values arrive in order, as iterator and as events", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const events: unknown[] = [];
  w.addEventListener("message", (e) => events.push((e as MessageEvent).data));
  const messages = w.messages();
  await w.run(`
    local host = require("host")
    for i = 1, 100 do host.post(i) end
    host.post({ done = true, list = { "a", "b" } })
    host.post(nil)`);
  const got = [];
  for (let i = 0; i < 102; i++) got.push((await messages.next()).value);
  assert.deepEqual(got.slice(0, 100), Array.from({ length: 100 }, (_, i) => i + 1));
  assert.deepEqual(got[100], { done: true, list: ["a", "b"] });
  assert.equal(got[101], null);
  assert.equal(events.length, 102);
});

eachVersion("values sent from JS arrive in order; recv times out with nil", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  for (let i = 1; i <= 50; i++) w.send(i);
  w.send({ k: [1, 2] });
  const [sum, last, timedOut] = await w.run(`
    local host = require("host")
    local sum = 0
    for i = 1, 50 do sum = sum + host.recv() end
    local last = host.recv()
    local t0 = host.clock()
    local none = host.recv(0.05)
    assert(host.clock() - t0 >= 0.04, "recv waited")
    return sum, last, none == nil`);
  assert.equal(sum, 1275);
  assert.deepEqual(last, { k: [1, 2] });
  assert.equal(timedOut, true);
  await assert.rejects(w.run("require('host').recv(0/0)"), /timeout must be a number of seconds/);
});

eachVersion("a script waiting in recv is interrupted there", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const messages = w.messages();
  const waiting = w.run(`
    local host, mtint = require("host"), require("mtint")
    local ok, err = pcall(function()
      host.post(mtint.id()) -- inside the pcall: the interrupt may land before recv
      return host.recv()
    end)
    return ok, err`);
  const id = (await messages.next()).value as number;
  w.interrupt();
  assert.deepEqual(await waiting, [false, error.interrupted]);
  assert.equal(id, w.id);
  // A cancellation (signal, timeout) is not caught by the pcall.
  const controller = new AbortController();
  const cancelled = w.run(`return pcall(require("host").recv)`, { signal: controller.signal });
  setTimeout(() => controller.abort(), 20);
  const err = await rejection(cancelled);
  assert.ok(err instanceof MtintError && err.code === "interrupted");
});

eachVersion("host functions: results, errors caught by pcall, errors reaching JS", async (lua) => {
  await using w = await LuaWorker.create({ lua, host: hostModule });
  assert.deepEqual(await w.run("local h = require('host') return h.add(2, 3), h.echo(1, 'x', {1, 2}), h.nothing()"), [
    5,
    [1, "x", [1, 2]],
  ]);
  assert.deepEqual(await w.run("return pcall(require('host').fail, 'caught')"), [false, "fail: host says: caught"]);
  const err = await rejection(w.run("require('host').fail('uncaught')", { name: "calls_host" }));
  assert.ok(err instanceof LuaError);
  assert.match(err.message, /calls_host:1: fail: host says: uncaught/);
  assert.match((await rejection(w.run("require('host').returnsFunction()"))).message, /a function cannot cross/);
  assert.match((await rejection(w.run("require('host').later()"))).message, /returned a Promise/);
  assert.match(
    (await rejection(w.run("require('host').add(print)"))).message,
    /add\[0\]: a Lua function cannot cross/,
  );
  assert.deepEqual(await w.run("return require('host').notAFunction"), [null]); // not a function: ignored
  assert.deepEqual(await w.run("return 'usable'"), ["usable"]);
});

eachVersion("bad input to the mailbox", async (lua) => {
  const w = await LuaWorker.create({ lua });
  const err = await rejection(w.run("require('host').post(function() end)", { name: "poster" }));
  assert.ok(err instanceof LuaError);
  assert.match(err.message, /poster:1: host\.post\[0\]: a Lua function cannot cross/);
  assert.throws(() => w.send((() => 1) as never), /value\[0\]: a function cannot cross/);
  assert.deepEqual(await w.run("return 'usable'"), ["usable"]);
  await w.close();
  assert.throws(() => w.send(1), /LuaWorker is closed/);
  const messages = w.messages();
  assert.equal((await messages.next()).done, true);
});

test("a host module that fails to import is a clear error from create()", async () => {
  const broken = new URL("./fixtures/broken_host.ts", import.meta.url);
  await assert.rejects(LuaWorker.create({ lua: luaVersions[0], host: broken }), /failed to import: .*refuses to load/);
  await assert.rejects(LuaWorker.create({ lua: luaVersions[0], host: 42 as never }), TypeError);
});
