/**
 * Which Lua runtime each version binds to (ffi/lua_runtime.ts,
 * csrc/lua/lua_binding.c), the luaRuntime option, and diagnostics().
 * The error texts for a missing or wrong runtime are checked from a fresh
 * process in tests/dist/run.sh (a binding lasts for the process).
 *
 * @module
 */
import assert from "node:assert/strict";
import { diagnostics, LuaWorker } from "../mod.ts";
import { RUNTIME_NAMES } from "../ffi/lua_runtime.ts";
import { eachVersion, rejection, test } from "./harness.ts";

test("diagnostics() names the library directory and each version's runtime", () => {
  const { libraries, versions } = diagnostics();
  assert.ok(["checkout build", "MTINT_LIB_DIR"].includes(libraries.source), libraries.source);
  assert.deepEqual(versions.map((v) => v.version), ["5.1", "5.2", "5.3", "5.4", "luajit"]);
  for (const status of versions) {
    // This machine has Debian's runtimes: the first name of each list.
    assert.equal(status.error, undefined, `${status.version}: ${status.error}`);
    assert.equal(status.runtime, RUNTIME_NAMES[status.version][0]);
  }
});

eachVersion("the luaRuntime option: the bound runtime again is fine, another one is refused", async (lua) => {
  const bound = diagnostics().versions.find((v) => v.version === lua)!.runtime!;
  await using w = await LuaWorker.create({ lua, luaRuntime: bound });
  assert.equal((await w.run("return 1"))[0], 1);
  const other = lua === "5.4" ? "liblua5.3.so.0" : "liblua5.4.so.0";
  const err = await rejection(LuaWorker.create({ lua, luaRuntime: other }));
  assert.match(
    err.message,
    new RegExp(`Lua ${lua.replace(".", "\\.")} is already bound to ${bound.replace(/\./g, "\\.")}`),
  );
});

test("bad luaRuntime options", async () => {
  // deno-lint-ignore no-explicit-any
  const err = await rejection(LuaWorker.create({ lua: "5.4", luaRuntime: 5 as any }));
  assert.ok(err instanceof TypeError, String(err));
  const noVersion = await rejection(LuaWorker.create({ luaRuntime: "liblua5.4.so.0" }));
  assert.match(noVersion.message, /luaRuntime needs lua/);
});
