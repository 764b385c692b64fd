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

-- insert and remove (5.3 and 5.4 mtint writes them again): positions, bounds,
-- metamethods, and a __len that lies within reach.
local function shown(t, n) return list(t, n) end
show("insert end", function() local t = { 1, 2 } table.insert(t, 3) return shown(t, 4) end)
show("insert front", function() local t = { 1, 2, 3 } table.insert(t, 1, 0) return shown(t, 5) end)
show("insert middle", function() local t = { 1, 2, 3 } table.insert(t, 3, 9) return shown(t, 5) end)
show("insert past", table.insert, { 1 }, 5, 0)
show("insert zero", table.insert, { 1 }, 0, 0)
show("insert 4 args", table.insert, {}, 1, 2, 3)
show("insert 1 arg", table.insert, {})
show("insert float pos", table.insert, { 1 }, 1.5, 0)
show("remove last", function() local t = { 1, 2, 3 } return table.remove(t), shown(t, 4) end)
show("remove first", function() local t = { 1, 2, 3 } return table.remove(t, 1), shown(t, 4) end)
show("remove empty", function() return table.remove({}) end)
show("remove past", table.remove, { 1, 2 }, 5)
show("remove size+1", function() local t = { 1, 2 } return table.remove(t, 3), shown(t, 3) end)
show("remove zero of empty", function() return table.remove({}, 0) end)
local lying = { __len = function() return 5 end }
show("insert with __len", function() local t = setmetatable({ 1, 2 }, lying) table.insert(t, 1, 0) return shown(t, 7) end)
show("remove with __len", function() local t = setmetatable({ 1, 2 }, lying) return table.remove(t, 1), shown(t, 7) end)
show("negative __len", function()
  local t = setmetatable({}, { __len = function() return -3 end })
  return pcall(table.insert, t, 1, "x"), pcall(table.remove, t, 1)
end)
local log = {}
local proxy = setmetatable({}, {
  __len = function() return 3 end,
  __index = function(_, k) log[#log + 1] = "r" .. k return k end,
  __newindex = function(_, k, v) log[#log + 1] = "w" .. k .. "=" .. tostring(v) end,
})
show("insert proxy", function() table.insert(proxy, 1, "v") return table.concat(log, " ") end)
log = {}
show("remove proxy", function() table.remove(proxy, 1) return table.concat(log, " ") end)
show("insert string", table.insert, "x", 1)
