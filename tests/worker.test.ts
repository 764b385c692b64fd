// LuaWorker on every Lua version built, under Deno and Bun: running,
// interrupting from any thread, per-call cancellation, closing, and bad input.
import assert from "node:assert/strict";
import { error, interrupt, LuaError, LuaWorker, MtintError, registryStats, versions } from "../mod.ts";
import { eachVersion, luaVersions, rejection, test } from "./harness.ts";
import { example1 } from "../examples/example1.ts";
import { example2 } from "../examples/example2.ts";
import { example3 } from "../examples/example3.ts";
import { snippets } from "../examples/snippets.ts";
import { CALLS_IN_CHANNEL, Channel } from "../src/channel.ts";

const quiet = () => {};

function isInterrupted(err: unknown): boolean {
  return err instanceof MtintError && err.code === "interrupted" && err.message.startsWith(error.interrupted);
}

/** Starts `chunk`, which calls running() once it is where the test wants
 * it, and waits for that; `result` is the run's promise (wrapped: an async
 * function would wait for it). */
async function started(lua: LuaWorker, chunk: string, options = {}): Promise<{ result: Promise<unknown[]> }> {
  const messages = lua.messages();
  const result = lua.run(`local function running() require("host").post("running") end ${chunk}`, options);
  // A call that ends before it says so (a deadline on a loaded machine) fails here instead of hanging.
  const ended = result.then((v) => `returned ${v}`, (e) => `failed: ${e}`);
  assert.equal(await Promise.race([messages.next().then((m) => m.value), ended]), "running");
  return { result };
}

/** A loop that says it runs from inside itself (an interrupt that lands
 * right after the post still lands in the loop). */
const SPIN_STARTED = "local x = 0 while true do x = x + 1 if x == 1000 then running() end end";

eachVersion("the seed's example 1: a spinning worker interrupted by its id", (lua) => example1(lua, quiet));
eachVersion("the seed's example 2: a coroutine interrupted by its id", (lua) => example2(lua, quiet));
eachVersion("the seed's example 3: an interrupt handler reading commands", (lua) => example3(lua, quiet));
eachVersion("the seed's documentation snippets", (lua) => snippets(lua, quiet));

eachVersion("id, version and a first run", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  assert.ok(Number.isSafeInteger(w.id) && w.id > 2 ** 32);
  assert.equal(w.version, lua === "luajit" ? "Lua 5.1" : `Lua ${lua}`);
  assert.match(w.engine, lua === "luajit" ? /^LuaJIT 2\./ : new RegExp(`^Lua ${lua.replace(".", "\\.")}\\.\\d`));
  assert.deepEqual(await w.run("return require('mtint').id()"), [w.id]);
  assert.deepEqual(await w.run("local a, b = ... return a + b, ...", { args: [40, 2] }), [42, 40, 2]);
  assert.deepEqual(await w.run("return"), []);
});

// Posted values travel as messages, the result through shared memory: the
// result must still not overtake them (it did in 15-40 % of such runs).
eachVersion("a run settles after every value its script posted has arrived", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  let got = 0;
  w.addEventListener("message", () => got++);
  const messages = w.messages();
  for (let i = 0; i < 100; i++) {
    got = 0;
    await w.run(`local post = require("host").post for i = 1, 20 do post(i) end`);
    assert.equal(got, 20, `run ${i}: ${got} of 20 values had arrived`);
    const failed = w.run(`local post = require("host").post for i = 1, 5 do post(i) end error("late", 0)`);
    await assert.rejects(failed, /late/);
    assert.equal(got, 25, `run ${i}: a failing run settled before its values`);
  }
  for (let i = 0; i < 2500; i++) assert.equal(typeof (await messages.next()).value, "number");
  await messages.return?.();
});

eachVersion("an interrupted run rejects and the state lives on", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const running =
    (await started(w, "counter = 0 while true do counter = counter + 1 if counter == 1000 then running() end end"))
      .result;
  assert.equal(interrupt(w.id), true);
  assert.ok(isInterrupted(await rejection(running)));
  const [counter] = await w.run("return counter");
  assert.ok((counter as number) > 0, "the next run sees the globals the interrupted one left");
  assert.deepEqual(await w.run("return 1 + 1"), [2]);
});

