/**
 * The rock's example 2, ported: a coroutine running in a worker is
 * interrupted from the main thread by its own id, which it sends out
 * through the mailbox; the worker's Lua sees `coroutine.resume` fail with
 * mtint.error.interrupted. The rock could do this on Lua 5.2 and 5.3 only;
 * here it works on 5.1, 5.2, 5.3, 5.4 and LuaJIT.
 *
 * Run: deno run --allow-ffi --allow-read --allow-env examples/example2.ts
 *      bun examples/example2.ts
 */
import assert from "node:assert/strict";
import { error, interrupt, type LuaVersion, LuaWorker } from "../mod.ts";

export async function example2(lua?: LuaVersion, log: (line: string) => void = console.log): Promise<void> {
  await using worker = await LuaWorker.create({ lua });
  const messages = worker.messages();
  const running = worker.run(
    `
    local host = require("host")
    local mtint = require("mtint")
    local c = coroutine.create(function()
      coroutine.yield(mtint.id())
      host.post(mtint.id())
      local x = 1
      while true do x = x + 1 end
    end)
    local ok, cid = coroutine.resume(c)
    assert(ok and cid == mtint.id(c))
    local ok, err = coroutine.resume(c)
    assert(not ok and err:match(mtint.error.interrupted))
    return err`,
    { name: "example2" },
  );
  const { value: coroutineId } = await messages.next();
  log(`example 2 [${worker.engine}]: the coroutine sent its id ${coroutineId}; interrupting it`);
  interrupt(coroutineId as number);
  const [err] = await running;
  assert.match(String(err), new RegExp(error.interrupted));
  log(`example 2 [${worker.engine}]: in the worker, coroutine.resume returned false, "${err}"`);
}

if (import.meta.main) await example2();
