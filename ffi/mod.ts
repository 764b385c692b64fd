/**
 * Finding and opening the native libraries: the core on any thread, one
 * Lua version's library per worker. Handles stay open for the life of the
 * process (Deno unloads a library with its last handle, which would reset
 * the registry; the C side pins itself too).
 *
 * The library directory is `zig-out/lib` beside this checkout, or
 * `MTINT_LIB_DIR`.
 *
 * @module
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CoreLib, Loader, LuaLib } from "./native.ts";

export type { CoreLib, HostCallbacks, LuaLib, Pointer } from "./native.ts";

/** The Lua versions mtint can be built for. */
export const LUA_VERSIONS = ["5.1", "5.2", "5.3", "5.4", "luajit"] as const;
/** One of {@link LUA_VERSIONS}. */
export type LuaVersion = typeof LUA_VERSIONS[number];

const BUILD_COMMAND = "npm run build (or: npm run setup, which also installs the Lua packages and Zig)";

function denoPermissionCheck(): void {
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  if (!deno) return;
  const ffi = deno.permissions.querySync({ name: "ffi" }).state;
  const read = deno.permissions.querySync({ name: "read" }).state;
  if (ffi !== "granted" || read !== "granted") {
    throw new Error(
      "mtint needs --allow-ffi and --allow-read in Deno (--allow-ffi without a path: " +
        "pointer views and callbacks do not work under a scoped one)",
    );
  }
}

function envVar(name: string): string | undefined {
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  if (deno) {
    if (deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") return undefined;
    return deno.env.get(name);
  }
  // deno-lint-ignore no-explicit-any
  return (globalThis as any).process?.env?.[name];
}

async function runtimeLoader(): Promise<Loader> {
  // A computed specifier: neither runtime should try to resolve the other's.
  const file = "Deno" in globalThis ? "./deno.ts" : "./bun.ts";
  return (await import(new URL(file, import.meta.url).href)).loader;
}

const loader = await runtimeLoader();

/** The directory the libraries are loaded from. */
export function libraryDir(): string {
  return envVar("MTINT_LIB_DIR") ?? fileURLToPath(new URL("../zig-out/lib/", import.meta.url));
}

function builtVersions(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => existsSync(join(dir, name, "mtint.so"))).sort();
}

let core: CoreLib | undefined;
const luaLibs = new Map<LuaVersion, LuaLib>();

/** The core library, opened once per thread. */
export function openCore(): CoreLib {
  if (core) return core;
  denoPermissionCheck();
  const path = join(libraryDir(), "libmtint_core.so");
  if (!existsSync(path)) {
    throw new Error(`mtint: native core not found at ${path}; build it with: ${BUILD_COMMAND}`);
  }
  return core = loader.openCore(path);
}

/** One Lua version's library, opened once per thread. */
export function openLua(version: LuaVersion): LuaLib {
  const open = luaLibs.get(version);
  if (open) return open;
  denoPermissionCheck();
  const dir = libraryDir();
  const path = join(dir, version, "mtint.so");
  if (!existsSync(path)) {
    const built = builtVersions(dir);
    throw new Error(
      `mtint: no library for Lua ${version} at ${path}; built: ${built.length ? built.join(", ") : "none"} ` +
        `(in ${dir}). Build with: ${BUILD_COMMAND}; a version whose headers are missing is skipped ` +
        `(apt-get install liblua${version}-dev, or libluajit-5.1-dev for luajit).`,
    );
  }
  openCore(); // the version library links it; load it from the same place first
  const lib = loader.openLua(path);
  luaLibs.set(version, lib);
  return lib;
}

/** The versions whose libraries are built and load on this machine. */
export function loadableVersions(): LuaVersion[] {
  const dir = libraryDir();
  return LUA_VERSIONS.filter((v) => {
    if (!existsSync(join(dir, v, "mtint.so"))) return false;
    try {
      openLua(v);
      return true;
    } catch {
      return false;
    }
  });
}