// A LuaError's traceback is the text of the Lua library's own traceback
// (csrc/lua/traceback.c builds it with one search on 5.2 to 5.4): compared
// with the stock debug.traceback (on 5.2 to 5.4 the upvalue of mtint's)
// taken at the same depth, level 0 (debug.traceback's own C frame)
// standing where the error's is (error's C frame).
eachVersion("a LuaError's traceback is the one the Lua library writes", async (lua) => {
  await using w = await LuaWorker.create({ lua, libs: "full" });
  const prelude = `
    local stock = select(2, debug.getupvalue(debug.traceback, 1)) or debug.traceback
    local function raise(msg) EXPECT = stock(msg, 0) error(msg, 0) end
    function global_fn(depth, msg) if depth > 0 then local r = global_fn(depth - 1, msg) return r end raise(msg) end
    string.custom = function(depth, msg) local r = global_fn(depth, msg) return r end
    package.loaded.top_level = function(depth, msg) return (string.custom(depth, msg)) end
    twice = package.loaded.top_level
    local obj = {}
    function obj:method(depth, msg) local r = twice(depth, msg) return r end
    local function tail(depth, msg) return obj:method(depth, msg) end
    local function run(depth, msg) local r = tail(depth, msg) return r end
  `;
  // Deep stacks, where the text skips levels, not on 5.2 and LuaJIT, whose
  // skipped levels depend on the level it starts from (0 here, 1 there).
  const depths = lua === "5.2" || lua === "luajit" ? [0, 3] : [0, 3, 15, 40];
  for (const depth of depths) {
    const err = await rejection(w.run(`${prelude} local r = run(${depth}, "boom ${depth}") return r`, { name: "tb" }));
    assert.ok(err instanceof LuaError, String(err));
    const [expected] = await w.run("return EXPECT");
    const ours = err.traceback.split("\n"), theirs = (expected as string).split("\n");
    assert.deepEqual(ours.slice(0, 2), [`boom ${depth}`, "stack traceback:"]);
    assert.match(ours[2], /^\t\[C\]: .*error/);
    assert.deepEqual(ours.slice(3), theirs.slice(3));
    if (depth === 40) assert.ok(ours.some((l) => l.startsWith("\t...")), "a traceback that skips levels");
  }
  // As many distinct named functions as a traceback shows, and more.
  for (const n of lua === "5.2" || lua === "luajit" ? [5] : [5, 30]) {
    const chain = `${prelude}
      for i = 1, ${n} do
        local f = function(d, msg) if d == 0 then raise(msg) end local r = _G["chain" .. (d - 1)](d - 1, msg) return r end
        if i % 2 == 0 then _G["chain" .. i] = f else string["chain" .. i] = f; _G["chain" .. i] = f end
      end
      chain0 = function(_, msg) raise(msg) end
      local r = chain${n}(${n}, "chain ${n}") return r`;
    const err = await rejection(w.run(chain, { name: "tb" }));
    assert.ok(err instanceof LuaError, String(err));
    const [expected] = await w.run("return EXPECT");
    assert.deepEqual(err.traceback.split("\n").slice(3), (expected as string).split("\n").slice(3), `chain ${n}`);
  }
});

