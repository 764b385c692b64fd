/**
 * The fuzzer's grammar: random hostile Lua as a tree of statements, so that
 * a failing program can be shrunk by removing statements or subtrees
 * (fuzz/minimize.ts). Every statement is self-contained (it defines what it
 * uses, or uses the fixed prelude), so removing one leaves valid Lua.
 *
 * Two kinds of program:
 * - deterministic ("diff"): terminates, and returns one string that
 *   serializes everything it observed; compared with the stock interpreter.
 * - hostile: may loop forever, recurse through C functions without bound,
 *   allocate without bound, run code with hooks off; run under a
 *   cancellation (timeout, signal, close) that must win.
 *
 * Each statement carries tags naming what it does (for example
 * "c-recursion-deep", "gc-loop"), which fuzz/known.ts matches to the bug
 * classes other work owns.
 *
 * @module
 */
import type { LuaVersion } from "../mod.ts";

/** A seeded generator (sfc32), the same sequence for the same seed. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  constructor(seed: number, stream = 0) {
    this.#a = 0x9e3779b9 ^ stream;
    this.#b = seed | 0;
    this.#c = (seed / 2 ** 32) | 0;
    this.#d = 1;
    for (let i = 0; i < 16; i++) this.u32();
  }
  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.u32() % (hi - lo + 1));
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.u32() % items.length];
  }
}

/** One statement: `head`, then `body` (indented), then `tail`. */
export interface Node {
  head: string;
  body?: Node[];
  tail?: string;
  /** What this statement does that matters to classification (see fuzz/known.ts). */
  tags?: string[];
}

/** What a program may use. */
export interface Profile {
  lua: LuaVersion;
  libs: "safe" | "full";
  /** A deterministic program compared with the stock interpreter. */
  diff: boolean;
}

/** A generated program: a fixed prelude, the statements, a fixed epilogue. */
export interface Program {
  profile: Profile;
  nodes: Node[];
}

/** Every tag used anywhere in the program. */
export function tagsOf(nodes: readonly Node[]): Set<string> {
  const tags = new Set<string>();
  const walk = (list: readonly Node[]) => {
    for (const n of list) {
      for (const t of n.tags ?? []) tags.add(t);
      if (n.body) walk(n.body);
    }
  };
  walk(nodes);
  return tags;
}

/** The number of statements, nested ones included. */
export function sizeOf(nodes: readonly Node[]): number {
  let n = 0;
  for (const node of nodes) n += 1 + (node.body ? sizeOf(node.body) : 0);
  return n;
}

// Serializes what the program observed without addresses, hash order,
// or lengths beyond a bound, so that two interpreters can be compared.
const PRELUDE = `local R, G = {}, { n = 0 }
local unpack = table.unpack or unpack
local loadstring = loadstring or load
local function S(v, d)
  d = d or 0
  local t = type(v)
  if t == "string" then
    if #v > 120 then return "str#" .. #v .. ":" .. S(v:sub(1, 40)) end
    return (string.format("%q", v):gsub("0x%x+", "0x?"):gsub("builtin#%d+", "0x?"))
  elseif t == "number" then
    if v ~= v then return "nan" end
    local kind = math.type and math.type(v) or "n"
    return kind .. ":" .. string.format("%.17g", v)
  elseif t == "table" then
    if d > 3 then return "{..}" end
    local ks = {}
    for k in next, v do ks[#ks + 1] = { S(k, 9), k } end
    table.sort(ks, function(a, b) return a[1] < b[1] end)
    local out = {}
    for i = 1, math.min(#ks, 24) do out[i] = ks[i][1] .. "=" .. S(rawget(v, ks[i][2]), d + 1) end
    if #ks > 24 then out[#out + 1] = "#" .. #ks end
    return "{" .. table.concat(out, ",") .. "}"
  elseif t == "boolean" or t == "nil" then
    return tostring(v)
  end
  return t
end
local function P(...)
  local n = select("#", ...)
  local out = { "n" .. n }
  for i = 1, math.min(n, 8) do out[#out + 1] = S((select(i, ...))) end
  return table.concat(out, ",")
end
local function T(f, ...) R[#R + 1] = P(pcall(f, ...)) end
local function GC(f)
  if newproxy then
    local p = newproxy(true)
    getmetatable(p).__gc = f
    return p
  end
  return setmetatable({}, { __gc = f })
end
`;

const EPILOGUE = `collectgarbage()
collectgarbage()
R[#R + 1] = "gc:" .. G.n
return table.concat(R, "\\n")`;

/** The program's text, with a comment per tagged statement. */
export function render(program: Program): string {
  const lines: string[] = [];
  const walk = (list: readonly Node[], indent: string) => {
    for (const n of list) {
      lines.push(indent + n.head);
      if (n.body) walk(n.body, indent + "  ");
      if (n.tail !== undefined) lines.push(indent + n.tail);
    }
  };
  walk(program.nodes, "");
  return PRELUDE + lines.join("\n") + "\n" + EPILOGUE + "\n";
}

