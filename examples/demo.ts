/**
 * The demo: the rock's examples and snippets, ported, on every Lua version
 * built, and what mtint adds: a runaway script stopped by a timeout, with
 * the state kept.
 *
 * Run: npm run demo (both runtimes), or
 *      deno run --allow-ffi --allow-read --allow-env examples/demo.ts
 *      bun examples/demo.ts
 */
import { LuaWorker, type MtintError, versions } from "../mod.ts";
import { example1 } from "./example1.ts";
import { example2 } from "./example2.ts";
import { example3 } from "./example3.ts";
import { snippets } from "./snippets.ts";

async function runaway(lua: (typeof built)[number]): Promise<void> {
  await using worker = await LuaWorker.create({ lua });
  await worker.run("counter = 0");
  const started = performance.now();
  try {
    await worker.run("while true do counter = counter + 1 end", { timeout: 100 });
  } catch (err) {
    const ms = (performance.now() - started).toFixed(1);
    const [counter] = await worker.run("return counter");
    console.log(
      `runaway [${worker.engine}]: ${(err as MtintError).message} (${ms} ms); ` +
        `the state lives on: counter = ${counter}`,
    );
  }
}

const runtime = "Deno" in globalThis ? "Deno" : "Bun";
const built = versions();
console.log(`mtint demo under ${runtime}, Lua versions built: ${built.join(", ")}\n`);
for (const lua of built) {
  await example1(lua);
  await example2(lua);
  await example3(lua);
  await snippets(lua);
  await runaway(lua);
  console.log();
}
console.log(`demo under ${runtime}: all examples ran`);
