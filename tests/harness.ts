/**
 * One test file, two runtimes: registers tests with Deno.test under
 * `deno test` and with bun:test under `bun test`. Assertions come from
 * node:assert, which both runtimes have.
 *
 * MTINT_TEST_LUA=5.1,luajit limits the Lua versions tested.
 *
 * @module
 */
import { type LuaVersion, versions } from "../mod.ts";

type TestBody = () => Promise<void> | void;
// deno-lint-ignore no-explicit-any
const bunTest: any = "Bun" in globalThis ? (await import(["bun", "test"].join(":"))).test : undefined;

/** Registers a test; `timeout` in ms (bun:test's default of 5 s is too short for some). */
export function test(name: string, body: TestBody, timeout = 60_000): void {
  if (bunTest) {
    bunTest(name, body, timeout);
  } else {
    // Workers and FFI handles outlive a test by design (they are closed
    // asynchronously or pinned for the process): no sanitizers.
    Deno.test({ name, fn: body, sanitizeOps: false, sanitizeResources: false, sanitizeExit: false });
  }
}

function selectedVersions(): LuaVersion[] {
  const all = versions();
  // deno-lint-ignore no-explicit-any
  const env = (globalThis as any).Deno?.env.get("MTINT_TEST_LUA") ?? (globalThis as any).process?.env?.MTINT_TEST_LUA;
  if (!env) return all;
  const wanted = env.split(",");
  return all.filter((v) => wanted.includes(v));
}

/** The Lua versions to run every test for. */
export const luaVersions: LuaVersion[] = selectedVersions();

/** Registers `body` once per Lua version, named "<version>: <name>". */
export function eachVersion(name: string, body: (lua: LuaVersion) => Promise<void> | void, timeout?: number): void {
  for (const lua of luaVersions) test(`${lua}: ${name}`, () => body(lua), timeout);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejection of `promise`, or a failure if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection, but the promise resolved");
}