/** The version's features. */
function features(lua: LuaVersion) {
  const num = lua === "luajit" ? 501 : Number(lua.replace(".", "0"));
  return {
    jit: lua === "luajit",
    v51: lua === "5.1",
    // yield across pcall and metamethods
    yieldable: lua !== "5.1",
    goto: lua !== "5.1",
    ints: num >= 503,
    close: num >= 504,
    tableGc: num >= 502,
    pairsMeta: num >= 502 && !(lua === "luajit"),
  };
}

/** Generates programs for one profile from one Rng. */
export class Generator {
  readonly f: ReturnType<typeof features>;
  #uid = 0;
  constructor(readonly rng: Rng, readonly profile: Profile) {
    this.f = features(profile.lua);
  }

  /** A fresh local name. */
  name(prefix = "v"): string {
    return `${prefix}${++this.#uid}`;
  }

  /** A whole program of about `size` top-level statements. */
  program(size: number): Program {
    const nodes: Node[] = [];
    for (let i = 0; i < size; i++) nodes.push(this.top());
    // A few hostile programs end by raising, or by returning a raw value to JavaScript.
    const ending = this.profile.diff ? 100 : this.rng.int(0, 99);
    if (ending < 15) nodes.push(this.topError());
    else if (ending < 28) nodes.push(this.rawReturn());
    return { profile: this.profile, nodes };
  }

  // A top-level statement: one guarded block whose outcome is recorded.
  top(): Node {
    return { head: "T(function()", body: this.block(0, this.rng.int(1, 3)), tail: "end)" };
  }

  block(depth: number, n: number): Node[] {
    const out: Node[] = [];
    for (let i = 0; i < n; i++) out.push(this.stmt(depth));
    return out;
  }

  stmt(depth: number): Node {
    const r = this.rng;
    const kinds: [number, () => Node][] = [
      [3, () => this.value()],
      [3, () => this.arith()],
      [4, () => this.metamethod(depth)],
      [4, () => this.cRecursion(depth)],
      [3, () => this.coroutine(depth)],
      [2, () => this.finalizer()],
      [2, () => this.huge()],
      [4, () => this.pattern()],
      [3, () => this.errorValue()],
      [2, () => this.tableLib()],
      [2, () => this.loader()],
      [2, () => this.nesting(depth)],
      [1, () => this.parserDepth()],
    ];
    if (this.f.close) kinds.push([2, () => this.toBeClosed(depth)]);
    if (this.profile.libs === "full") kinds.push([2, () => this.debugHook(depth)]);
    if (!this.profile.diff) kinds.push([3, () => this.mtint()], [3, () => this.loop()]);
    if (depth > 3) kinds.splice(0, kinds.length, [1, () => this.value()], [1, () => this.arith()]);
    let total = 0;
    for (const [w] of kinds) total += w;
    let x = r.int(0, total - 1);
    for (const [w, make] of kinds) {
      if ((x -= w) < 0) return make();
    }
    return this.value();
  }

  // ---- expressions ----

  number(): string {
    const r = this.rng;
    const pool = [
      "0",
      "1",
      "-1",
      "2",
      "3.5",
      "-0.0",
      "1e308",
      "-1e308",
      "2^53",
      "2^63",
      "-2^63",
      "math.huge",
      "-math.huge",
      "0/0",
      "0x7fffffff",
      "0xffffffff",
      "1/3",
      String(r.int(-1000, 1000)),
    ];
    if (this.f.ints) pool.push("math.maxinteger", "math.mininteger", "math.mininteger // -1 + 0", "0x7fffffffffffffff");
    return r.pick(pool);
  }

  string(): string {
    const r = this.rng;
    return r.pick([
      `""`,
      `"a"`,
      `"abc"`,
      `"10"`,
      `"0x10"`,
      `" 1e2 "`,
      `"a\\0b"`,
      `"\\255\\254"`,
      `"(x)[y]%z"`,
      `"héllo"`,
      `string.rep("ab", ${r.int(1, 50)})`,
      `tostring(${this.number()})`,
    ]);
  }

  expr(d = 0): string {
    const r = this.rng;
    if (d > 2) return r.chance(0.5) ? this.number() : this.string();
    switch (r.int(0, 9)) {
      case 0:
      case 1:
        return this.number();
      case 2:
      case 3:
        return this.string();
      case 4:
        return r.pick(["nil", "true", "false"]);
      case 5:
        return `{ ${this.expr(d + 1)}, ${this.expr(d + 1)}, k = ${this.expr(d + 1)} }`;
      case 6:
        return `(${this.expr(d + 1)} ${r.pick(this.ops())} ${this.expr(d + 1)})`;
      case 7:
        return `#${r.chance(0.5) ? this.string() : `{ ${this.expr(d + 1)} }`}`;
      case 8:
        return `function(...) return ${this.expr(d + 1)}, ... end`;
      default:
        return `tostring(${this.expr(d + 1)})`;
    }
  }

  ops(): string[] {
    const ops = ["+", "-", "*", "/", "%", "^", "..", "==", "~=", "<", "<=", ">", ">=", "and", "or"];
    if (this.f.ints) ops.push("//", "&", "|", "~", "<<", ">>");
    return ops;
  }

  // ---- statements ----

