// The safe preset leaks nothing of the host (csrc/lua/allowlist.c): a walk
// of everything a script can reach (globals, library tables, package.loaded
// and package.preload, metatables, function environments on 5.1 and
// LuaJIT, and what reachable functions return) finds only the allowlist.
import assert from "node:assert/strict";
import { LuaWorker } from "../../mod.ts";
import type { HostileCase } from "./case.ts";

// Every table and function a script may reach, by the first path the walk
// finds it at, over all versions (a version has a subset). Library fields
// are checked by name below, so they are not listed one by one here.
const reachable = new Set([
  "_G",
  ...["assert", "collectgarbage", "error", "gcinfo", "getfenv", "getmetatable", "ipairs", "load", "loadstring"]
    .map((f) => `_G.${f}`),
  ...["module", "newproxy", "next", "pairs", "pcall", "print", "rawequal", "rawget", "rawlen", "rawset", "require"]
    .map((f) => `_G.${f}`),
  ...["select", "setfenv", "setmetatable", "tonumber", "tostring", "type", "unpack", "xpcall"].map((f) => `_G.${f}`),
  ...["bit", "bit32", "coroutine", "debug", "math", "os", "package", "string", "table", "utf8"].map((f) => `_G.${f}`),
  "_G.package.loaded",
  "_G.package.preload",
  "_G.package.preload.host",
  "_G.package.preload.mtint",
  "_G.package.loaders",
  "_G.package.loaders.1",
  "_G.package.searchers",
  "_G.package.searchers.1",
  "_G.package.seeall",
  "_G.package.loaded.host",
  "_G.package.loaded.mtint",
  "_G.package.loaded.mtint.error",
  "getmetatable('')",
  // what reachable functions return (the walk's other roots)
  "coroutine.running()",
  "coroutine.create()",
  "coroutine.wrap()",
  "string.gmatch()",
  "pairs()",
  "ipairs()",
  "mtint.interruptible()",
  "newproxy(true)",
  "getmetatable(newproxy(true))",
  "utf8.codes()",
  "load()",
]);

// The fields a library table may have (allowlist.c, in other words).
const fields: Record<string, RegExp> = {
  string: /^(byte|char|dump|find|format|gfind|gmatch|gsub|len|lower|match|pack|packsize|rep|reverse|sub|unpack|upper)$/,
  table: /^(concat|foreach|foreachi|getn|insert|maxn|move|pack|remove|setn|sort|unpack)$/,
  math:
    /^(abs|a?cos|a?sin|atan2?|ceil|cosh|deg|exp|floor|fmod|frexp|huge|ldexp|log|log10|max|maxinteger|min|mininteger|mod|modf|pi|pow|rad|random|randomseed|sinh|sqrt|tanh?|tointeger|type|ult)$/,
  coroutine: /^(close|create|isyieldable|resume|running|status|wrap|yield)$/,
  utf8: /^(char|charpattern|codepoint|codes|len|offset)$/,
  bit32: /^(arshift|band|bnot|bor|btest|bxor|extract|lrotate|lshift|replace|rrotate|rshift)$/,
  bit: /^(arshift|band|bnot|bor|bswap|bxor|lshift|rol|ror|rshift|tobit|tohex)$/,
  os: /^(clock|date|difftime|exit|time)$/,
  debug: /^traceback$/,
  "package.loaded.host": /^(clock|post|recv)$/,
  "package.loaded.mtint": /^(id|interrupt|interruptible|sethook)$/,
  "getmetatable('')": /^__(index|add|sub|mul|div|mod|pow|unm|idiv)$/,
};

