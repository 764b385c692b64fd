-- debug.traceback (mtint's in host states on 5.2 to 5.4, csrc/lua/traceback.c,
-- which names the frames' functions with one walk of the globals or of
-- package.loaded) writes what the stock one writes: names found globally,
-- from the call, or not at all; C frames; tail calls; the "..." of deep
-- stacks from any start level; other coroutines; messages that are no
-- string. Each traceback is taken inside a coroutine, whose stack is the
-- same in every runner, and each function is reachable under one name.
dofile("tests/conformance/common.lua")
-- 5.2 searches the globals two levels deep, where _G._G makes every global
-- reachable twice ("pcall" and "_G.pcall"): the first found then depends on
-- the table's layout, which differs between runners.
local globals = _G
_G._G = nil

-- LuaJIT names its builtins by address.
local function trace(label, ...)
  local out = { n = select("#", ...), ... }
  for i = 1, out.n do
    if type(out[i]) == "string" then out[i] = out[i]:gsub("0x%x+", "0x?") end
  end
  line(label, (unpack or table.unpack)(out, 1, out.n))
end

local function inside(f, ...)
  return select(2, coroutine.resume(coroutine.create(f), ...))
end

function probe_global(msg, level) return (debug.traceback(msg, level)) end
function probe_caller(...) return (probe_global(...)) end
trace("global functions", inside(probe_caller, "m", 1))
trace("level 0", inside(probe_caller, "m", 0))
trace("level 2", inside(probe_caller, "m", 2))
trace("no message", inside(probe_caller, nil, 1))
trace("number message", inside(probe_caller, 42, 1))

trace("table message", inside(function() return debug.traceback({}) end))
trace("nil message, level", inside(function() return debug.traceback(nil, 1) end))
trace("false message", inside(function() return debug.traceback(false) end))

-- C functions called by C functions: no name from the call.
trace("pcall frames", inside(function()
  local _, _, t = pcall(pcall, function() return debug.traceback("c") end)
  return t
end))
trace("pcall frames, error handler", inside(function()
  local _, t = xpcall(function() error("boom", 0) end, debug.traceback)
  return t
end))

-- A function in a library table, and one straight in package.loaded.
string.probe_field = function() return (debug.traceback("lib")) end
trace("library field, called by pcall", inside(function() local _, t = pcall(string.probe_field) return t end))
package.loaded.probe_loaded = function() return (debug.traceback("loaded")) end
trace("package.loaded entry, called by pcall", inside(function()
  local _, t = pcall(package.loaded.probe_loaded)
  return t
end))

-- Tail calls.
local function tail_end() return debug.traceback("tail") end
function probe_tail() return tail_end() end
trace("tail call", inside(function() return (probe_tail()) end))

-- Deep stacks, from several start levels (5.2 places its "..." by level).
local function deep(n, level)
  if n == 0 then return (debug.traceback("deep", level)) end
  return (deep(n - 1, level))
end
for _, level in ipairs({ 1, 5, 11, 12, 13, 20 }) do
  trace("deep 30 from " .. level, inside(deep, 30, level))
end
trace("deep 21", inside(deep, 21, 1))
trace("deep 22", inside(deep, 22, 1))
trace("deep 23", inside(deep, 23, 1))

-- Another coroutine's stack.
local co = coroutine.create(function() probe_yield() end)
function probe_yield() coroutine.yield() end
coroutine.resume(co)
trace("other coroutine", debug.traceback(co))
trace("other coroutine, message and level", debug.traceback(co, "co", 1))
trace("other coroutine, level 0", debug.traceback(co, nil, 0))
trace("other coroutine, table message", debug.traceback(co, {}))
trace("dead coroutine", debug.traceback(coroutine.create(function() end), "dead"))

-- Many globals: the names found are the same.
for i = 1, 3000 do globals["probe_g" .. i] = i end
trace("many globals", inside(probe_caller, "many", 1))
trace("many globals, pcall frames", inside(function()
  local _, _, t = pcall(pcall, function() return debug.traceback("c") end)
  return t
end))