  value(): Node {
    return { head: `R[#R + 1] = S(${this.expr()})` };
  }

  arith(): Node {
    return {
      head: `R[#R + 1] = P(pcall(function() return ${this.expr()} ${this.rng.pick(this.ops())} ${this.expr()} end))`,
    };
  }

  // Every metamethod, with a body that may itself recurse, error or yield.
  metamethod(depth: number): Node {
    const r = this.rng;
    const events = [
      ["__index", "return o.x"],
      ["__index", "return o[1]"],
      ["__newindex", "o.y = 1 return rawget(o, 'y')"],
      ["__call", "return o(1, 2)"],
      ["__add", "return o + 1"],
      ["__sub", "return 1 - o"],
      ["__mul", "return o * o"],
      ["__div", "return o / 2"],
      ["__mod", "return o % 2"],
      ["__pow", "return 2 ^ o"],
      ["__unm", "return -o"],
      ["__concat", "return o .. 'x'"],
      ["__concat", "return 'x' .. o .. 'y'"],
      ["__len", "return #o"],
      ["__eq", "return o == setmetatable({}, getmetatable(o))"],
      ["__lt", "return o < o"],
      ["__le", "return o <= o"],
      ["__tostring", "return tostring(o)"],
      ["__tostring", "return string.format('%s', o)"],
      ["__metatable", "return getmetatable(o), pcall(setmetatable, o, {})"],
    ];
    if (this.f.ints) {
      events.push(
        ["__idiv", "return o // 1"],
        ["__band", "return o & 1"],
        ["__bor", "return 1 | o"],
        ["__bxor", "return o ~ o"],
        ["__shl", "return o << 1"],
        ["__shr", "return o >> 1"],
        ["__bnot", "return ~o"],
      );
    }
    if (this.f.pairsMeta) {
      events.push(["__pairs", "local n = 0 for k in pairs(o) do n = n + 1 if n > 5 then break end end return n"]);
    }
    if (this.profile.lua === "5.2") {
      events.push(["__ipairs", "local n = 0 for k in ipairs(o) do n = n + 1 if n > 5 then break end end return n"]);
    }
    if (this.profile.lua === "5.3" || this.profile.lua === "5.4") {
      events.push(["__index", "local n = 0 for i, v in ipairs(o) do n = n + 1 if n > 5 then break end end return n"]);
    }
    const [event, use] = r.pick(events);
    const mt = this.name("mt");
    const body: Node[] = [];
    if (r.chance(0.4)) body.push(...this.block(depth + 1, 1));
    let ret: string;
    switch (r.int(0, 5)) {
      case 0:
        ret = `error(${this.expr()})`;
        break;
      case 1:
        ret = `return ${r.pick(["a", "b", "nil", "{}"])}`;
        break;
      case 2:
        ret = event === "__tostring" ? `return ${this.string()}` : `return ${this.expr()}`;
        break;
      case 3:
        // A chain: the metamethod uses the same operation on another proxy.
        ret = `if (G.${mt} or 0) < ${
          r.int(1, 20)
        } then G.${mt} = (G.${mt} or 0) + 1 local o = setmetatable({}, ${mt}) ${use} end return 1`;
        break;
      default:
        ret = `return ${this.expr()}`;
    }
    return {
      head: `do local ${mt} = {}`,
      body: [
        { head: `${mt}.${event} = function(a, b, c)`, body, tail: `${ret} end` },
        { head: `if ${r.chance(0.5)} then ${mt}.__index = ${mt} end` },
        { head: `local o = setmetatable({}, ${mt})` },
        { head: `R[#R + 1] = P(pcall(function() ${use} end))` },
      ],
      tail: "end",
      tags: ["metamethod"],
    };
  }

  // Recursion that passes through a C function at every level.
  cRecursion(depth: number): Node {
    const r = this.rng;
    const f = this.name("rec");
    const via: string[] = [
      `(select(2, string.gsub("x", "x", function() return ${f}(d - 1) end)))`,
      `(function() local t = { 3, 1, 2 } local n = 0 table.sort(t, function(a, b) if n == 0 then n = ${f}(d - 1) end return a < b end) return n end)()`,
      `#tostring(setmetatable({}, { __tostring = function() return string.rep("x", ${f}(d - 1)) end }))`,
      `select(2, pcall(${f}, d - 1))`,
      `select(2, xpcall(${f}, function(m) return m end, d - 1))`,
      `coroutine.wrap(${f})(d - 1)`,
      `select(2, coroutine.resume(coroutine.create(${f}), d - 1))`,
      `setmetatable({}, { __index = function(t, k) return ${f}(d - 1) end }).x`,
      `setmetatable({}, { __call = function(self, n) return ${f}(n) end })(d - 1)`,
      `(setmetatable({}, { __add = function(a, b) return ${f}(d - 1) end }) + 1)`,
      `(setmetatable({}, { __concat = function(a, b) return ${f}(d - 1) end }) .. "")`,
      `(function() local got load(function() if not got then got = ${f}(d - 1) return "return" end end) return got end)()`,
      `tonumber(string.format("%s", setmetatable({}, { __tostring = function() return tostring(${f}(d - 1)) end })))`,
      `(function() local v = 0 string.gsub("x", "x", { x = setmetatable({}, { __tostring = function() return "" end }) }) v = ${f}(d - 1) return v end)()`,
    ];
    if (this.f.v51 || this.f.jit) {
      via.push(`(function() local v = 0 table.foreach({ 1 }, function() v = ${f}(d - 1) end) return v end)()`);
    }
    if (this.f.close) {
      via.push(
        `(function() local v = 0 do local c <close> = setmetatable({}, { __close = function() v = ${f}(d - 1) end }) end return v end)()`,
      );
    }
    const how = r.pick(via);
    const deep = !this.profile.diff && r.chance(0.5);
    const n = deep ? r.pick([300, 3000, 100000, 10000000]) : r.int(1, 30);
    const tags = ["c-recursion"];
    if (n > 150) tags.push("c-recursion-deep");
    if (how.includes("coroutine")) tags.push("coroutine-nesting");
    return {
      head:
        `do local ${f} ${f} = function(d) if d <= 0 then return 0 end local v = ${how} return (tonumber(v) or 0) + 1 end`,
      body: depth < 2 && r.chance(0.2) ? this.block(depth + 1, 1) : [],
      tail: `R[#R + 1] = P(pcall(${f}, ${n})) end`,
      tags,
    };
  }

