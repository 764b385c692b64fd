// A script that posts faster than the host takes its values: host.post's
// values travel as worker messages, which the main thread takes only when
// its event loop runs. While that loop is busy, an unbounded script would
// queue its values in the host process without limit (outside
// memoryLimit); instead host.post waits once 16 MiB are unread
// (csrc/core/posts.c), and every value still arrives, in order.
import assert from "node:assert/strict";
import { LuaWorker, nowNs } from "../../mod.ts";
import type { HostileCase } from "./case.ts";

const BUDGET = 16 << 20; // MT_POST_BUDGET (csrc/core/mtint_core.h)
const VALUE = 256 * 1024;

/** Keeps the event loop busy, as a host serving other work would. */
function busy(ms: number): void {
  const t0 = performance.now();
  while (performance.now() - t0 < ms);
}

export const cases: HostileCase[] = [{
  name: "a script posting while the host's event loop is busy waits at the budget and loses nothing",
  async run(lua) {
    await using w = await LuaWorker.create({ lua });
    const got: number[] = [];
    w.addEventListener("message", (e) => got.push((e as MessageEvent).data.length));
    // 32 MiB of values; when each post returned, on host.clock()'s clock (nowNs).
    const result = w.run(
      `local h, s, at = require("host"), ("x"):rep(${VALUE}), {}
       for i = 1, 128 do h.post(s) at[i] = h.clock() * 1e3 end
       return at`,
      { timeout: 60_000 },
    );
    busy(2000); // no value is taken meanwhile
    const free = nowNs() / 1e6;
    const [at] = await result as [number[]];
    assert.equal(got.length, 128, "values were lost");
    assert.ok(got.every((n) => n === VALUE));
    const early = at.filter((ms) => ms < free).length;
    assert.ok(early * VALUE <= BUDGET + VALUE, `${early} values of ${VALUE} bytes posted while none was taken`);
  },
}, {
  name: "a script waiting in host.post is stopped by its timeout, an interrupt and close()",
  versions: ["5.1", "5.4", "luajit"],
  async run(lua) {
    const w = await LuaWorker.create({ lua });
    const chunk = `local h, s = require("host"), ("x"):rep(${VALUE}) while true do h.post(s) end`;
    const timedOut = w.run(chunk, { timeout: 300 }).then(() => null, (e) => e);
    busy(1000); // the script reaches the budget and waits past its deadline
    const err = await timedOut;
    assert.ok(err instanceof Error && /timed out/.test(err.message), String(err));
    assert.deepEqual(await w.run("return 2"), [2]);
    const pending = w.run(chunk).then(() => null, (e) => e);
    busy(1000);
    await w.close({ grace: 2000 });
    assert.ok((await pending) instanceof Error);
  },
}];
