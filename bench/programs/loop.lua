-- A numeric loop: arithmetic on locals, no calls, no allocation.
local scale = tonumber((...)) or 1
local n = math.floor(20000000 * scale)
local x, y = 0, 1
for i = 1, n do
  x = x + i * 0.5
  y = (y * 3 + i) % 1000003
  if x > 1e12 then x = x - 1e12 end
end
assert(x >= 0 and y >= 0)
