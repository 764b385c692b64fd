// Stress with real workers, for every Lua version: the crash classes the
// rock was measured to have, driven from TypeScript. Bounded in time
// (MTINT_STRESS_SECONDS, default 2 per version); asserts that nothing
// crashes, that no interrupt aimed at a running state is lost, and that the
// registry is empty of them afterwards.
import assert from "node:assert/strict";
import { interrupt, LuaWorker, MtintError, registryStats } from "../mod.ts";
import { eachVersion, sleep } from "./harness.ts";

// deno-lint-ignore no-explicit-any
const env = (globalThis as any).Deno?.env.get("MTINT_STRESS_SECONDS") ?? (globalThis as any).process?.env
  ?.MTINT_STRESS_SECONDS;
const SECONDS = Number(env ?? 2);

/** Interrupts `id`, tolerating ids that died meanwhile. */
function poke(id: number, flag?: boolean): void {
  try {
    interrupt(id, flag);
  } catch (err) {
    if (!(err instanceof MtintError && err.code === "unknown_object")) throw err;
  }
}

eachVersion("stress: coroutines dying while interrupted, deep stacks, workers closing", async (lua) => {
  const before = registryStats();
  // Churn: coroutines created, registered, resumed, dropped and collected;
  // their ids go out in batches for the main thread to interrupt.
  const churn = await LuaWorker.create({ lua });
  const churnIds: number[] = [];
  churn.addEventListener("message", (e) => churnIds.splice(0, churnIds.length, ...(e as MessageEvent).data));
  const churning = churn.run(`
    local host, mtint = require("host"), require("mtint")
    local stop, batch = false, {}
    mtint.sethook(function() if host.recv(0) == "stop" then stop = true end end)
    while not stop do
      local co = coroutine.create(function(n)
        for i = 1, n do if i % 10 == 0 then coroutine.yield(i) end end
      end)
      batch[#batch + 1] = mtint.id(co)
      while coroutine.status(co) == "suspended" do coroutine.resume(co, 40) end
      if #batch == 64 then host.post(batch) batch = {} collectgarbage("step", 100) end
    end`);

  // Deep: recursion and collection while interrupted (5.4's CallInfo
  // lists); counts each delivery, so a lost interrupt is seen.
  const deep = await LuaWorker.create({ lua });
  const deepMessages = deep.messages();
  const deepRunning = deep.run(`
    local host, mtint = require("host"), require("mtint")
    local delivered, stop = 0, false
    mtint.sethook(function()
      delivered = delivered + 1
      host.post(delivered)
      if host.recv(0) == "stop" then stop = true end
    end)
    host.post(0)
    local function deep(n)
      if n == 0 then collectgarbage("step", 10) return 0 end
      local t = { n }
      return deep(n - 1) + #t
    end
    while not stop do deep(120) end
    return delivered`);
  assert.equal((await deepMessages.next()).value, 0);

  // Spammer: another worker interrupting the deep one from Lua.
  const spammer = await LuaWorker.create({ lua, interrupts: [deep] });
  const spamming = spammer.run(
    `
    local mtint, host = require("mtint"), require("host")
    local id = ...
    while host.recv(0) ~= "stop" do
      for _ = 1, 100 do mtint.interrupt(id) end
    end`,
    { args: [deep.id] },
  );

  let delivered = 0, single = 0, closedWhileInterrupted = 0;
  const until = performance.now() + SECONDS * 1000;
  while (performance.now() < until) {
    // A single interrupt must arrive: the deep worker counts it.
    const next = delivered + 1;
    interrupt(deep.id);
    const deadline = performance.now() + 2000;
    while (delivered < next) {
      const result = await Promise.race([deepMessages.next(), sleep(Math.max(0, deadline - performance.now()))]);
      if (!result) assert.fail(`${lua}: an interrupt to a running state was lost`);
      delivered = result.value as number;
    }
    single++;
    // Fire at coroutines that may be dying or dead.
    for (const id of churnIds) poke(id, [undefined, true, false][id % 3]);
    // A worker closed while interrupted.
    if (single % 10 === 0) {
      const victim = await LuaWorker.create({ lua });
      victim.run("while true do end").catch(() => {});
      const closing = victim.close();
      let done = false;
      closing.finally(() => done = true);
      while (!done) {
        poke(victim.id);
        await sleep(0);
      }
      await closing;
      closedWhileInterrupted++;
    }
  }

  churn.send("stop");
  churn.interrupt();
  spammer.send("stop");
  await spamming;
  deep.send("stop");
  deep.interrupt();
  const [total] = await deepRunning;
  await churning;
  await Promise.all([churn.close(), deep.close(), spammer.close()]);
  console.log(
    `stress ${lua}: ${SECONDS} s, ${single} single interrupts delivered (none lost), ${total} handler runs ` +
      `(with the spammer's), ${closedWhileInterrupted} workers closed while interrupted`,
  );
  assert.ok((total as number) >= single);
  assert.ok(closedWhileInterrupted > 0 || SECONDS < 1);
  assert.deepEqual(registryStats(), before);
}, 120_000);
