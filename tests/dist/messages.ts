// The errors a user meets, each checked by tests/dist/run.sh against what
// it prints: run with the case name as the argument.
import { LuaWorker, versions } from "MTINT_MODULE";

const which = Deno.args[0];
try {
  if (which === "no-lua") await LuaWorker.create({ lua: "5.4" });
  else versions();
  console.log("no error");
} catch (err) {
  console.log(err instanceof Error ? err.message : String(err));
}