// The error is made while the worker stops (src/results.ts spareError):
// it must still say where the script was, and only what really happened.
eachVersion("an interrupted call's error is its own and says where the script was", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const seen: unknown[] = [];
  for (let i = 0; i < 2; i++) {
    const { result } = await started(w, SPIN_STARTED, { name: `spin${i}` });
    interrupt(w.id);
    const err = await rejection(result);
    assert.ok(isInterrupted(err));
    assert.equal((err as MtintError).cause, undefined);
    assert.match((err as MtintError).traceback ?? "", new RegExp(`stack traceback:[^]*spin${i}:1:`));
    seen.push(err);
  }
  assert.notEqual(seen[0], seen[1]);
  // Interrupted twice, the first caught: the error made meanwhile says
  // where the second one stopped the script. (The second waits for the
  // first to be caught: two interrupts before the first lands are one.)
  const messages = w.messages();
  const twice = w.run(
    `local post = require("host").post
    pcall(function() local x = 0 while true do x = x + 1 if x == 1000 then post("running") end end end)
    post("caught") local y = 0 while true do y = y + 1 end`,
    { name: "twice" },
  );
  assert.equal((await messages.next()).value, "running");
  interrupt(w.id);
  assert.equal((await messages.next()).value, "caught");
  await new Promise((resolve) => setTimeout(resolve, 3));
  interrupt(w.id);
  const second = await rejection(twice);
  assert.ok(isInterrupted(second), String(second));
  assert.match((second as MtintError).traceback ?? "", /twice:3:/);
  await messages.return?.();
  // Caught by the script, which then fails in its own way.
  const caught = (await started(w, `pcall(function() ${SPIN_STARTED} end) error("its own", 0)`)).result;
  w.interrupt();
  const own = await rejection(caught);
  assert.ok(own instanceof LuaError && own.message === "its own", String(own));
  // Interrupted, caught, then aborted: the abort's cause.
  const controller = new AbortController();
  const aborted = (await started(w, `pcall(function() ${SPIN_STARTED} end) while true do end`, {
    signal: controller.signal,
  })).result;
  interrupt(w.id);
  await new Promise((resolve) => setTimeout(resolve, 5));
  controller.abort("enough");
  const err = await rejection(aborted);
  assert.ok(isInterrupted(err) && (err as MtintError).cause === "enough", String(err));
  assert.match((err as MtintError).traceback ?? "", /stack traceback:/);
  // Interrupted, caught, then timed out by the watchdog: the timeout's cause.
  const timed = (await started(w, `pcall(function() ${SPIN_STARTED} end) while true do end`, { timeout: 1000 })).result;
  interrupt(w.id);
  const late = await rejection(timed);
  assert.ok(isInterrupted(late) && (late as MtintError).cause === "timeout", String(late));
});

eachVersion("lua.interrupt(): once is catchable by pcall, true is not, false withdraws", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const once = (await started(
    w,
    `
    local ok = pcall(function() running() while true do end end)
    return ok`,
  )).result;
  w.interrupt();
  assert.deepEqual(await once, [false]);
  const always = (await started(w, "while true do pcall(function() running() while true do end end) end")).result;
  w.interrupt(true);
  assert.ok(isInterrupted(await rejection(always)));
  w.interrupt(false);
  assert.deepEqual(await w.run("return 'fine'"), ["fine"]);
  // An idle state is interrupted when it runs next, as in the rock.
  w.interrupt();
  assert.ok(isInterrupted(await rejection(w.run("return 1"))));
  assert.deepEqual(await w.run("return 2"), [2]);
});

eachVersion("a signal cancels its call only, and pcall cannot swallow it", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  for (
    const chunk of [
      SPIN_STARTED,
      "while true do pcall(function() running() while true do end end) end",
      "while true do xpcall(function() running() while true do end end, function() while true do end end) end",
      "xpcall(function() running() error('x') end, function() while true do end end)",
      "local co = coroutine.wrap(function() running() while true do end end) co()",
      "while true do local co = coroutine.create(function() running() while true do end end) coroutine.resume(co) end",
    ]
  ) {
    const controller = new AbortController();
    const running = (await started(w, chunk, { signal: controller.signal })).result;
    controller.abort("stop it");
    const err = await rejection(running);
    assert.ok(isInterrupted(err), `${chunk}: ${err}`);
    assert.equal((err as MtintError).cause, "stop it");
  }
  assert.deepEqual(await w.run("return 'alive'"), ["alive"]);
});

