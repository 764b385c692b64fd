-- Size limits the libraries check before allocating (a real out-of-memory
-- error needs more memory than a test should take), and the state after.
dofile("tests/conformance/common.lua")
if _VERSION >= "Lua 5.3" then
  show("rep 2^44", string.rep, "x", 2 ^ 44)
  show("rep 2^43 with separator", string.rep, "x", 2 ^ 43, ",")
end
show("rep -1", string.rep, "x", -1)
show("concat", function() local t = {} for i = 1, 100 do t[i] = "x" end return #table.concat(t) end)
show("state lives on", function() return ("a"):rep(3) end)
