// The errors a user meets, each checked by tests/dist/run.sh against what
// it prints: run with "versions", or a Lua version to create a worker for.
import { type LuaVersion, LuaWorker, versions } from "MTINT_MODULE";

const which = Deno.args[0];
try {
  if (which === "versions") versions();
  else await (await LuaWorker.create({ lua: which as LuaVersion })).close();
  console.log("no error");
} catch (err) {
  console.log(err instanceof Error ? err.message : String(err));
}
