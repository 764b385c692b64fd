// The caller's functions called from Lua (LuaWorker.create({ functions })
// and lua.define): sync and async, errors, cancellation while waiting.
import assert from "node:assert/strict";
import { LuaError, LuaWorker, MtintError } from "../mod.ts";
import { eachVersion, rejection, sleep, test } from "./harness.ts";

const hostModule = new URL("./fixtures/host_functions.ts", import.meta.url);

function isInterrupted(err: unknown): err is MtintError {
  return err instanceof MtintError && err.code === "interrupted";
}

eachVersion("Lua calls the creator's functions, sync and async, with values crossing both ways", async (lua) => {
  const seen: unknown[] = [];
  const db = new Map([["ada", { born: 1815 }]]); // an object of this thread, not copyable to a worker
  await using w = await LuaWorker.create({
    lua,
    functions: {
      lookup: (name) => db.get(String(name)) ?? null,
      later: async (ms, value) => {
        await sleep(Number(ms));
        return value;
      },
      record: (...args) => void seen.push(args),
      many: () => [1, "two", { three: 3 }],
    },
  });
  assert.deepEqual(await w.run("local h = require('host') return h.lookup('ada').born, h.lookup('bob')"), [1815, null]);
  assert.deepEqual(await w.run("return require('host').later(20, 'done')"), ["done"]);
  assert.deepEqual(await w.run("return require('host').record(1, 'x', {a = true})"), []);
  assert.deepEqual(seen, [[1, "x", { a: true }]]);
  assert.deepEqual(await w.run("local t = require('host').many() return t[1], t[2], t[3].three"), [1, "two", 3]);
  // Calls interleave with coroutines and pcall as any function call does.
  assert.deepEqual(
    await w.run(`local h = require('host')
      local co = coroutine.wrap(function(x) local v = h.later(1, x) coroutine.yield(v) return v .. '!' end)
      return co('a'), co()`),
    ["a", "a!"],
  );
});

eachVersion("a throw or a rejection is a Lua error at the call site, catchable by pcall", async (lua) => {
  await using w = await LuaWorker.create({
    lua,
    functions: {
      fail: () => {
        throw new Error("nope");
      },
      reject: () => Promise.reject(new RangeError("rejected")),
      weird: () => {
        throw Object.create(null);
      },
      unsendable: () => () => {},
    },
  });
  const [ok, message] = await w.run("return pcall(require('host').fail)");
  assert.equal(ok, false);
  assert.match(String(message), /fail: nope/);
  assert.match(String((await w.run("return select(2, pcall(require('host').reject))"))[0]), /reject: rejected/);
  assert.match(String((await w.run("return select(2, pcall(require('host').weird))"))[0]), /weird: /);
  assert.match(String((await w.run("return select(2, pcall(require('host').unsendable))"))[0]), /function/);
  const err = await rejection(w.run("require('host').fail()", { name: "caller" }));
  assert.ok(err instanceof LuaError && /caller:1:.*nope/.test(err.message), String(err));
  assert.deepEqual(await w.run("return 1"), [1]);
});

eachVersion("while Lua waits: timeout, signal, interrupt and close() win; a late answer is dropped", async (lua) => {
  let release: (value: unknown) => void = () => {};
  await using w = await LuaWorker.create({
    lua,
    functions: { hang: () => new Promise((resolve) => release = resolve), quick: () => "quick" },
  });
  const started = performance.now();
  assert.ok(isInterrupted(await rejection(w.run("return require('host').hang()", { timeout: 30 }))));
  assert.ok(performance.now() - started < 2000);
  release("late");
  assert.deepEqual(await w.run("return require('host').quick()"), ["quick"], "the late answer went nowhere");

  const abort = new AbortController();
  const aborted = w.run("return require('host').hang()", { signal: abort.signal });
  await sleep(20);
  abort.abort("enough");
  assert.ok(isInterrupted(await rejection(aborted)));

  const interrupted = w.run("return pcall(require('host').hang)");
  await sleep(20);
  w.interrupt();
  const [ok, message] = await interrupted;
  assert.equal(ok, false);
  assert.match(String(message), /mtint\.error\.interrupted/);
  release("late again");

  const closing = w.run("return require('host').hang()");
  await sleep(20);
  await w.close();
  assert.ok(isInterrupted(await rejection(closing)));
});

eachVersion(
  "run(), reset() and define() from inside a called function fail clearly instead of waiting forever",
  async (lua) => {
    const w: LuaWorker = await LuaWorker.create({
      lua,
      functions: {
        nested: () => w.run("return 1"),
        other: async () => (await other.run("return 'from the other worker'"))[0],
      },
    });
    const other = await LuaWorker.create({ lua });
    try {
      const [ok, message] = await w.run("return pcall(require('host').nested)");
      assert.equal(ok, false);
      assert.match(String(message), /would wait for itself/);
      assert.deepEqual(await w.run("return require('host').other()"), ["from the other worker"]);
    } finally {
      await w.close();
      await other.close();
    }
  },
);

eachVersion("define() adds functions later, also after require('host'); reset() keeps them", async (lua) => {
  await using w = await LuaWorker.create({ lua, host: hostModule });
  await w.run("h = require('host')");
  await w.define("triple", (n) => Number(n) * 3);
  assert.deepEqual(await w.run("return h.triple(5), h.add(1, 2)"), [15, 3]);
  await w.reset();
  assert.deepEqual(await w.run("return require('host').triple(2)"), [6]);
  await assert.rejects(w.define("add", () => 0), /defined twice/);
  await assert.rejects(w.define("recv", () => 0), /built in/);
  await assert.rejects(w.define("not a name", () => 0), TypeError);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(w.define("f", 42 as any), TypeError);
  // A name too large for the channel is refused (it used to wait forever).
  await assert.rejects(w.define("f".repeat(70_000), () => 0), /too large/);
  assert.deepEqual(await w.run("return require('host').triple(3)"), [9]);
});

test("create() checks functions: names, values, and a name given both ways", async () => {
  // deno-lint-ignore no-explicit-any
  await assert.rejects(LuaWorker.create({ functions: { f: 1 } as any }), TypeError);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(LuaWorker.create({ functions: 5 as any }), TypeError);
  await assert.rejects(LuaWorker.create({ functions: { "a-b": () => 0 } }), TypeError);
  await assert.rejects(LuaWorker.create({ host: hostModule, functions: { add: () => 0 } }), /defined twice/);
});