eachVersion("a late abort does nothing to the next call; an aborted queued call never runs", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const early = new AbortController();
  assert.deepEqual(await w.run("return 1", { signal: early.signal }), [1]);
  early.abort();
  assert.deepEqual(await w.run("local x = 0 for i = 1, 1e6 do x = x + i end return x"), [500000500000]);

  const first = (await started(w, "running() while not stop do end", {})).result;
  const queued = new AbortController();
  const second = w.run("ran_second = true", { signal: queued.signal });
  queued.abort();
  assert.ok(isInterrupted(await rejection(second)));
  w.interrupt();
  await rejection(first);
  assert.deepEqual(await w.run("return ran_second"), [null]);

  const already = new AbortController();
  already.abort();
  assert.ok(isInterrupted(await rejection(w.run("return 1", { signal: already.signal }))));
});

test("the channel wakes a waiter when its request is done, without a message", async () => {
  const channel = new Channel();
  const number = channel.announce(1);
  let woken = false;
  const done = channel.whenDone(number).then(() => woken = true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(woken, false);
  channel.finish(number - 1, null); // an earlier request: still waiting
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(woken, false);
  channel.finish(number, new Uint8Array([7]));
  const timer = setTimeout(() => {}, 5000); // Deno: a pending waitAsync keeps no loop alive
  await done;
  clearTimeout(timer);
  assert.deepEqual(channel.result(), new Uint8Array([7]));
  // A waiter whose request its message settled ends once a later one is done.
  const [first, second] = [channel.announce(1), channel.announce(1)];
  const stale = channel.whenDone(first);
  channel.finish(second, null);
  const guard = setTimeout(() => {}, 5000);
  await stale;
  clearTimeout(guard);
});

test("the channel carries a script's calls to the creator (Deno), newest first, and lets go when released", async () => {
  const worker = new Channel();
  const caller = new Channel(worker.buffer);
  assert.equal(worker.postCall(1, 3, new Uint8Array([1, 2])), CALLS_IN_CHANNEL);
  if (!CALLS_IN_CHANNEL) return; // Bun: messages
  assert.equal(worker.postCall(2, 0, new Uint8Array(20_000)), false); // too large: a message
  const served: [number, number, number[]][] = [];
  let stop = false;
  const timer = setTimeout(() => {}, 5000); // Deno: a pending waitAsync keeps no loop alive
  const serving = caller.serveCalls(0, () => stop, (token, fn, args) => served.push([token, fn, [...args]]));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(served, [[1, 3, [1, 2]]]);
  worker.postCall(3, 1, new Uint8Array([9]));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(served, [[1, 3, [1, 2]], [3, 1, [9]]]);
  stop = true;
  caller.releaseCalls();
  await serving;
  clearTimeout(timer);
  worker.postCall(4, 1, new Uint8Array([5]));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(served.length, 2);
});

test("a cancellation's cause is the first one asked for: close, or the signal before it", async () => {
  const w = await LuaWorker.create({ lua: luaVersions[0] });
  const controller = new AbortController();
  const first = (await started(w, "running() while true do end", { signal: controller.signal, timeout: 60_000 }))
    .result;
  controller.abort("first");
  const closing = w.close();
  const err = await rejection(first);
  assert.ok(isInterrupted(err) && (err as MtintError).cause === "first", String(err));
  await closing;

  const v = await LuaWorker.create({ lua: luaVersions[0] });
  const late = new AbortController();
  const second = (await started(v, "running() while true do end", { signal: late.signal })).result;
  const closed = v.close();
  late.abort("too late");
  const cause = await rejection(second);
  assert.ok(isInterrupted(cause) && (cause as MtintError).cause === "close", String(cause));
  assert.match(cause.message, /the LuaWorker closed/);
  await closed;
});

eachVersion("timeouts: per call and per worker", async (lua) => {
  await using w = await LuaWorker.create({ lua, timeout: 50 });
  const err = await rejection(w.run("while true do end"));
  assert.ok(isInterrupted(err));
  assert.equal((err as MtintError).cause, "timeout");
  assert.match(err.message, /timed out after 50 ms/);
  assert.ok(isInterrupted(await rejection(w.run("while true do end", { timeout: 20 }))));
  assert.deepEqual(await w.run("return 'quick'", { timeout: 10_000 }), ["quick"]);
  assert.deepEqual(await w.run("return 'no limit'", { timeout: Infinity }), ["no limit"]);
});

eachVersion("mtint.interrupt from Lua in another worker reaches this one when granted", async (lua) => {
  await using target = await LuaWorker.create({ lua });
  await using other = await LuaWorker.create({ lua: luaVersions[0], interrupts: [target] });
  const running = (await started(target, SPIN_STARTED)).result;
  assert.deepEqual(await other.run("return require('mtint').interrupt(...)", { args: [target.id] }), [true]);
  assert.ok(isInterrupted(await rejection(running)));
  const err = await rejection(other.run("require('mtint').interrupt(...)", { args: [target.id + 1] }));
  assert.ok(err instanceof LuaError && err.message.includes(error.unknown_object));
});

test("several Lua versions run at once in one process", async () => {
  const workers = await Promise.all(luaVersions.map((lua) => LuaWorker.create({ lua })));
  try {
    const ids = new Set(workers.map((w) => w.id));
    assert.equal(ids.size, workers.length, "ids are one space across versions");
    const running = (await Promise.all(workers.map((w) => started(w, SPIN_STARTED)))).map((s) => s.result);
    for (const w of workers) interrupt(w.id);
    for (const r of running) assert.ok(isInterrupted(await rejection(r)));
    const answers = await Promise.all(workers.map((w) => w.run("return _VERSION")));
    assert.deepEqual(answers.map(([v]) => v), workers.map((w) => w.version));
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
});

eachVersion("coroutines of a worker are interrupted by id from JavaScript", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const [id] = await w.run(`
    co = coroutine.create(function() while true do coroutine.yield() end end)
    coroutine.resume(co)
    return require("mtint").id(co)`);
  interrupt(id as number);
  assert.deepEqual(await w.run("return coroutine.resume(co)"), [false, error.interrupted]);
  assert.deepEqual(await w.run("return coroutine.status(co)"), ["dead"]);
});

if (luaVersions.includes("luajit")) {
  test("luajit: the JIT is off unless asked for", async () => {
    await using off = await LuaWorker.create({ lua: "luajit", libs: "full" });
    assert.deepEqual(await off.run("return (jit.status())"), [false]);
    await using on = await LuaWorker.create({ lua: "luajit", libs: "full", jit: true });
    assert.deepEqual(await on.run("return (jit.status())"), [true]);
  });
}

eachVersion("calls and results larger than the channel travel as messages", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const big = "x".repeat(200_000);
  assert.deepEqual(await w.run(`return #"${big}"`), [200_000]); // a large chunk
  const [echoed] = await w.run("return ...", { args: [big] }); // large args and result
  assert.equal(echoed, big);
  assert.deepEqual(await w.run("return string.rep('y', 100000) == string.rep('y', 100000)"), [true]);
  const [long] = await w.run("return string.rep('z', 300000)");
  assert.equal((long as string).length, 300_000);
  assert.deepEqual(await w.run("return 'small again'"), ["small again"]);
});