const walk = `
local roots = {}
local function root(name, v) roots[#roots + 1] = { name, v } end
root("_G", _G)
root("getmetatable('')", getmetatable(""))
local mtint = require("mtint")
require("host")
root("coroutine.running()", (coroutine.running()))
root("coroutine.create()", coroutine.create(function() end))
root("coroutine.wrap()", coroutine.wrap(function() end))
root("string.gmatch()", string.gmatch("", ""))
root("pairs()", (pairs({})))
root("ipairs()", (ipairs({})))
root("mtint.interruptible()", mtint.interruptible(mtint.id()))
if rawget(_G, "newproxy") then root("newproxy(true)", newproxy(true)) end
if rawget(_G, "utf8") then root("utf8.codes()", (utf8.codes(""))) end
root("load()", ((loadstring or load)("return 1")))
local seen, found, queue = {}, {}, {}
local function visit(v, path)
  local t = type(v)
  if t ~= "table" and t ~= "function" and t ~= "userdata" and t ~= "thread" then return end
  if seen[v] then return end
  seen[v] = true
  found[#found + 1] = path
  queue[#queue + 1] = { v, path }
end
for _, r in ipairs(roots) do visit(r[2], r[1]) end
local i = 1
while queue[i] do
  local v, path = queue[i][1], queue[i][2]
  i = i + 1
  if type(v) == "table" then
    local keys = {}
    for k in next, v do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
      if type(k) ~= "string" and type(k) ~= "number" then found[#found + 1] = path .. "[" .. type(k) .. " key]" end
      visit(rawget(v, k), path .. "." .. tostring(k))
    end
  end
  if type(v) ~= "function" then visit(getmetatable(v), "getmetatable(" .. path .. ")") end
  if type(v) == "function" and rawget(_G, "getfenv") then visit(getfenv(v), "getfenv(" .. path .. ")") end
end
return found`;

function allowed(path: string): boolean {
  if (reachable.has(path)) return true;
  const dot = path.lastIndexOf(".");
  if (dot < 0) return false;
  const table = path.slice(0, dot).replace(/^_G\./, "").replace(/^package\.loaded\.(?!host|mtint)/, "");
  return fields[table]?.test(path.slice(dot + 1)) ?? false;
}

export const cases: HostileCase[] = [{
  name: "the walk from every root finds only the allowlist",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const [found] = await w.run(walk) as [string[]];
    assert.ok(found.length > 80, `the walk found only ${found.length} values`);
    assert.deepEqual(found.filter((p) => !allowed(p)), [], `${lua}: reachable beyond the allowlist`);
  },
}, {
  name: "require loads only host, mtint and the libraries already open (no jit.util, jit.profile, jit.opt, ffi)",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const [loaded] = await w.run(`
      local loaded = {}
      for _, name in ipairs { "jit", "jit.util", "jit.profile", "jit.opt", "jit.vmdef", "jit.bc", "ffi", "io", "lfs",
                              "string.buffer", "table.new", "table.clear", "socket" } do
        local ok, m = pcall(require, name)
        if ok then loaded[#loaded + 1] = name end
      end
      package.path = "/etc/?"
      local ok, err = pcall(require, "passwd")
      if ok or err:find("no file") then loaded[#loaded + 1] = "searched the file system: " .. tostring(err) end
      for _, name in ipairs { "string", "table", "math", "coroutine", "package", "os", "debug", "_G" } do
        if require(name) ~= _G[name] then loaded[#loaded + 1] = "not the global: " .. name end
      end
      return loaded`) as [string[]];
    assert.deepEqual(loaded, []);
  },
}, {
  name: "the full preset keeps what luaL_openlibs opens, loaders text-only",
  async run(lua) {
    await using w = await LuaWorker.create({ lua, libs: "full" });
    const [missing] = await w.run(`
      local missing = {}
      for _, name in ipairs { "io", "os", "debug", "package", "dofile", "loadfile", "load" } do
        if not rawget(_G, name) then missing[#missing + 1] = name end
      end
      if not (package.searchers or package.loaders)[2] then missing[#missing + 1] = "Lua searcher" end
      if rawget(_G, "jit") and not pcall(require, "jit.util") then missing[#missing + 1] = "jit.util" end
      return missing`) as [string[]];
    assert.deepEqual(missing, []);
  },
}];