  coroutine(depth: number): Node {
    const r = this.rng;
    const co = this.name("co");
    const inner: Node[] = [];
    const yieldPoints = [
      `coroutine.yield(${this.expr()})`,
      `local a, b = coroutine.yield(1, 2) R[#R + 1] = S(a) .. S(b)`,
      `R[#R + 1] = P(pcall(coroutine.yield, 3))`,
      `R[#R + 1] = P(pcall(string.gsub, "ab", ".", function(c) coroutine.yield(c) end))`,
      `R[#R + 1] = P(coroutine.resume(coroutine.running()))`,
      `R[#R + 1] = P(pcall(coroutine.wrap(function() coroutine.yield(1) error("w") end)))`,
      `R[#R + 1] = P(pcall(coroutine.resume, coroutine.create(function() return coroutine.yield() end)))`,
      `R[#R + 1] = P(pcall(table.sort, { 3, 2, 1 }, function(a, b) coroutine.yield() return a < b end))`,
    ];
    if (this.f.yieldable) {
      yieldPoints.push(
        `R[#R + 1] = P(pcall(function() coroutine.yield(4) error("after yield") end))`,
        `local o = setmetatable({}, { __index = function(t, k) return coroutine.yield(k) end }) R[#R + 1] = S(o.key)`,
        `local o = setmetatable({}, { __add = function(a, b) return coroutine.yield("add") end }) R[#R + 1] = S(o + 1)`,
      );
    }
    if (this.f.ints) yieldPoints.push(`R[#R + 1] = S(coroutine.isyieldable())`);
    for (let i = r.int(1, 3); i > 0; i--) inner.push({ head: r.pick(yieldPoints) });
    if (r.chance(0.3)) inner.push(...this.block(depth + 1, 1));
    if (r.chance(0.3)) inner.push({ head: `error(${this.expr()})` });
    const drive: Node[] = [];
    for (let i = r.int(1, 5); i > 0; i--) {
      drive.push({
        head: `R[#R + 1] = P(coroutine.resume(${co}, ${this.expr()})) R[#R + 1] = coroutine.status(${co})`,
      });
    }
    if (this.f.close && r.chance(0.3)) drive.push({ head: `R[#R + 1] = P(coroutine.close(${co}))` });
    if (r.chance(0.3)) {
      drive.push({
        head: `R[#R + 1] = P(pcall(coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)))`,
      });
    }
    return {
      head: "do",
      body: [{
        head: `local ${co} = coroutine.create(function(...)`,
        body: [...inner, { head: "return ..." }],
        tail: "end)",
      }, ...drive],
      tail: "end",
      tags: ["coroutine"],
    };
  }

  finalizer(): Node {
    const r = this.rng;
    const bodies = [
      "G.n = G.n + 1",
      "G.n = G.n + 1 local t = {} for i = 1, 100 do t[i] = {} end",
      "G.n = G.n + 1 collectgarbage()",
      "G.n = G.n + 1 G.keep = o",
      "G.n = G.n + 1 coroutine.wrap(function() coroutine.yield() end)()",
      "G.n = G.n + 1 G.obj = GC(function() G.n = G.n + 1 end)",
    ];
    const tags = ["finalizer"];
    if (!this.profile.diff) {
      bodies.push(
        "error('in finalizer')",
        "error(setmetatable({}, { __tostring = function() error('x') end }))",
        "G.n = G.n + 1 local s = string.rep('x', 1e6)",
      );
      if (r.chance(0.25)) {
        bodies.push("while true do end");
        tags.push("gc-loop");
      }
    }
    const body = r.pick(bodies);
    if (body.includes("while true")) tags.push("infinite");
    const n = r.int(1, 20);
    return {
      head: `for i = 1, ${n} do local o = GC(function(o) ${body} end) end`,
      tail: r.chance(0.5) ? "collectgarbage()" : r.chance(0.5) ? `collectgarbage("step", ${r.int(0, 100)})` : "",
      tags,
    };
  }

