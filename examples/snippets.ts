/**
 * The two snippets of the rock's documentation, ported: the error strings
 * of mtint.error, and unknown_object for an id that was never issued or
 * whose coroutine was collected. Each runs in Lua (as the rock's) and in
 * JavaScript.
 *
 * Run: deno run --allow-ffi --allow-read --allow-env examples/snippets.ts
 *      bun examples/snippets.ts
 */
import assert from "node:assert/strict";
import { error, interrupt, type LuaVersion, LuaWorker, MtintError } from "../mod.ts";

function isUnknownObject(err: unknown): boolean {
  return err instanceof MtintError && err.code === "unknown_object" && err.message.match(error.unknown_object) !== null;
}

export async function snippets(lua?: LuaVersion, log: (line: string) => void = console.log): Promise<void> {
  await using worker = await LuaWorker.create({ lua });

  // Snippet 1: errors are strings; mtint.error holds them.
  await worker.run(`
    local mtint = require("mtint")
    local _, err = pcall(function()
      mtint.interrupt(1)
    end)
    assert(err:match(mtint.error.unknown_object))
    assert(mtint.error.unknown_object == "mtint.error.unknown_object")`);
  assert.throws(() => interrupt(1), isUnknownObject);
  assert.equal(error.unknown_object, "mtint.error.unknown_object");
  log(`snippet 1 [${worker.engine}]: interrupt(1) fails with mtint.error.unknown_object, in Lua and in JS`);

  // Snippet 2: a collected coroutine is an unknown object.
  const [id] = await worker.run(`
    local mtint = require("mtint")
    local c = coroutine.create(function() end)
    local id = mtint.id(c)
    mtint.interrupt(id)
    c = nil
    collectgarbage()
    local _, err = pcall(function()
      mtint.interrupt(id)
    end)
    assert(err:match(mtint.error.unknown_object))
    return id`);
  assert.throws(() => interrupt(id as number), isUnknownObject);
  log(`snippet 2 [${worker.engine}]: the collected coroutine's id ${id} is unknown, in Lua and in JS`);
}

if (import.meta.main) await snippets();
