/**
 * The rock's example 3, ported: an interrupt handler (mtint.sethook) on the
 * worker reads a command from its mailbox each time the main thread
 * interrupts it, answers OK to CONTINUE and QUITTING to QUIT, and stops on
 * QUIT. mtmsg's buffers become the worker's mailbox: lua.send() and
 * host.recv() one way, host.post() and lua.messages() the other.
 *
 * Run: deno run --allow-ffi --allow-read --allow-env examples/example3.ts
 *      bun examples/example3.ts
 */
import assert from "node:assert/strict";
import { interrupt, type LuaVersion, LuaWorker } from "../mod.ts";

export async function example3(lua?: LuaVersion, log: (line: string) => void = console.log): Promise<void> {
  await using worker = await LuaWorker.create({ lua });
  const messages = worker.messages();
  const running = worker.run(
    `
    local host = require("host")
    local mtint = require("mtint")
    local stop = false
    local counter = 0
    mtint.sethook(function()
      host.post("counter " .. counter)
      local cmd = host.recv()
      if cmd == "CONTINUE" then
        host.post("OK")
      end
      if cmd == "QUIT" then
        host.post("QUITTING")
        stop = true
      end
    end)
    host.post(mtint.id())
    while not stop do
      counter = counter + 1
    end
    return counter`,
    { name: "example3" },
  );
  const next = async () => (await messages.next()).value;
  const intId = await next() as number;

  for (const [command, answer] of [["CONTINUE", "OK"], ["CONTINUE", "OK"], ["QUIT", "QUITTING"]]) {
    worker.send(command);
    interrupt(intId);
    log(`example 3 [${worker.engine}]: sent ${command}, interrupted; the handler says "${await next()}"`);
    assert.equal(await next(), answer);
    log(`example 3 [${worker.engine}]: answer ${answer}`);
  }
  const [counter] = await running;
  log(`example 3 [${worker.engine}]: the loop stopped at counter ${counter}`);
}

if (import.meta.main) await example3();
