-- String building: concatenation, string.format, table.concat, gsub.
local scale = tonumber((...)) or 1
local rounds = math.max(1, math.floor(300 * scale + 0.5))
local len = 0
for r = 1, rounds do
  local parts = {}
  for i = 1, 2000 do
    parts[#parts + 1] = "item" .. i .. "=" .. string.format("%5.2f", i / 7) .. ";"
  end
  local s = table.concat(parts)
  s = s:gsub("item", "it"):upper()
  len = len + #s + #(s:rep(2, ",")) + r % 2
end
assert(len > 0)
