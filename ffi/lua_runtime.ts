/**
 * Which Lua runtime library a version's libmtint_lua.so binds to
 * (csrc/lua/lua_binding.c): an explicit path, else `MTINT_LUA_<VERSION>`,
 * else the names the common distributions install (Linux) or Homebrew and
 * MacPorts (macOS). Only the runtime package is needed, never `-dev`.
 *
 * @module
 */
import { currentOs, libraryExtension } from "./locate.ts";
import type { LuaVersion } from "./mod.ts";

/**
 * Shared-library names per version on Linux, as the packages install them:
 * Debian/Ubuntu (liblua5.x-0, libluajit-5.1-2), Fedora/RHEL (lua-libs,
 * luajit), Arch (lua, lua53, lua52, lua51, luajit), Alpine (lua5.x-libs,
 * luajit), openSUSE (liblua5_x-5, libluajit-5_1-2). dlopen finds a bare
 * name in the system's library directories.
 */
export const RUNTIME_NAMES: Readonly<Record<LuaVersion, readonly string[]>> = {
  "5.1": ["liblua5.1.so.0", "liblua-5.1.so", "liblua5.1.so", "liblua.so.5.1", "liblua-5.1.so.0", "liblua5.1.so.5"],
  "5.2": ["liblua5.2.so.0", "liblua-5.2.so", "liblua5.2.so", "liblua.so.5.2", "liblua-5.2.so.0", "liblua5.2.so.5"],
  "5.3": ["liblua5.3.so.0", "liblua-5.3.so", "liblua5.3.so", "liblua.so.5.3", "liblua-5.3.so.0", "liblua5.3.so.5"],
  "5.4": ["liblua5.4.so.0", "liblua-5.4.so", "liblua5.4.so", "liblua.so.5.4", "liblua-5.4.so.0", "liblua5.4.so.5"],
  luajit: ["libluajit-5.1.so.2"],
};

/**
 * The same on macOS, from the formulae's and ports' file lists (not tried
 * on a Mac): full paths, since dlopen's fallback search covers
 * /usr/local/lib but not Homebrew's /opt/homebrew (Apple silicon), its
 * keg-only `opt/lua@5.x`, or MacPorts' /opt/local. A library of another
 * version under an ambiguous name (liblua.dylib) fails the version check
 * and the search goes on.
 */
export const DARWIN_RUNTIME_NAMES: Readonly<Record<LuaVersion, readonly string[]>> = {
  "5.1": darwinNames("5.1"),
  "5.2": darwinNames("5.2"),
  "5.3": darwinNames("5.3"),
  "5.4": darwinNames("5.4"),
  luajit: ["/opt/homebrew", "/usr/local", "/opt/local"].flatMap((prefix) => [
    `${prefix}/lib/libluajit-5.1.2.dylib`,
    `${prefix}/lib/libluajit-5.1.dylib`,
  ]),
};

function darwinNames(version: string): string[] {
  const names = [`liblua.${version}.dylib`, `liblua${version}.dylib`, `liblua-${version}.dylib`];
  const dirs = ["/opt/homebrew/lib", `/opt/homebrew/opt/lua@${version}/lib`, "/usr/local/lib"];
  dirs.push(`/usr/local/opt/lua@${version}/lib`, "/opt/local/lib");
  return [...dirs.flatMap((dir) => names.map((name) => `${dir}/${name}`)), "/opt/homebrew/lib/liblua.dylib"];
}

/** The names tried for `version` on `os` (this process's by default). */
export function runtimeNames(version: LuaVersion, os: string = currentOs()): readonly string[] {
  return (os === "darwin" ? DARWIN_RUNTIME_NAMES : RUNTIME_NAMES)[version];
}

