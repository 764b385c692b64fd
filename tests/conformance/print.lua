-- print and tostring.
dofile("tests/conformance/common.lua")
print(nil, false, true, 1, 1.5, -0.0, 2^53, 1e300, "text", "a\tb")
print()
print("")
print(setmetatable({}, { __tostring = function() return "custom" end }))
show("__name", function() return (tostring(setmetatable({}, { __name = "MyType" })):gsub("0x%x+", "ADDR")) end)
show("__tostring non-string", print, setmetatable({}, { __tostring = function() return 1 end }))
show("__tostring table", print, setmetatable({}, { __tostring = function() return {} end }))
show("__tostring error", print, setmetatable({}, { __tostring = function() error("ts") end }))
local saved = tostring
tostring = function(v) return "T" end
print(1, 2)
tostring = saved
show("print without tostring", function()
  tostring = nil
  local ok, e = pcall(print, 1)
  tostring = saved
  return ok, e
end)
print(string.rep("x", 3) .. "\0" .. "after zero")