  toBeClosed(depth: number): Node {
    const r = this.rng;
    const body = r.chance(0.3) ? this.block(depth + 1, 1) : [];
    const err = r.pick(["", `error(${this.expr()})`, "error('in body')"]);
    const closeErr = r.chance(0.3) ? `error(${this.expr()})` : "";
    const tags = ["close"];
    let loop = "";
    if (!this.profile.diff && r.chance(0.15)) {
      loop = "while true do end";
      tags.push("close-loop", "infinite");
    }
    return {
      head:
        `do local x <close> = setmetatable({}, { __close = function(o, e) R[#R + 1] = "close:" .. S(e) ${loop} ${closeErr} end })`,
      body,
      tail: `${err} end`,
      tags,
    };
  }

  huge(): Node {
    const r = this.rng;
    const big = this.profile.diff ? r.int(0, 22) : r.int(10, 31);
    const tags = big > 24 ? ["huge"] : [];
    const n = 2 ** big;
    return r.pick<Node>([
      { head: `R[#R + 1] = P(pcall(function() return #string.rep("ab", ${n}) end))`, tags },
      { head: `R[#R + 1] = P(pcall(function() return #string.rep("a", ${n}, ",") end))`, tags },
      {
        head: `R[#R + 1] = P(pcall(function() local t = {} for i = 1, ${
          Math.min(n, 1 << 20)
        } do t[i] = i end return #t, #table.concat(t, " ") end))`,
      },
      { head: `R[#R + 1] = P(pcall(function() return select("#", unpack({}, 1, ${n})) end))`, tags },
      { head: `R[#R + 1] = P(pcall(string.format, "%${r.int(1, 200)}.${r.int(1, 120)}f", 1.5))` },
      {
        head: `R[#R + 1] = P(pcall(function() local t = {} for i = 1, ${
          Math.min(n, 10000)
        } do t = { t } end return S(t) end))`,
      },
      {
        head: `R[#R + 1] = P(pcall(function() local s = "x" for i = 1, ${
          Math.min(big, 26)
        } do s = s .. s end return #s end))`,
        tags,
      },
      { head: `R[#R + 1] = P(pcall(string.char, unpack({ 65, 66, ${r.pick(["256", "-1", "67"])} })))` },
      {
        head: `R[#R + 1] = P(pcall(function() return #table.concat({ string.rep("x", ${
          Math.min(n, 1 << 22)
        }) }, "", 1, ${r.int(1, 3)}) end))`,
      },
    ]);
  }

  patternText(): { pat: string; quantifiers: number } {
    const r = this.rng;
    const classes = [
      "%a",
      "%d",
      "%l",
      "%s",
      "%u",
      "%w",
      "%x",
      "%p",
      "%c",
      ".",
      "a",
      "b",
      "x",
      "%%",
      "%(",
      "[ab]",
      "[^a]",
      "[%a_]",
      "[a-c]",
      "[]]",
      "[^%s]",
    ];
    if (!this.f.v51) classes.push("%g");
    const items: string[] = [];
    let quantifiers = 0;
    const n = r.int(1, 6);
    for (let i = 0; i < n; i++) {
      const k = r.int(0, 12);
      if (k === 0) items.push("%b()");
      else if (k === 1) items.push("%f[%w]");
      else if (k === 2) items.push("()");
      else if (k === 3) items.push(`(${r.pick(classes)}${r.pick(["", "*", "-"])})`);
      else if (k === 4 && items.some((x) => x.startsWith("("))) items.push("%1");
      else {
        const q = r.pick(["", "", "*", "+", "-", "?"]);
        if (q) quantifiers++;
        items.push(r.pick(classes) + q);
      }
    }
    let pat = (r.chance(0.2) ? "^" : "") + items.join("") + (r.chance(0.2) ? "$" : "");
    if (r.chance(0.08)) pat += r.pick(["%", "[a", "(", ")", "%b", "%f", "%9"]);
    return { pat, quantifiers };
  }

  pattern(): Node {
    const r = this.rng;
    const { pat, quantifiers } = this.patternText();
    const lit = JSON.stringify(pat).replace(/\\\\/g, "\\\\");
    const long = quantifiers <= 1 && r.chance(0.3);
    const subject = long ? `string.rep(${r.pick([`"ab(c) "`, `"a"`, `"(("`, `"x1 "`])}, ${r.int(100, 500)})` : r.pick([
      `"hello world (nested (parens)) 123"`,
      `"aaaaaaaaaaaaaaab"`,
      `""`,
      `"a\\0b\\0c"`,
      `"((a)(b))"`,
      `"THE end."`,
      `string.rep("ab", 10)`,
    ]);
    const fn = r.pick([
      `string.find(s, p)`,
      `string.find(s, p, ${r.int(-5, 5)})`,
      `string.match(s, p)`,
      `string.gsub(s, p, "%0%0")`,
      `string.gsub(s, p, "<%1>")`,
      `string.gsub(s, p, { a = "A", ["1"] = true })`,
      `string.gsub(s, p, function(...) return select("#", ...) end, ${r.int(0, 5)})`,
      `(function() local n = 0 for a, b in string.gmatch(s, p) do n = n + 1 if n > 1000 then break end end return n end)()`,
      `string.find(s, p, 1, true)`,
    ]);
    const nodes: Node = {
      head: `do local s, p = ${subject}, ${lit} R[#R + 1] = P(pcall(function() return ${fn} end)) end`,
      tags: ["pattern"],
    };
    if (!this.profile.diff && r.chance(0.15)) {
      // A long pattern: matchers recurse once per item (5.1 has no limit).
      const k = r.pick([500, 5000, 200000]);
      return {
        head: `R[#R + 1] = P(pcall(string.find, "", string.rep("%a?", ${k})))`,
        tags: ["pattern", "long-pattern"],
      };
    }
    return nodes;
  }

