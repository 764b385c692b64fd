-- The registry at scale: n registered coroutines in one state. Runs in a
-- LuaWorker (... = n, id of an idle other state; memory is read by the
-- JavaScript side at each sync point, which it acknowledges with send) and,
-- as the drop-in module, under the stock interpreters (... = n; memory is
-- read here: collectgarbage("count") and VmRSS; "key value" lines out).
local mtint = require "mtint"
local hosted, host = pcall(require, "host")
local clock = hosted and host.clock or os.clock
local n, other = ...
n = math.floor(tonumber(n) or 1000000)
other = tonumber(other)
local out = { n = n }

local function rss()
  local f = io.open("/proc/self/status")
  local kb = f:read("*a"):match("VmRSS:%s+(%d+) kB")
  f:close()
  return tonumber(kb) * 1024
end

local function sync(tag)
  collectgarbage()
  collectgarbage()
  if hosted then
    host.post(tag)
    host.recv()
  else
    out["lua_" .. tag] = collectgarbage("count") * 1024
    out["rss_" .. tag] = rss()
  end
end

local id, interrupt = mtint.id, mtint.interrupt
local f = function() end
sync("start")
local cos, ids = {}, {}
for i = 1, n do
  cos[i] = false
  ids[i] = false
end
id() -- the main state (5.1 and LuaJIT register it at its first id())
sync("empty")
for i = 1, n do cos[i] = coroutine.create(f) end
sync("created")

-- The loop without the call, to subtract.
local t0 = clock()
for i = 1, n do ids[i] = cos[i] end
local base = clock() - t0
for i = 1, n do ids[i] = false end

t0 = clock()
for i = 1, n do ids[i] = id(cos[i]) end
out.first_id = (clock() - t0 - base) / n * 1e9
sync("registered")

t0 = clock()
for i = 1, n do ids[i] = id(cos[i]) end
out.again_id = (clock() - t0 - base) / n * 1e9

t0 = clock()
for _ = 1, n do id() end
out.main_id = (clock() - t0) / n * 1e9

-- Interrupt every suspended coroutine once, then withdraw every request.
t0 = clock()
for i = 1, n do interrupt(ids[i]) end
out.interrupt_co = (clock() - t0) / n * 1e9
t0 = clock()
for i = 1, n do interrupt(ids[i], false) end
out.withdraw_co = (clock() - t0) / n * 1e9

if other then
  t0 = clock()
  for _ = 1, n do interrupt(other) end
  out.interrupt_other = (clock() - t0) / n * 1e9
  interrupt(other, false)
end

cos, ids = nil, nil
sync("released")
if hosted then return out end
for k, v in pairs(out) do print(k, string.format("%.17g", v)) end
