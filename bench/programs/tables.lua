-- Table churn: many short-lived tables of mixed shapes, inserts and
-- removes; keeps the collector (and any allocator wrapper) busy.
local scale = tonumber((...)) or 1
local n = math.floor(900000 * scale)
local keep = {}
local sum = 0
for i = 1, n do
  local t = { i, i + 1, name = "n", value = i * 2 }
  t[#t + 1] = { x = i }
  if i % 3 == 0 then t.extra = { 1, 2, 3 } end
  keep[i % 512 + 1] = t
  sum = sum + #t + t.value % 7
  if i % 64 == 0 then
    local q = {}
    for j = 1, 32 do q[j] = j end
    for _ = 1, 16 do table.remove(q) end
    sum = sum + #q
  end
end
assert(sum > 0)
