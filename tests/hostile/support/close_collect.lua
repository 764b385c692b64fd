local R, G = {}, { n = 0 }
local unpack = table.unpack or unpack
local loadstring = loadstring or load
local function S(v, d)
  d = d or 0
  local t = type(v)
  if t == "string" then
    if #v > 120 then return "str#" .. #v .. ":" .. S(v:sub(1, 40)) end
    return (string.format("%q", v):gsub("0x%x+", "0x?"):gsub("builtin#%d+", "0x?"))
  elseif t == "number" then
    if v ~= v then return "nan" end
    local kind = math.type and math.type(v) or "n"
    return kind .. ":" .. string.format("%.17g", v)
  elseif t == "table" then
    if d > 3 then return "{..}" end
    local ks = {}
    for k in next, v do ks[#ks + 1] = { S(k, 9), k } end
    table.sort(ks, function(a, b) return a[1] < b[1] end)
    local out = {}
    for i = 1, math.min(#ks, 24) do out[i] = ks[i][1] .. "=" .. S(rawget(v, ks[i][2]), d + 1) end
    if #ks > 24 then out[#out + 1] = "#" .. #ks end
    return "{" .. table.concat(out, ",") .. "}"
  elseif t == "boolean" or t == "nil" then
    return tostring(v)
  end
  return t
end
local function P(...)
  local n = select("#", ...)
  local out = { "n" .. n }
  for i = 1, math.min(n, 8) do out[#out + 1] = S((select(i, ...))) end
  return table.concat(out, ",")
end
local function T(f, ...) R[#R + 1] = P(pcall(f, ...)) end
local function GC(f)
  if newproxy then
    local p = newproxy(true)
    getmetatable(p).__gc = f
    return p
  end
  return setmetatable({}, { __gc = f })
end
for i = 1, 8 do local o = GC(function(o) G.n = G.n + 1 collectgarbage() end) end

error(0/0)
collectgarbage()
collectgarbage()
R[#R + 1] = "gc:" .. G.n
return table.concat(R, "\n")
