-- Cost of the mtint calls from Lua, in ns per call, loop overhead removed.
-- Runs in a LuaWorker (... = calls, id of an idle other state it was granted,
-- id of a live state outside its scope) and, as the
-- drop-in module, under the stock interpreters (... = calls); it prints
-- "key value" lines there and returns a table in a worker.
local mtint = require "mtint"
local hosted, host = pcall(require, "host")
local clock = hosted and host.clock or os.clock
local n, other, stranger = ...
n = math.floor(tonumber(n) or 1000000)
other = tonumber(other)
stranger = tonumber(stranger)

local function empty(k)
  local t0 = clock()
  for _ = 1, k do end
  return clock() - t0
end

local function id_main(k)
  local id = mtint.id
  local t0 = clock()
  for _ = 1, k do id() end
  return clock() - t0
end

local function id_co(k, co)
  local id = mtint.id
  local t0 = clock()
  for _ = 1, k do id(co) end
  return clock() - t0
end

local function interrupt(k, target, flag)
  local int = mtint.interrupt
  local t0 = clock()
  for _ = 1, k do int(target, flag) end
  return clock() - t0
end

local function interrupt_unknown(k, target)
  local int, pcall = mtint.interrupt, pcall
  local t0 = clock()
  for _ = 1, k do pcall(int, target) end
  return clock() - t0
end

local function pcall_only(k)
  local pcall, f = pcall, function() end
  local t0 = clock()
  for _ = 1, k do pcall(f) end
  return clock() - t0
end

local function median(xs)
  table.sort(xs)
  return xs[math.floor((#xs + 1) / 2)]
end

-- ns per call: median of 5 rounds, minus the empty loop of the same round.
local function cost(k, f, ...)
  local xs = {}
  for r = 1, 5 do xs[r] = (f(k, ...) - empty(k)) / k * 1e9 end
  return median(xs)
end

local co = coroutine.create(function() end)
local co_id = mtint.id(co)
local main_id = mtint.id()
id_main(n / 10) -- warm up
local out = {}
out.id_main = cost(n, id_main)
out.id_co = cost(n, id_co, co)
out.interrupt_co = cost(n, interrupt, co_id)
mtint.interrupt(co_id, false)
out.withdraw_co = cost(n, interrupt, co_id, false)
-- An unknown id raises: the figure includes pcall; pcall alone is given too.
local gone = coroutine.create(function() end)
local gone_id = mtint.id(gone)
gone = nil
collectgarbage()
collectgarbage()
out.interrupt_unknown = cost(n / 10, interrupt_unknown, gone_id)
out.pcall = cost(n / 10, pcall_only)
-- Outside the scope, a live id must cost what an unknown one does.
if stranger then out.interrupt_foreign = cost(n / 10, interrupt_unknown, stranger) end
if other then
  out.interrupt_other = cost(n, interrupt, other)
  mtint.interrupt(other, false)
end
out.state_id = main_id
if hosted then return out end
for k, v in pairs(out) do print(k, string.format("%.17g", v)) end
