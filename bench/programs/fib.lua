-- Recursive fib: Lua calls and returns.
local scale = tonumber((...)) or 1
local function fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end
local rounds = math.max(1, math.floor(6 * scale + 0.5))
local total = 0
for _ = 1, rounds do total = total + fib(30) end
assert(total == 832040 * rounds)
