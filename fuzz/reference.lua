-- Runs a fuzzer program under a stock interpreter the way a worker runs it
-- (chunk name "=fz", no arguments) and writes what it returned, or the
-- error, to stdout. Usage: lua5.x fuzz/reference.lua program.lua
local f = assert(io.open(arg[1], "rb"))
local src = f:read("*a")
f:close()
local fn, err = (loadstring or load)(src, "=fz")
if not fn then
  io.write("syntax:", err)
  return
end
local ok, value = pcall(fn)
if ok then io.write("ok:", tostring(value)) else io.write("error:", tostring(value)) end
