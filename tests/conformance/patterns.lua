-- string.find, match, gmatch and gsub give the stock results and errors for
-- generated subjects and patterns, most of them long enough that mtint's
-- wrappers (csrc/lua/patterns.c) run their dry run first, the rest short
-- enough that they do not.
dofile("tests/conformance/common.lua")

local rand = generator(20261206)

local letters = { "a", "b", "(", ")", "x", " ", "1", "\0", "%", "]" }
local function subject(len)
  local t = {}
  for i = 1, len do t[i] = letters[rand(#letters)] end
  return table.concat(t)
end

local atoms = {
  "a", "b", ".", "%a", "%d", "%s", "%w", "%x", "%p", "%g", "%z", "%A", "[ab]", "[^a]", "[a-c]", "[%a%d]", "[]]",
  "[^]a]", "%%", "%(", "(", ")", "()", "%1", "%2", "%b()", "%bab", "%f[%w]", "%f[%s]", "$", "^", "x", "\0", "[a",
  "%", "%f", "%b",
}
local quantifiers = { "", "", "", "", "*", "+", "-", "?" }
local function pattern()
  local parts, quantified = {}, 0
  for i = 1, rand(6) do
    local q = quantifiers[rand(#quantifiers)]
    if q ~= "" then
      if quantified == 3 then q = "" end -- the stock matcher must end soon
      quantified = quantified + (q ~= "" and 1 or 0)
    end
    parts[i] = atoms[rand(#atoms)] .. q
  end
  return table.concat(parts)
end

local function each_match(s, p, init)
  local out, n = {}, 0
  for a, b, c in string.gmatch(s, p, init) do
    n = n + 1
    out[#out + 1] = tostring(a) .. "," .. tostring(b) .. "," .. tostring(c)
    if n == 40 then break end
  end
  return n, table.concat(out, ";")
end

local function captures(...)
  local t = {}
  for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end
  return "<" .. table.concat(t, "|") .. ">"
end

local lookup = setmetatable({}, { __index = function(_, k) return #tostring(k) % 2 == 0 and "T" or nil end })
local inits = { nil, 1, 3, -5, 0, 200, -200, "2", " -3 ", 0 / 0, 1e300, -1e300, 2 ^ 31 + 5, 2 ^ 32 + 3, 2 ^ 63 }

for case = 1, 700 do
  local s, p = subject(rand(4) == 1 and rand(8) or rand(60)), pattern()
  local init = inits[rand(#inits)]
  local tag = "case " .. case
  show(tag .. " find", string.find, s, p, init)
  show(tag .. " find plain", string.find, s, p, init, true)
  show(tag .. " match", string.match, s, p, init)
  show(tag .. " gmatch", each_match, s, p, init)
  show(tag .. " gsub string", string.gsub, s, p, "<%0%1>")
  show(tag .. " gsub %%", string.gsub, s, p, "%%x%")
  local counts = { nil, 2, "1", -1, 0, 0 / 0, 1e300, 2 ^ 32 + 1, 2 ^ 31 }
  show(tag .. " gsub function", string.gsub, s, p, captures, counts[rand(#counts)])
  show(tag .. " gsub table", string.gsub, s, p, lookup)
end

-- Plain searches the dry run takes (subject times needle past its bound).
local long = string.rep("ab", 3000) .. "abc" .. string.rep("ab", 3000)
show("plain long", string.find, long, "abc", 1, true)
show("plain long, specials", string.find, long, "b.c", 1, true)
show("no specials long", string.find, long, string.rep("ab", 200) .. "c")
show("plain long, missing", string.find, long, "abd", 1, true)
show("gsub long", string.gsub, long, "(a)(b)", "%2%1", 5)
show("gmatch long", function() local n = 0 for _ in long:gmatch("a") do n = n + 1 end return n end)

-- Argument errors come from the stock functions, with their names.
show("find no pattern", string.find, "abc")
show("find table init", string.find, "abc", "b", {})
show("find float init", string.find, "abc", "b", 1.5)
show("gsub bad replacement", string.gsub, "abc", "b", true)
show("gsub bad count", string.gsub, "abc", "b", "x", "y")
show("gmatch no subject", string.gmatch)
show("method call", function() return ("hello world"):find("o w") end)
show("called through a name", function() local find = string.find return find(nil, "x") end)
