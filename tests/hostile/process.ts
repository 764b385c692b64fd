// Ways to end the host process from Lua.
import assert from "node:assert/strict";
import { LuaError, LuaWorker } from "../../mod.ts";
import type { HostileCase } from "./case.ts";

export const cases: HostileCase[] = [{
  name: "os.exit, with every argument form, raises instead of ending the process",
  async run(lua) {
    for (const libs of ["safe", "full"] as const) {
      await using w = await LuaWorker.create({ lua, libs });
      for (
        const call of [
          "os.exit()",
          "os.exit(0)",
          "os.exit(true)",
          "os.exit(false, true)",
          "pcall(os.exit, 1) error('x')",
        ]
      ) {
        const err = await w.run(call).then(() => null, (e) => e);
        assert.ok(err instanceof LuaError, `${libs}: ${call}: ${err}`);
        assert.match(err.message, /os\.exit is disabled|x/);
      }
      const exit = await w.run("local exit = os.exit return pcall(exit, 3)");
      assert.equal(exit[0], false);
      assert.deepEqual(await w.run("return 1 + 1"), [2]);
    }
  },
}];
