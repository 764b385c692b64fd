-- Issue 12, item 5: interrupt a thread that is about to receive (or is
-- waiting in) mtmsg's nextmsg, then send it a message. As with the rock,
-- the receive raises mtint.error.interrupted and the message stays in the
-- buffer. Needs llthreads2 and mtmsg (scripts/rock_suite.sh runs it).
local llthreads = require("llthreads2.ex")
local mtmsg     = require("mtmsg")
local mtint     = require("mtint")
local runs = tonumber(arg and arg[1]) or 40
local lost = 0
for i = 1, runs do
  local inb, outb = mtmsg.newbuffer(), mtmsg.newbuffer()
  local thread = llthreads.new(function(inId, outId)
    local mtmsg = require("mtmsg")
    local mtint = require("mtint")
    local inb, outb = mtmsg.buffer(inId), mtmsg.buffer(outId)
    local got = "nothing"
    local ok, err = pcall(function()
      outb:addmsg(mtint.id())
      got = inb:nextmsg()
      local t = mtmsg.time() -- an interrupt that came late lands here
      while mtmsg.time() - t < 0.2 do end
    end)
    outb:addmsg(tostring(ok), tostring(err), tostring(got))
  end, inb:id(), outb:id())
  thread:start()
  local id = outb:nextmsg()
  if i % 2 == 0 then mtmsg.sleep(0.01) end -- odd runs: before the wait; even: inside it
  mtint.interrupt(id)
  inb:addmsg("payload")
  local ok, err, got = outb:nextmsg()
  thread:join()
  assert(ok == "false" and err:match(mtint.error.interrupted), "run " .. i .. ": " .. ok .. " " .. err)
  if inb:nextmsg(0) ~= "payload" then
    lost = lost + 1
    print("run " .. i .. ": the message was taken (" .. got .. ") before the interrupt landed")
  end
end
assert(lost == 0, lost .. " of " .. runs .. " messages lost")
print("OK. " .. runs .. " runs, no message lost")
