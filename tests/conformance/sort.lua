-- table.sort without a comparator sorts as stock Lua does, ties included,
-- past the sizes where mtint lends it an interruptible comparator
-- (csrc/lua/sort.c): -0.0 and 0.0 compare equal but print apart, so the
-- order of ties shows.
dofile("tests/conformance/common.lua")

local rand = generator(7)

-- The first 60 entries and a checksum of them all.
local function order(t)
  local out, sum = {}, 0
  for i = 1, #t do
    local v = t[i]
    local shown = v == 0 and (1 / v < 0 and "-0" or "+0") or tostring(v)
    for k = 1, #shown do sum = (sum * 31 + shown:byte(k)) % 2147483647 end
    if i <= 60 then out[i] = shown end
  end
  return table.concat(out, " ") .. " ... " .. sum
end

for _, n in ipairs({ 10, 1000, 1025, 3000, 16385, 70000 }) do
  local zeros, words, few = {}, {}, {}
  for i = 1, n do
    zeros[i] = rand(3) == 1 and -0.0 or (rand(2) == 1 and 0.0 or rand(5) - 3)
    words[i] = string.char(96 + rand(4), 96 + rand(4))
    few[i] = rand(4)
  end
  show("zeros " .. n, function() table.sort(zeros) return order(zeros) end)
  show("words " .. n, function() table.sort(words) return order(words) end)
  show("few " .. n, function() table.sort(few) return order(few) end)
  local nan = {}
  for i = 1, n do nan[i] = rand(7) == 1 and 0 / 0 or rand(100) end
  show("nan " .. n, function() table.sort(nan) return order(nan) end)
  -- An order that lies (no comparator: __lt) reaches the bounds checks.
  local liar, mt = {}, { __lt = function() return true end }
  for i = 1, n do liar[i] = setmetatable({ i = i }, mt) end
  show("lying __lt " .. n, function()
    local ok, err = pcall(table.sort, liar)
    local ids = {}
    for i = 1, math.min(n, 30) do ids[i] = liar[i].i end
    return ok, err, table.concat(ids, " ")
  end)
  local mixed = {}
  for i = 1, n do mixed[i] = rand(2) == 1 and "x" or 1 end
  show("mixed " .. n, table.sort, mixed)
  show("explicit nil " .. n, function() table.sort(few, nil) return order(few) end)
end
show("not a table", table.sort, "x")
show("bad comparator", table.sort, { 3, 2, 1 }, 42)
