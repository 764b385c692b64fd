// A user's program, written into a fresh directory by tests/dist/run.sh,
// which replaces the specifier below: the module over HTTP (as JSR serves
// it) or "mtint" from node_modules (Bun).
import { interrupt, LuaWorker, MtintError, versions } from "MTINT_MODULE";

const all = versions();
if (all.length !== 5) throw new Error(`expected all five Lua versions, got ${all.join(", ")}`);
for (const lua of all) {
  await using w = await LuaWorker.create({ lua });
  const running = w.run("local n = 0 while true do n = n + 1 end");
  await new Promise((resolve) => setTimeout(resolve, 30));
  interrupt(w.id);
  const err = await running.then(() => undefined, (e) => e);
  if (!(err instanceof MtintError) || err.code !== "interrupted") throw new Error(`${lua}: not interrupted: ${err}`);
  const [version] = await w.run("return _VERSION");
  console.log(`${lua}: ${version}, interrupted, still usable`);
}
