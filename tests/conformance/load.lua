-- load, loadstring: modes, readers, chunk names, environments, errors.
dofile("tests/conformance/common.lua")
local V = _VERSION
local jit = rawget(_G, "jit") ~= nil
local has_string_load = V ~= "Lua 5.1" or jit

local function reader(pieces)
  local i = 0
  return function() i = i + 1 return pieces[i] end
end

show("reader pieces", function() return load(reader { "return ", "1 ", "+ 41" })() end)
show("reader empty piece ends", function() return load(reader { "return 1", "", "+ 1" })() end)
show("reader returns true", load, function() return true end)
show("reader returns table", load, function() return {} end)
show("reader raises", load, function() error("boom") end)
show("reader raises table", function()
  local f, e = load(function() error({ code = 7 }) end)
  return f, type(e), type(e) == "table" and e.code
end)
show("reader returns number", function()
  local done = false
  local f, e = load(function() if done then return nil end done = true return 42 end)
  return type(f), e
end)
show("reader name", function()
  local f = load(reader { "return debug.getinfo(1, 'S').source" })
  return f()
end)
show("reader runtime error", function()
  return pcall(load(reader { "local x = nil\n", "return x.y" }))
end)
show("reader syntax error", load, reader { "return +" })
show("reader named", function() return load(reader { "error('e')" }, "=mine") end)
show("load(nil)", function() return load(nil) end)
show("load(table)", function() return load({}) end)
show("load(f, table name)", function() return load(function() end, {}) end)
show("load no args", function() return load() end)

if has_string_load then
  show("string", function() return load("return 2 * 21")() end)
  show("string source", function() return load("return debug.getinfo(1, 'S').source")() end)
  show("string error position", function() return pcall(load("local a\nerror('x')")) end)
  show("string syntax error", load, "x = = 1")
  show("string named", load, "x = = 1", "@file.lua")
  show("string =named", load, "x = = 1", "=name")
  show("number chunk", function() local f, e = load(42) return type(f), e end)
  show("long source", load, "x = = 1 -- " .. string.rep("long ", 30))
end

if V ~= "Lua 5.1" or jit then
  for _, mode in ipairs { "t", "b", "bt", "tb", "", "x" } do
    show("mode " .. mode .. " text", function()
      local f, e = load("return 1", "chunk", mode)
      return f and f(), e
    end)
    show("mode " .. mode .. " reader", function()
      local f, e = load(reader { "return 1" }, "chunk", mode)
      return f and f(), e
    end)
  end
  show("mode nil", function() return load("return 1", "c", nil)() end)
  show("mode table", function() return load("return 1", "c", {}) end)
end

if V ~= "Lua 5.1" and not jit then
  show("env table", function() return load("return x", "c", "t", { x = 9 })() end)
  show("env nil", function() return pcall(load("return x", "c", "t", nil)) end)
  show("env no upvalue", function() return load("local a = 1 return a", "c", "t", {})() end)
  show("env reader", function() return load(reader { "return y" }, "c", "t", { y = 3 })() end)
end
if jit then
  show("jit env table", function() return load("return x", "c", "t", { x = 9 })() end)
  show("jit env nil", function() x = 1 return load("return x", "c", "t", nil)() end)
  show("jit env number", function() x = 2 return load("return x", "c", "t", 5)() end)
end

if rawget(_G, "loadstring") then
  show("loadstring", function() return loadstring("return 5")() end)
  show("loadstring source", function() return loadstring("return debug.getinfo(1, 'S').source")() end)
  show("loadstring named", loadstring, "x = = 1", "=ls")
  show("loadstring nil", function() return loadstring(nil) end)
  show("loadstring syntax", loadstring, "return +")
end

show("nested load", function()
  return load(reader { "return load(function() return nil end)" })()
end)
show("stripped dump text", function() return type(string.dump(function() end)) end)