// The worker writes a result that fits straight into the channel
// (csrc/lua/host.c run_into) and the caller reads it there: every size on
// either side of the channel's capacity arrives whole, by run and by call.
eachVersion("results on either side of the channel's capacity arrive whole", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  for (let n = 65_500; n <= 65_545; n += 3) {
    const [viaRun] = await w.run("return string.rep('r', ...)", { args: [n] });
    assert.equal(viaRun, "r".repeat(n));
    const [viaCall] = await w.call("string.rep", { args: ["c", n] });
    assert.equal(viaCall, "c".repeat(n));
  }
  assert.deepEqual(await w.run("return 'small again'"), ["small again"]);
});

// Messages and tracebacks are read in the channel: ASCII up to 256 bytes
// in JavaScript, the rest by TextDecoder (src/codec.ts shortAscii).
eachVersion("error messages of any length and bytes read as Lua had them", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const cases = [
    "a".repeat(255),
    "a".repeat(256),
    "a".repeat(257),
    "é" + "x".repeat(300),
    "\u00e9t\u00e9",
    "",
  ];
  for (const message of cases) {
    const err = await rejection(w.run("error(..., 0)", { args: [message] }));
    assert.ok(err instanceof LuaError, String(err));
    assert.equal(err.message, message);
    assert.match(err.traceback, /^.*\nstack traceback:/s);
  }
  const invalid = await rejection(w.run(`error("a\\255b" .. string.rep("c", 10), 0)`));
  assert.ok(invalid instanceof LuaError);
  assert.equal(invalid.message, "a\ufffdb" + "c".repeat(10));
});

