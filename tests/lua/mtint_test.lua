-- The drop-in module under a stock interpreter (lua5.1 ... lua5.4, luajit):
-- every statement of the rock's documentation that needs no threads, plus
-- bad input. Run by tests/lua/run.sh with package.cpath set to the build.
local mtint = require("mtint")
-- LuaJIT-compiled loops never run hooks (no interrupt, no count hook can
-- reach them); test the interpreter, as LuaWorkers run it.
if jit then jit.off() end
local unpack = table.unpack or unpack
local interrupted = mtint.error.interrupted

local passed = 0
local function test(name, f)
  local ok, err = pcall(f)
  if not ok then
    io.stderr:write(("FAIL %s: %s\n"):format(name, tostring(err)))
    os.exit(1)
  end
  passed = passed + 1
end

local function errors_with(text, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error containing " .. text)
  assert(tostring(err):find(text, 1, true), ("expected %q in %q"):format(text, tostring(err)))
  return err
end

local function busy(n)
  local x = 0
  for i = 1, n do x = x + i end
  return x
end

test("error table and version", function()
  assert(mtint.error.interrupted == "mtint.error.interrupted")
  assert(mtint.error.not_supported == "mtint.error.not_supported")
  assert(mtint.error.unknown_object == "mtint.error.unknown_object")
  assert(type(mtint._VERSION) == "string")
end)

test("ids are stable, large, exact", function()
  local id = mtint.id()
  assert(type(id) == "number" and id == mtint.id())
  assert(id >= 2 ^ 32 and id < 2 ^ 53 and math.floor(id) == id)
end)

test("a main state interrupted by itself raises at its next instruction", function()
  local ok, err = pcall(function()
    mtint.interrupt(mtint.id())
    busy(10)
    return "not reached"
  end)
  assert(not ok and err:match(interrupted), tostring(err))
  assert(err == interrupted) -- a plain string, no position prefix
  assert(busy(1000) == 500500) -- once: the state runs on
end)

test("coroutine ids", function()
  local c = coroutine.create(function() coroutine.yield(mtint.id()) end)
  local ok, cid = coroutine.resume(c)
  assert(ok and cid == mtint.id(c) and cid ~= mtint.id())
end)

test("a suspended coroutine that was interrupted fails on its next resume", function()
  local c = coroutine.create(function()
    coroutine.yield(mtint.id())
    return busy(10)
  end)
  local _, cid = coroutine.resume(c)
  assert(mtint.interrupt(cid) == true)
  local ok, err = coroutine.resume(c)
  assert(not ok and err:match(interrupted), tostring(err))
  assert(coroutine.status(c) == "dead")
end)

test("seed example 2, without the thread", function()
  local c = coroutine.create(function()
    coroutine.yield(mtint.id())
    local x = 1
    while true do x = x + 1 end
  end)
  local ok, cid = coroutine.resume(c)
  assert(ok and cid == mtint.id(c))
  mtint.interrupt(cid)
  local ok2, err = coroutine.resume(c)
  assert(not ok2 and err:match(mtint.error.interrupted))
end)

test("interrupt(id, true) keeps raising through pcall", function()
  local c = coroutine.create(function()
    local caught = pcall(function()
      mtint.interrupt(mtint.id(), true)
      busy(10)
    end)
    assert(caught == false)
    return "escaped"
  end)
  local ok, err = coroutine.resume(c)
  assert(not ok and err:match(interrupted), tostring(err))
end)

test("interrupt(id, false) cancels a pending interrupt", function()
  local c = coroutine.create(function() return busy(10) end)
  local id = mtint.id(c)
  mtint.interrupt(id)
  assert(mtint.interrupt(id, false) == true)
  local ok, r = coroutine.resume(c)
  assert(ok and r == 55)
  local c2 = coroutine.create(function() return busy(10) end)
  mtint.interrupt(mtint.id(c2), true)
  mtint.interrupt(mtint.id(c2), false)
  assert(select(2, coroutine.resume(c2)) == 55)
end)

test("sethook handlers run instead of the error", function()
  local calls = 0
  local c = coroutine.create(function() return busy(10) end)
  mtint.sethook(c, function() calls = calls + 1 end)
  mtint.interrupt(mtint.id(c))
  local ok, r = coroutine.resume(c)
  assert(ok and r == 55 and calls == 1)
end)

test("sethook handlers can raise their own error", function()
  local c = coroutine.create(function() return busy(10) end)
  mtint.sethook(c, function() error("stop here", 0) end)
  mtint.interrupt(mtint.id(c))
  local ok, err = coroutine.resume(c)
  assert(not ok and err == "stop here")
end)

test("sethook on the running state, always mode, cleared from the handler", function()
  local n = 0
  mtint.sethook(function()
    n = n + 1
    if n == 5 then mtint.interrupt(mtint.id(), false) end
  end)
  mtint.interrupt(mtint.id(), true)
  busy(100)
  assert(n == 5, n)
  mtint.sethook(nil)
  local ok, err = pcall(function()
    mtint.interrupt(mtint.id())
    busy(10)
  end)
  assert(not ok and err == interrupted)
end)

test("unknown_object for ids never issued (seed snippet 1)", function()
  local _, err = pcall(function() mtint.interrupt(1) end)
  assert(err:match(mtint.error.unknown_object))
  assert(mtint.error.unknown_object == "mtint.error.unknown_object")
end)

test("unknown_object once a coroutine was collected (seed snippet 2)", function()
  local c = coroutine.create(function() end)
  local id = mtint.id(c)
  mtint.interrupt(id)
  c = nil
  collectgarbage()
  collectgarbage()
  local _, err = pcall(function() mtint.interrupt(id) end)
  assert(err:match(mtint.error.unknown_object), tostring(err))
end)

test("ids are never reused", function()
  local seen = {}
  for _ = 1, 200 do
    local id = mtint.id(coroutine.create(function() end))
    assert(not seen[id])
    seen[id] = true
    collectgarbage()
  end
end)

test("many coroutines registered and collected", function()
  local ids = {}
  for i = 1, 20000 do ids[i] = mtint.id(coroutine.create(function() end)) end
  collectgarbage()
  collectgarbage()
  for i = 1, 20000, 997 do
    assert(not pcall(mtint.interrupt, ids[i]))
  end
end)

test("interruptible objects", function()
  local c = coroutine.create(function() return busy(10) end)
  local obj = mtint.interruptible(mtint.id(c))
  assert(obj:id() == mtint.id(c))
  assert(tostring(obj):match("^mtint%.interruptible"))
  assert(obj:interrupt() == true)
  local ok, err = coroutine.resume(c)
  assert(not ok and err:match(interrupted))
  assert(mtint.interrupt(obj, false) == true)
  c = nil
  collectgarbage()
  collectgarbage()
  assert(obj:interrupt() == false) -- gone: false, as the rock's object
  errors_with(mtint.error.unknown_object, mtint.interruptible, 1)
end)

-- The rock's test01 (line 109) and test02 (line 154): an id stays known
-- while an interruptible object for it lives, after its target is gone.
test("a gone target's id stays known while an interruptible object lives", function()
  local c = coroutine.create(function() end)
  local cid = mtint.id(c)
  local intr = mtint.interruptible(cid)
  c = nil
  collectgarbage()
  collectgarbage()
  assert(not intr:interrupt())
  assert(mtint.interrupt(cid) == false) -- known, gone: false, no error
  assert(mtint.interrupt(cid, true) == false)
  local again = mtint.interruptible(cid)
  assert(again:id() == intr:id() and not again:interrupt())
  intr = nil
  collectgarbage()
  assert(mtint.interruptible(cid):id() == cid) -- `again` still pins it
  again = nil
  collectgarbage()
  collectgarbage()
  errors_with(mtint.error.unknown_object, mtint.interruptible, cid)
  errors_with(mtint.error.unknown_object, mtint.interrupt, cid)
end)

test("ids are not consecutive", function()
  local a = mtint.id(coroutine.create(function() end))
  local b = mtint.id(coroutine.create(function() end))
  assert(math.abs(a - b) > 2 ^ 20, a .. " " .. b)
  errors_with(mtint.error.unknown_object, mtint.interrupt, mtint.id() + 1)
  errors_with(mtint.error.unknown_object, mtint.interrupt, mtint.id() - 1)
end)

test("coroutine.wrap", function()
  local id
  local f = coroutine.wrap(function()
    id = mtint.id()
    coroutine.yield()
    return busy(10)
  end)
  f()
  mtint.interrupt(id)
  errors_with(interrupted, f)
end)

test("debug.sethook cannot disable interruption", function()
  local ok, err = pcall(function()
    mtint.interrupt(mtint.id())
    debug.sethook()
    debug.sethook()
    busy(10)
  end)
  assert(not ok and err == interrupted, tostring(err))
  local c = coroutine.create(function()
    while true do debug.sethook() end
  end)
  mtint.interrupt(mtint.id(c), true)
  local ok2, err2 = coroutine.resume(c)
  assert(not ok2 and err2 == interrupted)
end)

test("a script's own hook keeps working through interrupts", function()
  local lines = 0
  local function count_lines(event, line)
    assert(event == "line" and type(line) == "number")
    lines = lines + 1
  end
  debug.sethook(count_lines, "l")
  local f, mask, n = debug.gethook()
  assert(f == count_lines and mask == "l" and n == 0)
  local handled = 0
  mtint.sethook(function() handled = handled + 1 end)
  mtint.interrupt(mtint.id())
  local x = 0
  x = x + 1
  x = x + 1
  assert(handled == 1)
  local before = lines
  x = x + 1
  x = x + 1
  debug.sethook()
  assert(lines >= before + 2, "the line hook still runs after the interrupt")
  assert(debug.gethook() == nil)
  mtint.sethook(nil)
end)

test("a script's count hook keeps its count while interrupts are pending", function()
  local counts = 0
  debug.sethook(function(event) assert(event == "count") counts = counts + 1 end, "", 100)
  local c = coroutine.create(function() return busy(10) end)
  local hook = debug.gethook()
  mtint.interrupt(mtint.id(c), true) -- pending elsewhere (LuaJIT: one hook for all)
  busy(2000)
  local f, mask, n = debug.gethook() -- the script's view, not the native hook's
  assert(f == hook and mask == "" and n == 100, tostring(mask) .. " " .. tostring(n))
  if _VERSION == "Lua 5.4" then assert(debug.getregistry()._HOOKKEY[coroutine.running()] == hook) end
  debug.sethook()
  mtint.interrupt(mtint.id(c), false)
  assert(counts > 20 and counts < 2000, counts)
end)

test("bad input gives errors that say what was expected", function()
  local id = mtint.id()
  local bad = {
    {},
    {"123"},
    {1.5},
    {0 / 0},
    {-1},
    {-65},
    {-1000},
    {0},
    {2 ^ 53},
    {2 ^ 63},
    {math.huge},
    {-math.huge},
    {true},
    {{}},
  }
  for _, args in ipairs(bad) do
    local err = errors_with("interruptible id expected", mtint.interrupt, unpack(args))
    assert(err:find("bad argument #1", 1, true), err)
  end
  if math.maxinteger then
    errors_with("interruptible id expected", mtint.interrupt, math.maxinteger)
    errors_with("interruptible id expected", mtint.interrupt, math.mininteger)
  end
  errors_with("boolean or nil expected", mtint.interrupt, id, "yes")
  errors_with("boolean or nil expected", mtint.interrupt, id, 1)
  errors_with("function or nil expected", mtint.sethook, 42)
  errors_with("function or nil expected", mtint.sethook, coroutine.create(function() end), "f")
  errors_with("thread expected", mtint.id, 42)
  errors_with("interruptible id expected", mtint.interruptible, "x")
  assert(busy(10) == 55) -- and the state is fine
end)

print(("%s: %d tests passed"):format(_VERSION .. (jit and (" " .. jit.version) or ""), passed))
