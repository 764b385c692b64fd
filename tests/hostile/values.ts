// Values crossing between JavaScript and Lua: each crosses faithfully or
// the call fails with an error naming the path; encoding and decoding stay
// within the limits (MAX_VALUES, MAX_BYTES) and the call's deadline.
import assert from "node:assert/strict";
import { type LuaInput, LuaWorker, MtintError } from "../../mod.ts";
import type { HostileCase } from "./case.ts";

const INTEGERS = ["5.3", "5.4"];
/** A Lua chunk building 24 levels of tables whose two fields share the level below (2^24 paths). */
const SHARED_LUA = "local t = {} for i = 1, 24 do t = {a = t, b = t} end";

function sharedObject(): LuaInput {
  let t: LuaInput = {};
  for (let i = 0; i < 24; i++) t = { a: t, b: t };
  return t;
}

function rssMiB(): number {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  return (g.Deno ? g.Deno.memoryUsage().rss : g.process.memoryUsage().rss) / 2 ** 20;
}

async function refused(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const err = await promise.then(() => null, (e) => e);
  assert.ok(err instanceof Error, `expected a rejection matching ${pattern}, got a result`);
  assert.match(err.message, pattern);
}

export const cases: HostileCase[] = [{
  name: "a table whose keys a plain object cannot hold apart comes back as a Map with every key",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const [same] = await w.run(`return {[1] = "integer", ["1"] = "string"}`);
    assert.ok(same instanceof Map, `got ${JSON.stringify(same)}`);
    assert.equal(same.size, 2);
    assert.equal(same.get(1), "integer");
    assert.equal(same.get("1"), "string");
    const [bytes] = await w.run(`return {["\\255\\254"] = "bytes", ["255,254"] = "text", [true] = "yes"}`);
    assert.ok(bytes instanceof Map);
    assert.equal(bytes.size, 3);
    const byteKey = [...bytes.keys()].find((k) => k instanceof Uint8Array);
    assert.deepEqual(byteKey, new Uint8Array([255, 254]));
    assert.equal(bytes.get(byteKey), "bytes");
    assert.equal(bytes.get("255,254"), "text");
    assert.equal(bytes.get(true), "yes");
    // Plain objects stay plain objects, "__proto__" an own key.
    const [plain] = await w.run(`return {a = 1, [2] = "two", __proto__ = "key"}`);
    assert.deepEqual(Object.entries(plain as object).sort(), [["2", "two"], ["__proto__", "key"], ["a", 1]]);
    assert.equal(Object.getPrototypeOf(plain), Object.prototype);
  },
}, {
  name: "a Map crosses to Lua with typed keys and back unchanged",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const map = new Map<LuaInput, LuaInput>([[1, "n"], ["1", "s"], [true, "b"], [new Uint8Array([255]), "bytes"]]);
    const [n, one, str, yes, raw, back] = await w.run(
      `local t = ... local n = 0 for _ in pairs(t) do n = n + 1 end
       return n, t[1], t["1"], t[true], t["\\255"], t`,
      { args: [map] },
    );
    assert.deepEqual([n, one, str, yes, raw], [4, "n", "s", "b", "bytes"]);
    assert.ok(back instanceof Map && back.size === 4);
    // Keys that are one key in Lua are refused, not merged.
    await refused(
      w.run("return ...", { args: [new Map([[new Uint8Array([1]), 1], [new Uint8Array([1]), 2]])] }),
      /two keys that are the same Lua value/,
    );
    await refused(
      w.run("return ...", { args: [new Map([[NaN, 1]])] }),
      /args\[0\]\.\[NaN\]: NaN cannot be a Lua table key/,
    );
    if (INTEGERS.includes(lua)) {
      await refused(w.run("return ...", { args: [new Map<LuaInput, LuaInput>([[1, 1], [1n, 2]])] }), /same Lua value/);
    }
    assert.deepEqual(await w.run("return 1"), [1]);
  },
}, {
  name: "strings and numbers cross unchanged: a leading BOM, -0, bytes, lone surrogates refused",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const [bom, len] = await w.run(`local s = ... return s, #s`, { args: ["\ufeffx"] });
    assert.equal(bom, "\ufeffx");
    assert.equal(len, 4);
    const [fromLua] = await w.run(`return "\\239\\187\\191y"`);
    assert.equal(fromLua, "\ufeffy");
    const [negZero, isNeg] = await w.run(`local z = ... return z, 1/z < 0`, { args: [-0] });
    assert.ok(Object.is(negZero, -0));
    assert.equal(isNeg, true);
    await refused(w.run("return ...", { args: ["a\ud800b"] }), /args\[0\]: a string with a lone surrogate/);
    await refused(
      w.run("return ...", { args: [{ k: ["\udc00"] }] }),
      /args\[0\]\.k\[0\]: a string with a lone surrogate/,
    );
  },
}, {
  name: "JavaScript values that cannot cross faithfully are refused, naming the path",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const throwing = Object.defineProperty({}, "x", {
      enumerable: true,
      get() {
        throw Object.create(null);
      },
    });
    const sparse: LuaInput[] = [];
    sparse.length = 2 ** 32 - 1;
    const bad: [unknown, RegExp][] = [
      [{ [Symbol("s")]: 1 }, /args\[0\]: reading the value threw: a symbol key/],
      [{ a: throwing }, /args\[0\]\.a\.x: reading the value threw: \[object Object\]/],
      [{ a: proxy }, /args\[0\]\.a: reading the value threw:.*revoked/],
      [sparse, /args\[0\]: the value holds more than 4194304 values/],
      [new Int16Array(2), /args\[0\]: a Int16Array cannot cross/],
      [new Map([[{}, 1]]), /a table key must be/],
      [Symbol("s"), /args\[0\]: a symbol cannot cross/],
    ];
    for (const [value, pattern] of bad) await refused(w.run("return ...", { args: [value as LuaInput] }), pattern);
    assert.throws(() => w.send({ a: throwing }), /value\[0\]\.a\.x: reading the value threw/);
    assert.deepEqual(await w.run("return 1"), [1]);
  },
}, {
  name: "an args getter that calls run() and send() while the arguments are encoded corrupts nothing",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    let inner: Promise<unknown[]> | undefined;
    const args = {
      get first() {
        inner ??= w.run("return ...", { args: [{ other: "inner".repeat(100) }] });
        w.send({ sent: "message".repeat(100) });
        return "outer".repeat(100);
      },
      second: "kept".repeat(100),
    };
    const [first, second] = await w.run("local t = ... return t.first, t.second", { args: [args] });
    assert.equal(first, "outer".repeat(100));
    assert.equal(second, "kept".repeat(100));
    assert.deepEqual(await inner, [{ other: "inner".repeat(100) }]);
    const [sent] = await w.run(`return require("host").recv(0)`);
    assert.deepEqual(sent, { sent: "message".repeat(100) });
  },
}, {
  name: "a result of shared subtables (2^24 paths): a 50 ms timeout still wins, the limit names the path",
  timeout: 120_000,
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const before = rssMiB();
    let started = performance.now();
    const err = await w.run(`${SHARED_LUA} return t`, { timeout: 50 }).then(() => null, (e) => e);
    const timedOut = performance.now() - started;
    assert.ok(err instanceof MtintError && err.code === "interrupted", String(err));
    assert.ok(timedOut < 1000, `the 50 ms timeout took ${timedOut.toFixed(0)} ms`);
    started = performance.now();
    await refused(
      w.run(`${SHARED_LUA} return t`),
      /^result\[0\](\.[ab]){23}: the value holds more than 4194304 values \(the limit\)/,
    );
    const limited = performance.now() - started;
    await refused(w.run(`${SHARED_LUA} error(t)`), /error object is a table/); // the error value, dropped
    console.log(
      `${lua}: timeout 50 ms rejected after ${timedOut.toFixed(0)} ms; no timeout: refused after ` +
        `${limited.toFixed(0)} ms; RSS ${before.toFixed(0)} -> ${rssMiB().toFixed(0)} MiB`,
    );
    assert.deepEqual(await w.run("return 1"), [1]);
  },
}, {
  name: "args and send() of shared objects (2^24 paths) are refused at the limit, naming the path",
  versions: ["5.4"], // encoded in JavaScript, the same for every version
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const shared = sharedObject();
    await refused(w.run("return ...", { args: [shared] }), /^args\[0\](\.[ab]){21,23}: the value holds more than/);
    assert.throws(() => w.send(shared), /^RangeError: value\[0\](\.[ab])+: the value holds more than/);
    assert.deepEqual(await w.run("return 1"), [1]);
  },
}];
