-- Text processing: gsub, gmatch and find over a 30 KB text, and a sort of
-- 20,000 numbers without a comparator: the library calls that mtint makes
-- interruptible (csrc/lua/patterns.c, csrc/lua/sort.c) at their cost.
local scale = tonumber((...)) or 1
local rounds = math.max(1, math.floor(20 * scale + 0.5))
local words = {}
for i = 1, 3000 do words[i] = ("w" .. i):rep(1 + i % 3) end
local text = table.concat(words, "  \t ")
local total = 0
for r = 1, rounds do
  total = total + #text:gsub("%s+", " ") + select(2, text:gsub("(%a+)(%d+)", "%2%1"))
  for w in text:gmatch("%a+%d*") do total = total + 1 end
  total = total + (text:find("w2999w2999", 1, true) or 0) + #(text:match("(w1%d%d)%s") or "")
  local t, x = {}, r
  for i = 1, 20000 do x = (x * 1103515245 + 12345) % 2147483648 t[i] = x end
  table.sort(t)
  total = total + (t[1] <= t[20000] and 1 or 0)
end
assert(total > 0)
