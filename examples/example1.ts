/**
 * The rock's example 1, ported: a worker sends its interruptible id out and
 * spins in an endless loop; the main thread interrupts it by that id.
 *
 * The rock needed `loadstring(...)` in the loop to keep LuaJIT from
 * compiling it (compiled loops never run hooks). LuaWorkers run LuaJIT with
 * the JIT off, so the plain loop is interruptible on every version.
 *
 * Run: deno run --allow-ffi --allow-read --allow-env examples/example1.ts
 *      bun examples/example1.ts
 */
import assert from "node:assert/strict";
import { error, interrupt, type LuaVersion, LuaWorker } from "../mod.ts";

export async function example1(lua?: LuaVersion, log: (line: string) => void = console.log): Promise<void> {
  await using worker = await LuaWorker.create({ lua });
  const messages = worker.messages();
  const running = worker.run(
    `
    local host = require("host")
    local mtint = require("mtint")
    host.post(mtint.id())
    local x = 1
    while true do
      x = x + 1
    end`,
    { name: "example1" },
  );
  const { value: interruptibleId } = await messages.next();
  log(`example 1 [${worker.engine}]: the worker sent its id ${interruptibleId}; interrupting it`);
  interrupt(interruptibleId as number);
  const err = await running.catch((e: Error) => e);
  assert.ok(err instanceof Error);
  assert.match(err.message, new RegExp(error.interrupted));
  log(`example 1 [${worker.engine}]: run() rejected with "${err.message}"`);
}

if (import.meta.main) await example1();