eachVersion("syntax and runtime errors", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const syntax = await rejection(w.run("local x = = 1", { name: "broken.lua" }));
  assert.ok(syntax instanceof LuaError);
  assert.equal(syntax.code, "syntax");
  assert.equal(syntax.chunk, "broken.lua");
  assert.equal(syntax.line, 1);
  assert.match(syntax.message, /^broken\.lua:1:/);

  const runtime = await rejection(w.run("local t = nil\n\nreturn t.x", { name: "oops" }));
  assert.ok(runtime instanceof LuaError);
  assert.equal(runtime.code, "runtime");
  assert.equal(runtime.chunk, "oops");
  assert.equal(runtime.line, 3);
  assert.match(runtime.traceback, /stack traceback:/);
  assert.equal(runtime.value, runtime.message);

  const table = await rejection(w.run("error({ code = 42, why = 'custom' })"));
  assert.ok(table instanceof LuaError);
  assert.deepEqual(table.value, { code: 42, why: "custom" });
  assert.equal(table.message, "(error object is a table value)");

  const binary = await rejection(w.run("\x1bLua"));
  assert.ok(binary instanceof LuaError && binary.code === "syntax");
  assert.deepEqual(await w.run("return 'still fine'"), ["still fine"]);
});

eachVersion("values cross as the design's table says", async (lua) => {
  await using w = await LuaWorker.create({ lua });
  const integers = lua === "5.3" || lua === "5.4";
  const echo = (...args: unknown[]) => w.run("return ...", { args: args as never[] });
  assert.deepEqual(await echo(null, undefined, true, false), [null, null, true, false]);
  assert.deepEqual(await echo(0, -7, 2 ** 53 - 1, 1.5, -0.25, 1e300), [0, -7, 2 ** 53 - 1, 1.5, -0.25, 1e300]);
  assert.ok(Number.isNaN((await echo(NaN))[0]));
  assert.deepEqual(await echo(Infinity, -Infinity), [Infinity, -Infinity]);
  assert.deepEqual(await w.run("return math.type and math.type(...) or 'number'", { args: [3] }), [
    integers ? "integer" : "number",
  ]);
  assert.deepEqual(await echo("", "héllo ✓", "a\0b"), ["", "héllo ✓", "a\0b"]);
  assert.deepEqual(await echo(new Uint8Array([104, 105])), ["hi"]); // valid UTF-8 comes back as text
  assert.deepEqual(await w.run("return '\\255\\0\\1'"), [new Uint8Array([255, 0, 1])]);
  assert.deepEqual(await echo([1, "two", [3]], { a: 1, b: { c: [true] } }), [[1, "two", [3]], {
    a: 1,
    b: { c: [true] },
  }]);
  assert.deepEqual(await w.run("return {}, {n = 1, [1] = 'x'}, {[1.5] = 'f'}"), [[], { 1: "x", n: 1 }, { "1.5": "f" }]);
  if (integers) {
    assert.deepEqual(await echo(2n ** 62n, -5n), [2n ** 62n, -5]);
    assert.deepEqual(await w.run("return math.maxinteger"), [2n ** 63n - 1n]);
    await assert.rejects(echo(2n ** 64n), RangeError);
  } else {
    await assert.rejects(echo(1n), TypeError);
  }
  await assert.rejects(echo(() => 1), /args\[0\]: a function cannot cross/);
  await assert.rejects(echo(Symbol("s")), TypeError);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  await assert.rejects(echo({ a: cyclic }), /args\[0\]\.a\.self: a cycle/);
  let deep: unknown[] = [];
  for (let i = 0; i < 150; i++) deep = [deep];
  await assert.rejects(echo(deep), RangeError);
  await assert.rejects(echo(new Date()), /a Date cannot cross/);
  const [{ f }] = await w.run("return {f = print}") as [{ f: unknown }];
  assert.equal(typeof f, "function"); // a handle (tests/call.test.ts)
  await assert.rejects(w.run("local t = {} t.t = t return t"), /result\[0\]\.t: a table that contains itself/);
  await assert.rejects(w.run("return coroutine.create(function() end)"), /a Lua thread cannot cross/);
  assert.deepEqual(await w.run("return {[true] = 1}"), [new Map([[true, 1]])]); // keys an object cannot hold
  await assert.rejects(w.run("return {[{}] = 1}"), /result\[0\]: a table key of type table cannot cross/);
  assert.deepEqual(await w.run("return 'usable'"), ["usable"]);
});

