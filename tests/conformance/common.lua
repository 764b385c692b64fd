-- Shared by the probes (loaded with dofile): show(label, ...) prints the
-- results of a protected call, one line, with values rendered alike on
-- every runner (no addresses).
local tostring, type, format = tostring, type, string.format
local function render(v)
  local t = type(v)
  if t == "string" then return string.format("%q", v):gsub("\\\n", "\\n") end
  if t == "function" or t == "table" or t == "thread" or t == "userdata" then return t end
  return tostring(v)
end

local function pack(...) return { n = select("#", ...), ... } end

function show(label, f, ...)
  local r = pack(pcall(f, ...))
  local out = {}
  for i = 1, r.n do out[#out + 1] = render(r[i]) end
  print(label .. ": " .. table.concat(out, " "))
end

function line(label, ...)
  local out = {}
  for i = 1, select("#", ...) do out[#out + 1] = render((select(i, ...))) end
  print(label .. ": " .. table.concat(out, " "))
end

-- A generator of the probes' own, the same on every version (math.random
-- differs between versions and is seeded at random on 5.4): returns
-- rand(n), 1 to n, starting from `seed`.
function generator(seed)
  return function(n)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return math.floor(seed / 65536) % n + 1
  end
end
