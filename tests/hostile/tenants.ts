// One tenant's script against the others' (issue 17): with default options
// a script reaches only its own state, ids cannot be counted to, and an id
// of another tenant, even one it was told, answers exactly as an id that
// does not exist.
import assert from "node:assert/strict";
import { error, type LuaVersion, LuaWorker, MtintError } from "../../mod.ts";
import type { HostileCase } from "./case.ts";

// The victim: coroutines that yield forever, one id pinned by an
// interruptible object after its coroutine is gone; then a loop that resumes
// them until told to stop, counting the resumes an interrupt broke.
const VICTIM_SETUP = `
  local mtint = require("mtint")
  cos, ids = {}, {}
  for i = 1, 8 do
    cos[i] = coroutine.create(function() while true do coroutine.yield() end end)
    ids[i] = mtint.id(cos[i])
  end
  local gone = coroutine.create(function() end)
  local gone_id = mtint.id(gone)
  pinned = mtint.interruptible(gone_id)
  gone = nil
  collectgarbage()
  collectgarbage()
  assert(mtint.interrupt(gone_id) == false, "own pinned id: known, gone")
  local unpack = unpack or table.unpack
  return mtint.id(), gone_id, unpack(ids)`;

const VICTIM_LOOP = `
  local host = require("host")
  local broken = 0
  host.post("running")
  while host.recv(0) ~= "stop" do
    for i = 1, #cos do
      local ok = coroutine.resume(cos[i])
      if not ok then
        broken = broken + 1
        cos[i] = coroutine.create(function() while true do coroutine.yield() end end)
      end
    end
  end
  return broken`;

// The attacker: every probe through mtint.interrupt (each flag) and
// mtint.interruptible must fail with exactly the error of an id never
// issued; it returns how many probes it made and the first that differed.
const SCAN = `
  local mtint = require("mtint")
  local told, randoms = ...
  local own, keep = { mtint.id() }, {}
  for i = 1, 8 do
    keep[i] = coroutine.create(function() end)
    own[#own + 1] = mtint.id(keep[i])
  end
  local mine = {}
  for _, id in ipairs(own) do mine[id] = true end
  local unknown = mtint.error.unknown_object .. ": interruptible id "
  local probes = 0
  local function fmt(id) return string.format("%.0f", id) end
  local function check(id, ok, err, what)
    probes = probes + 1
    local want = unknown .. fmt(id)
    if ok or err ~= want then
      error(string.format("%s(%s) told something: %s, %s", what, fmt(id), tostring(ok), tostring(err)), 0)
    end
  end
  local function probe(id)
    if id < 1 or id >= 2 ^ 53 or mine[id] then return end
    local ok, err = pcall(mtint.interrupt, id)
    check(id, ok, err, "interrupt")
    ok, err = pcall(mtint.interrupt, id, true)
    check(id, ok, err, "interrupt(true)")
    ok, err = pcall(mtint.interrupt, id, false)
    check(id, ok, err, "interrupt(false)")
    ok, err = pcall(mtint.interruptible, id)
    check(id, ok, err, "interruptible")
  end
  -- Ids it was told: another tenant's live main state and coroutines, its
  -- pinned gone coroutine, and ids that never existed.
  for _, id in ipairs(told) do probe(id) end
  for _, base in ipairs(own) do
    for d = -128, 128 do probe(base + d) end            -- near its own ids
    for k = -32, 32 do                                  -- other generations
      for d = -1, 1 do probe(base + k * 2 ^ 24 + d) end
    end
  end
  for _ = 1, randoms do                                 -- anywhere
    probe(math.floor(math.random() * 2 ^ 26) * 2 ^ 27 + math.floor(math.random() * 2 ^ 27))
  end
  -- Its own ids stay reachable (the scan is not vacuous).
  for _, id in ipairs(own) do
    assert(mtint.interrupt(id, false) == true)
    assert(mtint.interruptible(id):interrupt(false) == true)
  end
  assert(#keep == 8)
  return probes`;

async function victim(lua: LuaVersion): Promise<{ w: LuaWorker; main: number; gone: number; cos: number[] }> {
  const w = await LuaWorker.create({ lua });
  const [main, gone, ...cos] = await w.run(VICTIM_SETUP) as number[];
  assert.equal(main, w.id);
  return { w, main, gone, cos };
}

