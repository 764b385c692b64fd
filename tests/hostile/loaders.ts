// Binary chunks, by every path that turns bytes into a function
// (csrc/lua/loaders.c). The chunk is a string.dump with one byte changed:
// the stock interpreters crash on it (SIGSEGV or abort: 5.2 through
// loadstring, 5.3, 5.4, LuaJIT); 5.1's bytecode verifier catches this one,
// so there it is the valid dump that must be refused.
import assert from "node:assert/strict";
import { LuaError, type LuaVersion, LuaWorker } from "../../mod.ts";
import type { HostileCase } from "./case.ts";

const presets = ["safe", "full"] as const;

// Defines crafted() (the crashing chunk) and refused(label, f, err) (f must
// be nil: a function is called, which is what would crash).
const prelude = `
local offsets = { ["Lua 5.2"] = { 35, 255 }, ["Lua 5.3"] = { 57, 255 }, ["Lua 5.4"] = { 49, 255 } }
local at = rawget(_G, "jit") and { 22, 255 } or offsets[_VERSION]
function crafted()
  local make = (loadstring or load)("\\nreturn function(...) local a, b = ... ; return a .. b, #a end", "@/tmp/gen.lua")
  local d = string.dump(make())
  if not at then return d end
  return d:sub(1, at[1] - 1) .. string.char(at[2]) .. d:sub(at[1] + 1)
end
messages = {}
function refused(label, f, err)
  if f then f("x", "y") error(label .. ": a binary chunk was loaded") end
  messages[#messages + 1] = label .. ": " .. tostring(err)
end
`;

/** Runs `body` after the prelude in a fresh worker; checks every refusal's message. */
async function refuses(lua: LuaVersion, libs: "safe" | "full", body: string): Promise<void> {
  await using w = await LuaWorker.create({ lua, libs });
  const [messages] = await w.run(`${prelude}\n${body}\nreturn messages`) as [string[]];
  assert.ok(messages.length > 0, `${lua} ${libs}: nothing was tried`);
  for (const m of messages) assert.match(m, /attempt to load a binary chunk|attempt to load chunk with wrong mode/, m);
  assert.deepEqual(await w.run("return 1 + 1"), [2]);
}

export const cases: HostileCase[] = [{
  name: "load(string) refuses binary chunks, whatever the mode",
  async run(lua) {
    if (lua === "5.1") return; // 5.1's load takes functions only (loadstring below)
    for (const libs of presets) {
      await refuses(
        lua,
        libs,
        `local s = crafted()
        for _, mode in ipairs { "b", "bt", "tb", "t" } do refused("mode " .. mode, load(s, "c", mode)) end
        refused("no mode", load(s))
        refused("nil mode, env", load(s, nil, nil, {}))`,
      );
    }
  },
}, {
  name: "load(reader) refuses binary chunks, in one piece or byte by byte",
  async run(lua) {
    // The loaders are the same C functions in both presets (load(string) and
    // loadstring above and below check both); the safe preset here.
    for (const libs of ["safe"] as const) {
      await refuses(
        lua,
        libs,
        `local s = crafted()
        local function whole() local done return function() if done then return nil end done = true return s end end
        local function bytes() local i = 0 return function() i = i + 1 return i <= #s and s:sub(i, i) or nil end end
        refused("whole", load(whole()))
        refused("bytes", load(bytes()))
        if _VERSION ~= "Lua 5.1" or rawget(_G, "jit") then
          refused("whole, mode b", load(whole(), "c", "b"))
          refused("bytes, mode bt", load(bytes(), "c", "bt"))
        end`,
      );
    }
  },
}, {
  name: "loadstring refuses binary chunks (5.1, 5.2's alias of load, LuaJIT)",
  versions: ["5.1", "5.2", "luajit"],
  async run(lua) {
    for (const libs of presets) {
      await refuses(
        lua,
        libs,
        `local s = crafted()
        refused("loadstring", loadstring(s))
        refused("loadstring named", loadstring(s, "=n"))
        if _VERSION ~= "Lua 5.1" or rawget(_G, "jit") then refused("loadstring mode b", loadstring(s, "=n", "b")) end`,
      );
    }
  },
}, {
  name: "loadfile, dofile and require refuse binary files (full preset), also behind a #! line or a BOM",
  async run(lua) {
    await refuses(
      lua,
      "full",
      `local dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir " .. dir))
      local n = 0
      for _, prefix in ipairs { "", "#!/usr/bin/lua\\n", "\\239\\187\\191" } do
        n = n + 1
        local name = dir .. "/m" .. n .. ".lua"
        local f = assert(io.open(name, "wb"))
        f:write(prefix .. crafted())
        f:close()
        local check = refused
        if prefix:byte() == 239 and _VERSION == "Lua 5.1" and not rawget(_G, "jit") then
          check = function(label, f) assert(not f, label) end -- 5.1 reads the BOM as text: a syntax error
        end
        check("loadfile " .. n, loadfile(name))
        if _VERSION ~= "Lua 5.1" or rawget(_G, "jit") then check("loadfile mode b " .. n, loadfile(name, "b")) end
        check("dofile " .. n, nil, select(2, pcall(dofile, name)))
        package.path = dir .. "/?.lua"
        local ok, err = pcall(require, "m" .. n)
        check("require " .. n, ok and err, err)
        os.remove(name)
      end
      os.remove(dir)
      -- LuaJIT refuses bytecode behind a #! line or a BOM in any mode:
      -- "cannot load malformed bytecode"; the others report the mode.
      for i, m in ipairs(messages) do
        messages[i] = m:gsub("cannot load %a+ bytecode", "attempt to load chunk with wrong mode")
      end`,
    );
  },
}, {
  name: "what string.dump returns loads nowhere",
  async run(lua) {
    for (const libs of ["safe"] as const) {
      await refuses(
        lua,
        libs,
        `local d = string.dump(function() return 1 end)
        refused("loadstring dump", (loadstring or load)(d))
        local done
        refused("reader dump", load(function() if done then return nil end done = true return d end))`,
      );
    }
  },
}, {
  name: "the safe preset has no file loaders and no native ones",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const [found] = await w.run(`
      local found = {}
      for _, name in ipairs { "dofile", "loadfile" } do if rawget(_G, name) then found[#found + 1] = name end end
      for _, name in ipairs { "loadlib", "searchpath" } do if package[name] then found[#found + 1] = name end end
      if #(package.searchers or package.loaders) ~= 1 then found[#found + 1] = "searchers" end
      if package.path ~= "" or package.cpath ~= "" then found[#found + 1] = "path" end
      return found`) as [string[]];
    assert.deepEqual(found, []);
  },
}, {
  name: "run() refuses a binary chunk",
  async run(lua) {
    await using w = await LuaWorker.create({ lua, libs: "full" });
    const [dump] = await w.run("return string.dump(function() return 1 end)") as [string | Uint8Array];
    const chunk = typeof dump === "string" ? dump : "\x1b" + "Lua";
    const err = await w.run(chunk).then(() => null, (e) => e);
    assert.ok(err instanceof LuaError, String(err));
    assert.equal(err.code, "syntax");
    assert.match(err.message, /binary chunk|wrong mode/);
  },
}];
