// Lua inside mtint is the stock Lua: every probe (tests/conformance/*.lua)
// prints the same lines under the stock interpreter, under the stock
// interpreter with `require "mtint"` loaded (the drop-in), and in a
// LuaWorker with libs "full" under this runtime (Deno or Bun).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { luaVersions, test } from "./harness.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const root = fileURLToPath(new URL("..", import.meta.url));
const probes = readdirSync(new URL("conformance/", import.meta.url))
  .filter((f) => f.endsWith(".lua") && f !== "common.lua")
  .sort()
  .map((f) => `tests/conformance/${f}`);

function interpreter(lua: string): string {
  return lua === "luajit" ? "luajit" : `lua${lua}`;
}

function run(cmd: string, args: string[], env?: Record<string, string>): string {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", env: { ...g.process?.env, ...env } });
  if (r.error) throw r.error;
  return r.stdout + (r.stderr ? `==stderr ${r.stderr}` : "");
}

/** The worker runs of every probe, from one child process of this runtime. */
function workerOutputs(lua: string): Map<string, string> {
  const child = "tests/conformance/worker_child.ts";
  const out = g.Deno
    ? run(g.Deno.execPath(), ["run", "--no-check", "--allow-ffi", "--allow-read", "--allow-env", child, lua, ...probes])
    : run(g.process.execPath, [child, lua, ...probes]);
  const outputs = new Map<string, string>();
  for (const part of out.split(/^==> /m).slice(1)) {
    const nl = part.indexOf("\n");
    outputs.set(part.slice(0, nl), part.slice(nl + 1));
  }
  return outputs;
}

/** The lines of `actual` that differ from the stock run's, described. */
function differences(probe: string, what: string, expected: string, actual: string | undefined): string[] {
  if (actual === undefined) return [`${probe}: no output ${what}`];
  const want = expected.split("\n"), got = actual.split("\n");
  const found = [];
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    if (got[i] !== want[i]) found.push(`${probe}:${i + 1} ${what}\n  stock: ${want[i]}\n  mtint: ${got[i]}`);
  }
  return found;
}

for (const lua of luaVersions) {
  const lib = `zig-out/lib/${lua}/?.so`;
  const available = spawnSync(interpreter(lua), ["-v"]).error === undefined && existsSync(`${root}/zig-out/lib/${lua}`);
  test(`${lua}: conformance probes, stock vs drop-in vs LuaWorker`, () => {
    if (!available) return console.log(`skip: ${interpreter(lua)} or ${lib} missing`);
    const inWorker = workerOutputs(lua);
    const found = [];
    for (const probe of probes) {
      const stock = run(interpreter(lua), [probe]);
      assert.ok(stock.split("\n").length > 3, `${probe}: the stock run printed almost nothing:\n${stock}`);
      const dropIn = run(interpreter(lua), ["-e", "require 'mtint'", probe], { LUA_CPATH: lib });
      found.push(...differences(probe, "with require 'mtint'", stock, dropIn));
      found.push(...differences(probe, "in a LuaWorker", stock, inWorker.get(probe)));
    }
    assert.deepEqual(found, [], `differences from the stock ${interpreter(lua)}:\n${found.join("\n")}`);
  }, 120_000);
}