/** The command that installs a version's runtime, per Linux distribution. */
export const INSTALL_COMMANDS: Readonly<Record<LuaVersion, readonly string[]>> = {
  "5.1": [
    "Debian/Ubuntu: apt-get install liblua5.1-0",
    "Arch: pacman -S lua51",
    "Alpine: apk add lua5.1-libs",
    "openSUSE: zypper install liblua5_1-5",
  ],
  "5.2": ["Debian/Ubuntu: apt-get install liblua5.2-0", "Arch: pacman -S lua52", "Alpine: apk add lua5.2-libs"],
  "5.3": [
    "Debian/Ubuntu: apt-get install liblua5.3-0",
    "Arch: pacman -S lua53",
    "Alpine: apk add lua5.3-libs",
    "openSUSE: zypper install liblua5_3-5",
  ],
  "5.4": [
    "Debian/Ubuntu: apt-get install liblua5.4-0",
    "Fedora/RHEL: dnf install lua-libs",
    "Arch: pacman -S lua",
    "Alpine: apk add lua5.4-libs",
    "openSUSE: zypper install liblua5_4-5",
  ],
  luajit: [
    "Debian/Ubuntu: apt-get install libluajit-5.1-2",
    "Fedora/RHEL: dnf install luajit",
    "Arch: pacman -S luajit",
    "Alpine: apk add luajit",
    "openSUSE: zypper install libluajit-5_1-2",
  ],
};

/** The same on macOS (formula and port names; not tried on a Mac). */
export const DARWIN_INSTALL_COMMANDS: Readonly<Record<LuaVersion, readonly string[]>> = {
  "5.1": ["MacPorts: port install lua51"],
  "5.2": ["MacPorts: port install lua52"],
  "5.3": ["Homebrew: brew install lua@5.3", "MacPorts: port install lua53"],
  "5.4": ["Homebrew: brew install lua", "MacPorts: port install lua54"],
  luajit: ["Homebrew: brew install luajit", "MacPorts: port install luajit"],
};

/** The environment variable that names a version's runtime: MTINT_LUA_5_4, MTINT_LUA_LUAJIT. */
export function runtimeVariable(version: LuaVersion): string {
  return `MTINT_LUA_${version.replace(".", "_").toUpperCase()}`;
}

/** What mth_lua_open answered for one candidate. */
export interface BindResult {
  /** 0 bound, 1 already bound to `message` (a path), -1 cannot open, -2 another version. */
  status: number;
  message: string;
}

/**
 * Binds the library to the first candidate that opens and is `version`:
 * `explicit` alone when given, else the variable's path, else every name
 * of {@link RUNTIME_NAMES}. Returns the path bound; throws an error that
 * lists every candidate with its failure and the install commands.
 */
export function bindRuntime(
  version: LuaVersion,
  bind: (path: string) => BindResult,
  explicit: string | undefined,
  fromEnv: string | undefined,
): string {
  const variable = runtimeVariable(version);
  const candidates = explicit !== undefined
    ? [[explicit, "the luaRuntime option"]]
    : fromEnv
    ? [[fromEnv, variable]]
    : runtimeNames(version).map((name) => [name, "system"]);
  const tried: string[] = [];
  for (const [path, source] of candidates) {
    const result = bind(path);
    if (result.status === 0) return path;
    if (result.status === 1) {
      if (explicit !== undefined || fromEnv) {
        throw new Error(
          `mtint: Lua ${version} is already bound to ${result.message} in this process; ` +
            `${path} (${source}) cannot replace it`,
        );
      }
      return result.message;
    }
    tried.push(`  ${path}${source === "system" ? "" : ` (${source})`}: ${result.message}`);
  }
  const darwin = currentOs() === "darwin";
  const install = (darwin ? DARWIN_INSTALL_COMMANDS : INSTALL_COMMANDS)[version];
  const ext = libraryExtension(currentOs());
  throw new Error(
    `mtint: no Lua ${version} runtime library found. Tried:\n${tried.join("\n")}\n` +
      `Install the runtime (not -dev), e.g.\n  ${install.join("\n  ")}\n` +
      `or give its path: the luaRuntime option of LuaWorker.create, or ${variable}=/path/to/liblua.${ext}`,
  );
}
