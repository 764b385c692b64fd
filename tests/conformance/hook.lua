-- debug.sethook and debug.gethook, and where the hook is kept.
dofile("tests/conformance/common.lua")
local V = _VERSION

show("gethook none", debug.gethook)
local events = {}
local function h(event, line) events[#events + 1] = event .. ":" .. tostring(line) end

show("sethook line", function() return debug.sethook(h, "l") end)
local a = 1
a = a + 1
debug.sethook()
print("events: " .. table.concat(events, " "))
show("gethook after clear", debug.gethook)

debug.sethook(h, "crl", 7)
local f, mask, count = debug.gethook()
debug.sethook()
line("gethook crl 7", f == h, mask, count)

debug.sethook(h, "", 3)
f, mask, count = debug.gethook()
debug.sethook()
line("gethook count only", f == h, mask, count)

local n = 0
debug.sethook(function(e) n = n + 1 end, "", 1)
for i = 1, 100 do end
debug.sethook()
line("count hook fired", n > 50)

local co = coroutine.create(function() local x = 1 coroutine.yield() x = x + 1 end)
debug.sethook(co, h, "r")
f, mask, count = debug.gethook(co)
line("gethook co", f == h, mask, count)
show("gethook main while co hooked", debug.gethook)
debug.sethook(co)
show("gethook co cleared", debug.gethook, co)

if V == "Lua 5.4" then
  local reg = debug.getregistry()
  debug.sethook(h, "l")
  local kt = reg._HOOKKEY
  debug.sethook()
  line("_HOOKKEY", type(kt), type(kt) == "table" and kt[coroutine.running()] == nil)
  debug.sethook(h, "l")
  line("_HOOKKEY entry", reg._HOOKKEY[coroutine.running()] == h, getmetatable(reg._HOOKKEY) == reg._HOOKKEY,
    reg._HOOKKEY.__mode)
  debug.sethook()
end

show("sethook bad mask", function() return debug.sethook(h, nil) end)
show("sethook bad function", function() return debug.sethook(1, "l") end)
show("sethook thread only", function() return debug.sethook(co) end)
show("gethook bad", function() return debug.gethook(1) end)
show("hook error", function()
  debug.sethook(function() debug.sethook() error("in hook") end, "l")
  local z = 1
  return z
end)
debug.sethook()
show("sethook fractional count", function() return debug.sethook(function() end, "", 1.5) end)
debug.sethook()
show("sethook string count", function() return debug.sethook(function() end, "", "2") end)
debug.sethook()
show("sethook table count", function() return debug.sethook(function() end, "", {}) end)
show("sethook thread, nil function", function() return debug.sethook(coroutine.create(function() end), nil) end)
