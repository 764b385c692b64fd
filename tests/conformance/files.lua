-- loadfile, dofile and require's Lua-file searcher.
dofile("tests/conformance/common.lua")
local V = _VERSION
local dir = "tests/conformance/modules/"
show("loadfile", function() return loadfile(dir .. "conf_mod.lua")("x").name end)
show("loadfile missing", loadfile, dir .. "missing.lua")
show("loadfile syntax", loadfile, dir .. "conf_bad.lua")
if V ~= "Lua 5.1" then
  show("loadfile mode t", function() return type(loadfile(dir .. "conf_mod.lua", "t")) end)
  show("loadfile mode b", loadfile, dir .. "conf_mod.lua", "b")
end
show("dofile", function() return dofile(dir .. "conf_mod.lua").name end)
show("dofile syntax", dofile, dir .. "conf_bad.lua")
show("dofile missing", dofile, dir .. "missing.lua")
package.path = dir .. "?.lua"
package.cpath = ""
show("require", function() local m = require("conf_mod") return m.name, m.file end)
show("require missing", require, "conf_missing")
show("require bad", require, "conf_bad")
package.path = 1
show("require path number", function() return pcall(require, "conf_other") end)
package.path = {}
show("require path table", require, "conf_other2")