export const cases: HostileCase[] = [{
  name: "a tenant scanning ids (near its own, across generations, at random, ids it was told) reaches nothing",
  async run(lua) {
    const v = await victim(lua);
    await using attacker = await LuaWorker.create({ lua });
    const closed = await LuaWorker.create({ lua });
    const closedId = closed.id;
    await closed.close();
    const messages = v.w.messages();
    const looping = v.w.run(VICTIM_LOOP);
    assert.equal((await messages.next()).value, "running");
    const told = [v.main, v.gone, ...v.cos, closedId, v.main + 1, v.main - 1, attacker.id + 1, attacker.id - 1];
    const [probes] = await attacker.run(SCAN, { args: [told, 3000] }) as number[];
    assert.ok((probes as number) > 4 * 6000, `${probes} probes`);
    v.w.send("stop");
    assert.deepEqual(await looping, [0], "no coroutine of the victim was interrupted");
    // Nothing is pending for the victim either: its next calls run.
    assert.deepEqual(await v.w.run("return 1"), [1]);
    assert.deepEqual(await v.w.run("for i = 1, #cos do assert(coroutine.resume(cos[i])) end return 2"), [2]);
    await v.w.close();
  },
}, {
  name: "an id a tenant was told answers as an unknown one, in every way a script can look",
  async run(lua) {
    const v = await victim(lua);
    await using attacker = await LuaWorker.create({ lua, libs: "full" });
    // Live main state, live coroutine, pinned gone coroutine: each beside an
    // id that never existed, through every function and the error value.
    const [same] = await attacker.run(
      `
      local mtint = require("mtint")
      local unpack = unpack or table.unpack
      local function look(id)
        local r = {}
        for _, f in ipairs({
          function() return mtint.interrupt(id) end,
          function() return mtint.interrupt(id, true) end,
          function() return mtint.interrupt(id, false) end,
          function() return mtint.interruptible(id) end,
          function() return mtint.interruptible(id):interrupt() end,
        }) do
          local res = { pcall(f) }
          local err = tostring(res[2]):gsub(string.format("%.0f", id), "ID")
          r[#r + 1] = table.concat({ tostring(res[1]), select("#", unpack(res)), type(res[2]), err }, "|")
        end
        return table.concat(r, ";")
      end
      local never = look(...)
      local ids = { select(2, ...) }
      for _, id in ipairs(ids) do
        local got = look(id)
        if got ~= never then error("differs: " .. got .. " vs " .. never, 0) end
      end
      return never`,
      { args: [v.main + 2, v.main, v.gone, ...v.cos] },
    );
    assert.match(String(same), /^false\|2\|string\|mtint\.error\.unknown_object: interruptible id ID/);
    // The victim's own view: its ids live, its pinned id known.
    const [ok] = await v.w.run(
      "local m = require('mtint') return m.interrupt(ids[1], false) and m.interrupt(...) == false",
      { args: [v.gone] },
    );
    assert.equal(ok, true);
    await v.w.close();
  },
}, {
  name: "forged interruptible objects (debug.setmetatable on other userdata) reach nothing",
  async run(lua) {
    const v = await victim(lua);
    await using attacker = await LuaWorker.create({ lua, libs: "full" });
    const messages = v.w.messages();
    const looping = v.w.run(VICTIM_LOOP);
    assert.equal((await messages.next()).value, "running");
    const [forged] = await attacker.run(`
      local mtint = require("mtint")
      local mt = debug.getmetatable(mtint.interruptible(mtint.id()))
      local forged = { io.tmpfile() }
      if newproxy then forged[#forged + 1] = newproxy(false) end
      for _, x in pairs(debug.getregistry()) do
        if type(x) == "userdata" then forged[#forged + 1] = x end
      end
      for _, u in ipairs(forged) do
        local old = debug.getmetatable(u)
        debug.setmetatable(u, mt)
        for _, flag in ipairs({ false, true }) do
          local ok, reached = pcall(mtint.interrupt, u, flag)
          assert(not (ok and reached), "a forged object reached something")
          ok, reached = pcall(mt.__index.interrupt, u, flag)
          assert(not (ok and reached), "a forged object reached something")
        end
        pcall(mt.__index.id, u)
        pcall(tostring, u)
        mt.__gc(u)
        debug.setmetatable(u, old)
      end
      return #forged`);
    assert.ok((forged as number) >= 2);
    v.w.send("stop");
    assert.deepEqual(await looping, [0]);
    assert.deepEqual(await v.w.run("return 1"), [1]);
    await v.w.close();
  },
}, {
  name: "a host that grants the scope sees interrupts work between workers, one way",
  async run(lua) {
    const v = await victim(lua);
    await using granted = await LuaWorker.create({ lua, interrupts: [v.w] });
    await using everywhere = await LuaWorker.create({ lua, interrupts: "process" });
    // The granted worker stops the victim's running call, then breaks one
    // of its coroutines through an interruptible object.
    const messages = v.w.messages();
    const spinning = v.w.run("require('host').post('spinning') while true do end");
    assert.equal((await messages.next()).value, "spinning");
    assert.deepEqual(await granted.run("return require('mtint').interrupt(...)", { args: [v.main] }), [true]);
    const err = await spinning.then(() => null, (e) => e);
    assert.ok(err instanceof MtintError && err.code === "interrupted", String(err));
    assert.deepEqual(
      await granted.run("local o = require('mtint').interruptible(...) return o:interrupt(), o:id() == ...", {
        args: [v.cos[0]],
      }),
      [true, true],
    );
    const [resumed, why] = await v.w.run("return coroutine.resume(cos[1])");
    assert.equal(resumed, false);
    assert.match(String(why), new RegExp(error.interrupted.replace(/\./g, "\\.")));
    // Its pinned gone id is known to the granted worker too.
    assert.deepEqual(await granted.run("return require('mtint').interrupt(...)", { args: [v.gone] }), [false]);
    // "process" reaches the victim and the granted worker; the victim
    // reaches neither (a grant is one way).
    assert.deepEqual(
      await everywhere.run(
        "local m = require('mtint') return m.interrupt(..., false), m.interrupt(select(2, ...), false)",
        {
          args: [v.main, granted.id],
        },
      ),
      [true, true],
    );
    const [reached, msg] = await v.w.run("return pcall(require('mtint').interrupt, ...)", { args: [granted.id] });
    assert.equal(reached, false);
    assert.equal(msg, `${error.unknown_object}: interruptible id ${granted.id}`);
    await v.w.close();
  },
}];
