/**
 * Finding and opening the native libraries: the core on any thread, one
 * Lua version's library per worker, bound to the user's Lua runtime
 * (ffi/lua_runtime.ts). Handles stay open for the life of the process (Deno
 * unloads a library with its last handle, which would reset the registry;
 * the C side pins itself too). Where the libraries come from:
 * ffi/locate.ts.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CORE_FILE, envVar, type LibraryLocation, locateLibraries, LUA_FILE, unreadVariables } from "./locate.ts";
import { bindRuntime, runtimeVariable } from "./lua_runtime.ts";
import type { CoreLib, Loader, LuaLib } from "./native.ts";
// Static, so that `deno cache` fetches it; it touches Deno only when called.
import { loader as denoLoader } from "./deno.ts";

export type { CoreLib, HostCallbacks, LuaLib, Pointer } from "./native.ts";
export type { LibraryLocation, LibrarySource } from "./locate.ts";

/** The Lua versions mtint can be built for. */
export const LUA_VERSIONS = ["5.1", "5.2", "5.3", "5.4", "luajit"] as const;
/** One of {@link LUA_VERSIONS}. */
export type LuaVersion = typeof LUA_VERSIONS[number];

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

async function runtimeLoader(): Promise<Loader> {
  if (!("Bun" in globalThis)) return denoLoader;
  // A computed specifier: Deno must not try to resolve bun:ffi.
  const file = "./bun.ts";
  return (await import(new URL(file, import.meta.url).href)).loader;
}

const loader = await runtimeLoader();
const location: LibraryLocation | Error = await locateLibraries().catch((err) => err);

// MTINT_LIB_DIR is not read without --allow-env: say so once, on the main thread.
if (unreadVariables.includes("MTINT_LIB_DIR") && !("WorkerGlobalScope" in globalThis)) {
  console.warn(
    `mtint: MTINT_LIB_DIR is not read without --allow-env (or --allow-env=MTINT_LIB_DIR); ` +
      (location instanceof Error ? "and no other libraries were found" : `using the ${location.source} libraries`),
  );
}

/** Where the libraries are loaded from; throws why when there are none. */
export function libraryLocation(): LibraryLocation {
  if (location instanceof Error) throw location;
  return location;
}

/** The directory the libraries are loaded from. */
export function libraryDir(): string {
  return libraryLocation().dir;
}

let core: CoreLib | undefined;
const luaLibs = new Map<LuaVersion, { lib: LuaLib; runtime: string }>();

/** The core library, opened once per thread. */
export function openCore(): CoreLib {
  if (core) return core;
  denoPermissionCheck();
  return core = loader.openCore(join(libraryDir(), CORE_FILE));
}

/**
 * One Lua version's library, opened once per thread and bound to a Lua
 * runtime once per process: `runtime` (a path) when given, else the
 * version's MTINT_LUA_* variable, else the system's library.
 */
export function openLua(version: LuaVersion, runtime?: string): LuaLib {
  const open = luaLibs.get(version);
  if (open && (runtime === undefined || runtime === open.runtime)) return open.lib;
  if (!LUA_VERSIONS.includes(version)) {
    throw new RangeError(`lua must be one of ${LUA_VERSIONS.join(", ")}, got ${String(version)}`);
  }
  openCore(); // the version library links it; load it from the same place first
  const { dir, source } = libraryLocation();
  const path = join(dir, version, LUA_FILE);
  if (!existsSync(path)) {
    const built = LUA_VERSIONS.filter((v) => existsSync(join(dir, v, LUA_FILE)));
    throw new Error(
      `mtint: no library for Lua ${version} at ${path} (${source}); present: ${built.join(", ") || "none"}` +
        (source === "checkout build"
          ? `. A version whose headers are missing is not built (apt-get install liblua${version}-dev, ` +
            `or libluajit-5.1-dev for luajit), then: npm run build`
          : ""),
    );
  }
  const lib = open?.lib ?? loader.openLua(path);
  const bound = bindRuntime(version, (p) => lib.bindRuntime(p), runtime, envVar(runtimeVariable(version)));
  luaLibs.set(version, { lib, runtime: bound });
  return lib;
}

/** How one version fares on this machine. */
export interface VersionStatus {
  /** The Lua version. */
  version: LuaVersion;
  /** The Lua runtime library it is bound to, when it loads. */
  runtime?: string;
  /** Why it does not load. */
  error?: string;
}

/** Every version's status; throws when the core itself cannot load. */
export function versionStatus(): VersionStatus[] {
  openCore();
  return LUA_VERSIONS.map((version) => {
    try {
      openLua(version);
      return { version, runtime: luaLibs.get(version)!.runtime };
    } catch (err) {
      return { version, error: err instanceof Error ? err.message : String(err) };
    }
  });
}

/** The versions that load on this machine; throws when none does, saying why for each. */
export function loadableVersions(): LuaVersion[] {
  const status = versionStatus();
  const ok = status.filter((s) => !s.error).map((s) => s.version);
  if (ok.length === 0) {
    throw new Error(`mtint: no Lua version loads here:\n${status.map((s) => `${s.version}: ${s.error}`).join("\n")}`);
  }
  return ok;
}
