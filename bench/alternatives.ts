/**
 * What users would pick instead of mtint in JavaScript: wasmoon (Lua 5.4
 * compiled to WebAssembly) and fengari (Lua 5.3 written in JavaScript),
 * both from npm (dev dependencies). One interface: create a state, run a
 * chunk's text with arguments.
 *
 * @module
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** A Lua state of an alternative implementation, on the calling thread. */
export interface AltLua {
  readonly name: "wasmoon" | "fengari";
  readonly version: string;
  /** Loads `source` (the same text the other sides get) and calls it with `args`. */
  run(source: string, args?: number[]): unknown;
  close(): void;
}

export const ALTERNATIVES = ["wasmoon", "fengari"] as const;
export type AltName = typeof ALTERNATIVES[number];

/** The installed version of an npm package. */
export function packageVersion(name: string): string {
  const require = createRequire(import.meta.url);
  return (require(`${name}/package.json`) as { version: string }).version;
}

export async function createAlt(name: AltName): Promise<AltLua> {
  return name === "wasmoon" ? await createWasmoon() : createFengari();
}

// One factory per thread: it holds the compiled WebAssembly module, which
// every engine of the thread shares (as an application would).
// deno-lint-ignore no-explicit-any
let wasmoonFactory: any;

/** A wasmoon engine (its LuaEngine), from this thread's factory. */
// deno-lint-ignore no-explicit-any
export async function wasmoonEngine(): Promise<any> {
  if (!wasmoonFactory) {
    const { LuaFactory } = await import("wasmoon");
    // In a Web Worker wasmoon would fetch its .wasm from unpkg: give it the installed one.
    const require = createRequire(import.meta.url);
    wasmoonFactory = new LuaFactory(join(dirname(require.resolve("wasmoon")), "glue.wasm"));
  }
  return await wasmoonFactory.createEngine();
}

async function createWasmoon(): Promise<AltLua> {
  const engine = await wasmoonEngine();
  const version = engine.doStringSync("return _VERSION") as string;
  return {
    name: "wasmoon",
    version: `wasmoon ${packageVersion("wasmoon")} (${version})`,
    run(source, args = []) {
      engine.global.set("BENCH_SOURCE", source);
      return engine.doStringSync(`return assert(load(BENCH_SOURCE))(${args.map(String).join(",")})`);
    },
    close: () => engine.global.close(),
  };
}

function createFengari(): AltLua {
  const require = createRequire(import.meta.url);
  // deno-lint-ignore no-explicit-any
  const { lua, lauxlib, lualib, to_luastring } = require("fengari") as any;
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  const fail = () => {
    const message = lua.lua_tojsstring(L, -1);
    lua.lua_settop(L, 0);
    return new Error(`fengari: ${message}`);
  };
  return {
    name: "fengari",
    version: `fengari ${packageVersion("fengari")} (Lua 5.3 in JavaScript)`,
    run(source, args = []) {
      if (lauxlib.luaL_loadstring(L, to_luastring(source)) !== lua.LUA_OK) throw fail();
      for (const a of args) lua.lua_pushnumber(L, a);
      if (lua.lua_pcall(L, args.length, 1, 0) !== lua.LUA_OK) throw fail();
      const value = lua.lua_isnumber(L, -1) ? lua.lua_tonumber(L, -1) : lua.lua_tojsstring(L, -1);
      lua.lua_settop(L, 0);
      return value;
    },
    close: () => lua.lua_close(L),
  };
}
