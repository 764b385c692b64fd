-- table.move and string.rep as stock Lua has them, where mtint writes the
-- first again and shortens the second's empty loop (csrc/lua/countloops.c):
-- overlaps both ways, metamethods and the order they see, errors.
dofile("tests/conformance/common.lua")

local function list(t, n)
  local out = {}
  for i = 1, n do out[i] = tostring(t[i]) end
  return table.concat(out, " ")
end

if table.move then
  show("forward", function() return list(table.move({ 1, 2, 3, 4, 5 }, 1, 3, 3), 6) end)
  show("backward", function() return list(table.move({ 1, 2, 3, 4, 5 }, 2, 5, 1), 6) end)
  show("other table", function() local b = {} table.move({ 1, 2, 3 }, 1, 3, 2, b) return list(b, 5) end)
  show("same table given twice", function() local a = { 1, 2, 3, 4 } table.move(a, 1, 3, 2, a) return list(a, 5) end)
  show("nothing to move", function() return list(table.move({ 1, 2 }, 3, 1, 1), 2) end)
  show("returns", function() local b = {} return table.move({}, 1, 0, 1, b) == b end)
  local log = {}
  local src = setmetatable({}, { __index = function(_, k) log[#log + 1] = "r" .. k return k * 10 end })
  local dst = setmetatable({}, { __newindex = function(_, k, v) log[#log + 1] = "w" .. k .. "=" .. v end })
  show("metamethods", function() table.move(src, 1, 4, 3, dst) return table.concat(log, " ") end)
  log = {}
  local both = setmetatable({}, {
    __index = function(_, k) log[#log + 1] = "r" .. k return k end,
    __newindex = function(_, k, v) log[#log + 1] = "w" .. k .. "=" .. v end,
  })
  show("metamethods, overlap", function() table.move(both, 1, 4, 2) return table.concat(log, " ") end)
  show("proxy", function() local p = setmetatable({}, { __index = {}, __newindex = {} }) return table.move(p, 1, 2, 1) == p end)
  show("not a table", table.move, "x", 1, 2, 1)
  show("no __newindex", table.move, {}, 1, 2, 1, setmetatable({}, { __index = {} }))
  show("float", table.move, {}, 1.5, 2, 1)
  show("string count", function() return list(table.move({ 7, 8 }, "1", "2", "2"), 3) end)
  if math.maxinteger then -- LuaJIT's table.move checks no bounds: it would loop
    show("too many", table.move, {}, -1, math.maxinteger, 1)
    show("wrap around", table.move, {}, 1, 10, math.maxinteger - 5)
  end
  show("missing", table.move, {}, 1)
end

for _, n in ipairs({ 0, 1, 2, 100000, -5, "3", 2.5 }) do
  show("rep empty " .. tostring(n), string.rep, "", n)
  show("rep empty, empty sep " .. tostring(n), string.rep, "", n, "")
  show("rep empty, sep " .. tostring(n), function() return #string.rep("", n, ",") end)
  show("rep x " .. tostring(n), string.rep, "x", n)
end
show("rep number", string.rep, 12, 2)
show("rep table", string.rep, {}, 2)
show("rep no count", string.rep, "")
show("rep nil count", string.rep, "", nil)
show("rep table sep", string.rep, "", 3, {})
show("rep number sep", string.rep, "", 3, 5)