  errorValue(): Node {
    const r = this.rng;
    const values = [
      "nil",
      "false",
      "true",
      "0",
      "1.5",
      "0/0",
      `"msg"`,
      "{}",
      "{ code = 1, [1] = 'x' }",
      "setmetatable({}, { __tostring = function() return 'ts' end })",
      "setmetatable({}, { __tostring = function() error('tostring fails') end })",
      "setmetatable({}, { __tostring = function() return {} end })",
      "coroutine.create(print)",
      "print",
      "function() end",
      `string.rep("e", ${r.pick([10, 100000])})`,
    ];
    const v = r.pick(values);
    return r.pick<Node>([
      { head: `R[#R + 1] = P(pcall(error, ${v}, ${r.int(0, 3)}))` },
      { head: `R[#R + 1] = P(pcall(function() error(${v}, ${r.int(0, 3)}) end))` },
      { head: `R[#R + 1] = P(xpcall(function() error(${v}) end, function(m) return type(m), m end))` },
      { head: `R[#R + 1] = P(xpcall(function() error(${v}) end, function(m) error(m) end))` },
      { head: `R[#R + 1] = P(xpcall(function() error(${v}) end, function(m) return tostring(m) end))` },
      { head: `R[#R + 1] = P(pcall(assert, false, ${v}))` },
      { head: `R[#R + 1] = P(pcall(assert, ${v}))` },
      { head: `R[#R + 1] = P(select(2, pcall(tostring, ${v})))` },
      { head: `R[#R + 1] = P(coroutine.resume(coroutine.create(function() error(${v}) end)))` },
      { head: `R[#R + 1] = P(pcall(coroutine.wrap(function() error(${v}) end)))` },
    ]);
  }

  tableLib(): Node {
    const r = this.rng;
    const cmp = r.pick([
      "a < b",
      "a > b",
      "true",
      "false",
      "a <= b",
      "math.random() < 0.5 and false",
      "error('cmp')",
      "#tostring(a) < #tostring(b)",
    ]).replace(
      "math.random() < 0.5 and false",
      "false",
    );
    const list = `{ ${Array.from({ length: r.int(0, 40) }, () => r.int(-50, 50)).join(", ")} }`;
    const calls = [
      `table.sort(t, function(a, b) return ${cmp} end) return t`,
      `table.sort(t) return t`,
      `table.insert(t, ${r.int(-2, 50)}, 1) return t`,
      `return table.remove(t, ${r.int(-2, 50)}), t`,
      `return table.concat(t, ",", ${r.int(-2, 5)}, ${r.int(0, 50)})`,
      `return unpack(t, ${r.int(-3, 3)}, ${r.int(0, 50)})`,
      `return select(${r.int(-3, 5)}, unpack(t))`,
      `return next(t, ${r.int(0, 3)})`,
      `local n = 0 for i, v in ipairs(t) do n = n + v end return n`,
      `local n = 0 for k, v in pairs(t) do n = n + v end return n`,
      `return rawlen and rawlen(t), rawequal(t, t), rawget(t, 1)`,
      `return tonumber(${this.string()}, ${r.int(2, 36)}), tonumber(${this.expr()})`,
      `return string.byte(${this.string()}, ${r.int(-5, 5)}, ${r.int(-5, 5)})`,
      `return string.format("%q %5.2s %x %g", ${this.string()}, "abc", ${r.int(0, 999)}, ${this.number()})`,
      `return math.floor(${this.number()}), math.max(${this.number()}, ${this.number()}), math.fmod(${this.number()}, ${this.number()})`,
      `return string.sub(${this.string()}, ${this.number()}, ${this.number()})`,
      `return string.rep(${this.string()}, ${
        r.int(-2, 10)
      }), string.reverse(${this.string()}), string.upper(${this.string()})`,
    ];
    if (this.f.ints) {
      calls.push(
        `return table.move(t, ${r.int(-2, 5)}, ${r.int(0, 50)}, ${r.int(-2, 5)}, {})`,
        `return utf8.char(${r.int(0, 0x10ffff)}, 72), utf8.len(${this.string()}), utf8.codepoint("héllo", 1, -1)`,
        `local n = 0 for p, c in utf8.codes(${this.string()}) do n = n + c end return n`,
        `return math.tointeger(${this.number()}), math.type(${this.expr()}), math.ult(1, -1)`,
        `return string.pack("i4", ${r.int(-5, 5)}):len(), string.unpack("i4", "\\1\\0\\0\\0")`,
      );
    }
    if (this.f.v51 || this.f.jit) calls.push(`local n = 0 table.foreachi(t, function(i, v) n = n + i end) return n`);
    const proxy = r.chance(0.25)
      ? `t = setmetatable({}, { __index = t, __newindex = function(s, k, v) rawset(s, k, v) end, __len = function() return #t end })`
      : "";
    return {
      head: `do local t = ${list} ${proxy} R[#R + 1] = P(pcall(function() ${r.pick(calls)} end)) end`,
      tags: ["table"],
    };
  }