test("interrupt() and run() check their arguments", async () => {
  for (const bad of [NaN, -1, 0, 1.5, 2 ** 53, Infinity]) assert.throws(() => interrupt(bad), RangeError, `${bad}`);
  for (const bad of ["1", 1n, null, undefined, {}]) assert.throws(() => interrupt(bad as never), TypeError);
  assert.throws(() => interrupt(12345), (e) => e instanceof MtintError && e.code === "unknown_object");
  assert.throws(() => interrupt(12345, "yes" as never), TypeError);

  await using w = await LuaWorker.create({ lua: luaVersions[0] });
  await assert.rejects(w.run(42 as never), TypeError);
  await assert.rejects(w.run("return 1", { args: "x" as never }), TypeError);
  await assert.rejects(w.run("return 1", { timeout: 0 }), RangeError);
  await assert.rejects(w.run("return 1", { timeout: -5 }), RangeError);
  await assert.rejects(w.run("return 1", { timeout: NaN }), RangeError);
  await assert.rejects(w.run("return 1", { signal: {} as never }), TypeError);
  assert.throws(() => w.interrupt(1 as never), TypeError);
  assert.deepEqual(await w.run("return 'still usable'"), ["still usable"]);
  await w.close();
  await assert.rejects(w.run("return 1"), /LuaWorker is closed/);
  assert.throws(() => w.interrupt(), /LuaWorker is closed/);
  assert.throws(() => w.send(1), /LuaWorker is closed/);
  await w.close(); // twice is fine
});

test("create() checks its options", async () => {
  await assert.rejects(LuaWorker.create({ lua: "6.0" as never }), RangeError);
  await assert.rejects(LuaWorker.create({ libs: "some" as never }), RangeError);
  await assert.rejects(LuaWorker.create({ memoryLimit: -1 }), RangeError);
  await assert.rejects(LuaWorker.create({ timeout: 0 }), RangeError);
  await assert.rejects(LuaWorker.create({ jit: "yes" as never }), TypeError);
  await assert.rejects(LuaWorker.create(null as never), TypeError);
  const missing = ["5.1", "5.2", "5.3", "5.4", "luajit"].find((v) => !versions().includes(v as never));
  if (missing) {
    await assert.rejects(LuaWorker.create({ lua: missing as never }), /built: .*Build with/);
  }
});

eachVersion("close() interrupts a running call, waits, and frees the ids", async (lua) => {
  const before = registryStats();
  const w = await LuaWorker.create({ lua });
  const running = (await started(
    w,
    `
    for i = 1, 10 do coroutine.wrap(function() require("mtint").id() end)() end
    running()
    while true do end`,
  )).result;
  const queued = w.run("return 'never'");
  await w.close();
  assert.ok(isInterrupted(await rejection(running)));
  assert.ok(isInterrupted(await rejection(queued)));
  assert.deepEqual(registryStats(), before);
});
