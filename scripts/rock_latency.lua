-- interrupt(id) -> the interrupt handler's first statement, in a thread
-- spinning in a loop that calls nothing, with real llthreads2 and mtmsg:
-- the same script loads the rock's mtint or the drop-in (LUA_CPATH), so
-- the two can be run interleaved (scripts/rock_suite.sh, LATENCY=n).
-- Prints p50 and p99 in microseconds. mtmsg.time() is gettimeofday: 1 us
-- resolution.
local llthreads = require("llthreads2.ex")
local mtmsg     = require("mtmsg")
local mtint     = require("mtint")
local samples = tonumber(arg and arg[1]) or 200
local out, ctl = mtmsg.newbuffer(), mtmsg.newbuffer()
local thread = llthreads.new(function(outId, ctlId)
  if jit then jit.off() end -- compiled loops that call nothing never look at hooks
  local mtmsg = require("mtmsg")
  local mtint = require("mtint")
  local out, ctl = mtmsg.buffer(outId), mtmsg.buffer(ctlId)
  local time, stop = mtmsg.time, false
  mtint.sethook(function()
    local t = time()
    out:addmsg(t)
    if ctl:nextmsg(0) == "stop" then stop = true end
  end)
  out:addmsg(mtint.id())
  while not stop do end
end, out:id(), ctl:id())
thread:start()
local id = out:nextmsg()
local ns = {}
for i = 1, samples + 10 do
  mtmsg.sleep(0.0002 + (i % 7) * 0.00004)
  local t0 = mtmsg.time()
  mtint.interrupt(id)
  local t1 = out:nextmsg()
  if i > 10 then ns[#ns + 1] = (t1 - t0) * 1e6 end
end
ctl:addmsg("stop")
mtint.interrupt(id)
out:nextmsg()
thread:join()
table.sort(ns)
print(string.format("%s: interrupt -> hook p50 %.1f us, p99 %.1f us (%d samples)", jit and jit.version or _VERSION,
  ns[math.floor(#ns / 2) + 1], ns[math.floor(#ns * 0.99) + 1], #ns))