  loader(): Node {
    const r = this.rng;
    const pieces = [
      `"return 1"`,
      `"return ", "1 +", " 2"`,
      `"x = "`,
      `"return ...", nil`,
      `1, 2`,
      `{}`,
      `"local a <const> = 1 return a"`,
    ];
    const p = r.pick(pieces);
    const reader = r.pick([
      `local parts, i = { ${p} }, 0 local f = function() i = i + 1 return parts[i] end`,
      `local f = function() error("reader fails") end`,
      `local f = function() coroutine.yield() end`,
      `local n = 0 local f = function() n = n + 1 if n < ${r.int(2, 2000)} then return " " end end`,
      `local n = 0 local f = function() n = n + 1 if n == 1 then return ${
        r.pick([...(this.profile.diff ? [] : [`"\\27Lua"`]), `"--"`, `"return 2"`])
      } end end`,
    ]);
    return {
      head:
        `do ${reader} local fn, err = load(f, "=rd") R[#R + 1] = S(err) if fn then R[#R + 1] = P(pcall(fn, 7)) end end`,
      tags: ["loader"],
    };
  }

  nesting(depth: number): Node {
    const r = this.rng;
    const i = this.name("i");
    const kinds: Node[] = [
      { head: `for ${i} = 1, ${r.int(0, 3)} do`, body: this.block(depth + 1, r.int(1, 2)), tail: "end" },
      { head: `if ${this.expr()} then`, body: this.block(depth + 1, r.int(1, 2)), tail: "end" },
      { head: "do", body: this.block(depth + 1, r.int(1, 2)), tail: "end" },
      {
        head: `R[#R + 1] = P(pcall(function(...)`,
        body: this.block(depth + 1, r.int(1, 2)),
        tail: `end, ${this.expr()}))`,
      },
      {
        head: `local ${i} = 0 while ${i} < ${r.int(0, 3)} do ${i} = ${i} + 1`,
        body: this.block(depth + 1, 1),
        tail: "end",
      },
    ];
    return r.pick(kinds);
  }

  // Deep syntax, for the parser's own recursion.
  parserDepth(): Node {
    const r = this.rng;
    const n = this.profile.diff ? r.int(1, 150) : r.pick([100, 190, 250, 1000, 100000]);
    const src = r.pick([
      `"return " .. string.rep("(", ${n}) .. "1" .. string.rep(")", ${n})`,
      `"return " .. string.rep("{", ${n}) .. string.rep("}", ${n})`,
      `string.rep("do ", ${n}) .. string.rep("end ", ${n})`,
      `"return " .. string.rep("-", ${n}) .. "1"`,
      `"return " .. string.rep("not ", ${n}) .. "nil"`,
      `"return " .. string.rep("'x' .. ", ${n}) .. "'y'"`,
      `"return " .. string.rep("f(", ${n}) .. string.rep(")", ${n})`,
      `"local a = " .. string.rep("{ a = ", ${n}) .. "1" .. string.rep("}", ${n})`,
      `string.rep("if true then ", ${n}) .. string.rep("end ", ${n})`,
      `"return function() " .. string.rep("return function() ", ${n}) .. string.rep("end ", ${n}) .. "end"`,
    ]);
    return {
      head: `do local fn, err = loadstring(${src}) R[#R + 1] = S(err) if fn then R[#R + 1] = P(pcall(fn)) end end`,
      tags: n > 200 ? ["parser-deep"] : ["parser"],
    };
  }

  debugHook(depth: number): Node {
    const r = this.rng;
    const mask = r.pick(["c", "r", "l", "cr", "crl", ""]);
    const count = mask === "" ? r.int(1, 100) : r.pick([0, 0, r.int(1, 100)]);
    const tags = ["debug-hook"];
    let body = "G.h = (G.h or 0) + 1";
    if (!this.profile.diff) {
      body = r.pick([
        body,
        "local left = G.hk or 3 if left > 0 then G.hk = left - 1 error('hk') end",
        "G.h = (G.h or 0) + 1 local t = {} for i = 1, 50 do t[i] = i end",
        "G.h = (G.h or 0) + 1 coroutine.wrap(function() end)()",
      ]);
      if (r.chance(0.1)) {
        body = "while true do end";
        tags.push("hook-loop", "infinite");
      }
    }
    return {
      head: `debug.sethook(function(ev, line) ${body} end, "${mask}", ${count})`,
      body: this.block(depth + 1, r.int(1, 2)),
      tail: `debug.sethook() R[#R + 1] = S(G.h ~= nil)`,
      tags,
    };
  }

  mtint(): Node {
    const r = this.rng;
    const tags = ["mtint"];
    let handler = r.pick([
      "error(mtint.error.interrupted)",
      "G.hooked = (G.hooked or 0) + 1",
      "error('custom interrupt')",
      "error(setmetatable({}, { __tostring = function() return 'obj' end }))",
      "coroutine.yield()",
      "return",
    ]);
    if (r.chance(0.12)) {
      handler = "while true do end";
      tags.push("mtint-hook-loop", "infinite");
    }
    const uses = [
      `mtint.sethook(function() ${handler} end) mtint.interrupt(mtint.id()) local x = 0 for i = 1, 1000 do x = x + i end mtint.sethook(nil)`,
      `mtint.interrupt(mtint.id()) local ok, e = pcall(function() local x = 0 for i = 1, 1e6 do x = x + i end end) R[#R + 1] = S(ok) .. S(e)`,
      `local co = coroutine.create(function() for i = 1, 1e6 do coroutine.yield(i) end end) mtint.interrupt(mtint.id(co), true) R[#R + 1] = P(coroutine.resume(co)) mtint.interrupt(mtint.id(co), false) R[#R + 1] = P(coroutine.resume(co))`,
      `local co = coroutine.create(function() local x = 0 while true do x = x + 1 if x % 1000 == 0 then coroutine.yield(x) end end end) require("host").post(mtint.id(co)) for i = 1, ${
        r.int(1, 200)
      } do if not coroutine.resume(co) then break end end`,
      `local o = mtint.interruptible(mtint.id()) R[#R + 1] = S(o:id() == mtint.id())`,
      `R[#R + 1] = P(pcall(mtint.interrupt, ${r.pick(["0", "-1", "2^53", "'x'", "{}", "nil", "1e300"])}))`,
      `R[#R + 1] = P(pcall(mtint.sethook, ${r.pick(["1", "'x'", "{}"])}))`,
      `local co = coroutine.create(function() mtint.sethook(function() ${handler} end) local x = 0 for i = 1, 1e5 do x = x + 1 end end) mtint.interrupt(mtint.id(co)) R[#R + 1] = P(coroutine.resume(co))`,
    ];
    return { head: `do local mtint = require("mtint") ${r.pick(uses)} end`, tags };
  }

  // Code that does not end by itself: only in programs run under a cancellation.
  loop(): Node {
    const r = this.rng;
    const loops = [
      "while true do end",
      "while true do local t = {} end",
      "local s = '' while true do s = s .. 'x' end",
      "local t = {} while true do t[#t + 1] = {} end",
      "while true do pcall(error, 'x') end",
      "while true do pcall(function() while true do end end) end",
      "string.gsub(string.rep('x', 1e6), 'x', function() while true do end end)",
      "table.sort({ 3, 2, 1 }, function(a, b) while true do end end)",
      "xpcall(error, function() while true do end end)",
      "xpcall(function() while true do end end, function(m) while true do end end)",
      "setmetatable({}, { __index = function() while true do end end }).x",
      "load(function() while true do end end)",
      "coroutine.wrap(function() while true do end end)()",
      "local co = coroutine.wrap(function() while true do coroutine.yield() end end) while true do co() end",
      "tostring(setmetatable({}, { __tostring = function() while true do end end }))",
      "while true do local ok = pcall(string.rep, 'x', 1e6) end",
      "local f f = function() return pcall(f) end while true do f() end",
      "while true do coroutine.wrap(function() error({}) end) end",
    ];
    return { head: r.pick(loops), tags: ["infinite"] };
  }

  // Values returned to JavaScript as they are (the codec's job, h6's class).
  rawReturn(): Node {
    const r = this.rng;
    const v = r.pick([
      "{ [1] = 'a', ['1'] = 'b' }",
      "{ ['\\255'] = 1 }",
      "string.rep('x', 1e6)",
      "(function() local t = {} for i = 1, 200 do t = { t } end return t end)()",
      "(function() local t = {} t.t = t return t end)()",
      "{ 1, 2, nil, 4 }",
      "0/0, math.huge, -0.0",
      "print",
      "coroutine.create(print)",
      "{ [{}] = 1 }",
      "(function() local a = {} local t = {} for i = 1, 20 do t = { t, t } end return t end)()",
    ]);
    return { head: `do return ${v} end`, tags: ["returns-raw"] };
  }

  topError(): Node {
    const r = this.rng;
    const v = r.pick([
      "nil",
      "false",
      "{ code = 1 }",
      "setmetatable({}, { __tostring = function() error('no') end })",
      "setmetatable({}, { __tostring = function() return 'shown' end })",
      "coroutine.create(print)",
      "print",
      "string.rep('e', 1e6)",
      "'\\255'",
      "0/0",
    ]);
    return { head: `error(${v})`, tags: ["top-error"] };
  }
}
