/**
 * Where the native libraries come from, in this order:
 *
 * 1. `MTINT_LIB_DIR`;
 * 2. a local build in a checkout (`zig-out/lib` beside `ffi/`);
 * 3. `native/<os>-<arch>-<libc>/` beside the module, when it is on disk
 *    (the npm package, a vendored copy);
 * 4. for a module imported over https (JSR), a download of that directory
 *    from beside the module URL into a cache (`MTINT_CACHE_DIR`, else the
 *    platform's cache directory), keyed by release and target. Each file is
 *    checked against ffi/manifest.ts and written through a temporary file
 *    and a rename, so processes that start at once never see half a file.
 *
 * A directory holds `libmtint_core.so` and `<version>/libmtint_lua.so`
 * (`.dylib` on macOS).
 *
 * @module
 */
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NATIVE_FILES, NATIVE_VERSION } from "./manifest.ts";

/** Where a library directory was found. */
export type LibrarySource = "MTINT_LIB_DIR" | "checkout build" | "package" | "download cache";

/** A library directory and how it was found. */
export interface LibraryLocation {
  /** The directory: {@link CORE_FILE} and <version>/{@link LUA_FILE}. */
  dir: string;
  /** How it was found. */
  source: LibrarySource;
  /** `<os>-<arch>-<libc>`, e.g. linux-x64-gnu. */
  target: string;
}

// deno-lint-ignore no-explicit-any
const deno = (globalThis as any).Deno;

/** The OS as Deno names it (`linux`, `darwin`, ...); Bun's process.platform agrees for these. */
export function currentOs(): string {
  // deno-lint-ignore no-explicit-any
  return deno ? deno.build.os : (globalThis as any).process.platform;
}

/** Shared libraries' file suffix on `os`, as zig build names them: `dylib` on macOS, else `so`. */
export function libraryExtension(os: string): string {
  return os === "darwin" ? "dylib" : "so";
}

/** The core's file name in a library directory of this OS. */
export const CORE_FILE = `libmtint_core.${libraryExtension(currentOs())}`;
/** A version's library, under `<version>/` in a library directory of this OS. */
export const LUA_FILE = `libmtint_lua.${libraryExtension(currentOs())}`;

/** Variables that were set aside because Deno runs without --allow-env for them. */
export const unreadVariables: string[] = [];

/** An environment variable, or undefined; in Deno only with --allow-env (else noted in {@link unreadVariables}). */
export function envVar(name: string): string | undefined {
  if (deno) {
    if (deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      if (!unreadVariables.includes(name)) unreadVariables.push(name);
      return undefined;
    }
    return deno.env.get(name) || undefined;
  }
  // deno-lint-ignore no-explicit-any
  return (globalThis as any).process?.env?.[name] || undefined;
}

/** `<os>-<arch>-<libc>` of this process, as native/ names its directories. */
export function currentTarget(): string {
  const os = currentOs();
  // deno-lint-ignore no-explicit-any
  const rawArch: string = deno ? deno.build.arch : (globalThis as any).process.arch;
  const arch = rawArch === "x86_64" ? "x64" : rawArch === "aarch64" ? "arm64" : rawArch;
  if (os !== "linux") return `${os}-${arch}`;
  const musl = existsSync(`/lib/ld-musl-${arch === "x64" ? "x86_64" : "aarch64"}.so.1`);
  return `${os}-${arch}-${musl ? "musl" : "gnu"}`;
}

function hasCore(dir: string): boolean {
  return existsSync(join(dir, CORE_FILE));
}

/** The targets the manifest (or a native/ directory on disk) has libraries for. */
function shippedTargets(nativeDir?: string): string[] {
  const fromManifest = new Set(Object.keys(NATIVE_FILES).map((path) => path.split("/")[0]));
  if (nativeDir && existsSync(nativeDir)) {
    for (const name of readdirSync(nativeDir)) if (hasCore(join(nativeDir, name))) fromManifest.add(name);
  }
  return [...fromManifest].sort();
}

function unsupported(target: string, shipped: string[]): Error {
  return new Error(
    `mtint: no prebuilt native libraries for this platform (${target}); this release has ` +
      `${shipped.length ? shipped.join(", ") : "none"}. Build them from a clone of mtint ` +
      `(zig build) and point MTINT_LIB_DIR at its zig-out/lib.` +
      (target.startsWith("darwin")
        ? ` macOS libraries build (zig build -Dtarget=${target.endsWith("arm64") ? "aarch64" : "x86_64"}-macos, ` +
          `also from Linux) but are not shipped: they have not run on a Mac yet.`
        : ""),
  );
}

/** The platform's cache directory for mtint, or undefined when no variable says where. */
function cacheRoot(): string | undefined {
  const explicit = envVar("MTINT_CACHE_DIR");
  if (explicit) return explicit;
  const home = envVar("HOME");
  if (currentOs() === "darwin") {
    return home && join(home, "Library", "Caches", "mtint");
  }
  const xdg = envVar("XDG_CACHE_HOME");
  return xdg ? join(xdg, "mtint") : home && join(home, ".cache", "mtint");
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function needPermission(name: string, query: Record<string, string>, flag: string, why: string): void {
  if (deno && deno.permissions.querySync({ name, ...query }).state !== "granted") {
    throw new Error(`mtint: ${why}: run Deno with ${flag}`);
  }
}

/** Fetches the target's files from beside the module into the cache, unless they are there. */
async function fromCache(base: URL, target: string): Promise<LibraryLocation> {
  const files = Object.entries(NATIVE_FILES).filter(([path]) => path.startsWith(`${target}/`));
  if (files.length === 0) throw unsupported(target, shippedTargets());
  const root = cacheRoot();
  if (!root) {
    throw new Error(
      `mtint: no cache directory for the native libraries: set MTINT_CACHE_DIR or HOME` +
        (unreadVariables.length ? ` (not read without --allow-env: ${unreadVariables.join(", ")})` : ""),
    );
  }
  const dir = join(root, NATIVE_VERSION, target);
  needPermission("read", { path: dir }, `--allow-read`, `reading the native libraries in ${dir}`);
  const missing = files.filter(([path, file]) => {
    try {
      return statSync(join(root, NATIVE_VERSION, path)).size !== file.size;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return { dir, source: "download cache", target };
  const why = `downloading the native libraries once from ${base.origin} into ${root}`;
  needPermission("net", { host: base.host }, `--allow-net=${base.host}`, why);
  needPermission("write", { path: root }, `--allow-write=${root}`, why);
  for (const [path, file] of missing) {
    const url = new URL(path, base);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`mtint: downloading ${url}: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const sum = await sha256(bytes);
    if (bytes.length !== file.size || sum !== file.sha256) {
      throw new Error(`mtint: ${url} does not match the manifest (sha256 ${sum}, expected ${file.sha256})`);
    }
    const dest = join(root, NATIVE_VERSION, path);
    mkdirSync(join(dest, ".."), { recursive: true });
    // A private temporary name, then an atomic rename over the final one.
    const temp = `${dest}.${crypto.randomUUID()}.tmp`;
    try {
      writeFileSync(temp, bytes, { mode: 0o755 });
      renameSync(temp, dest);
    } catch (err) {
      try {
        unlinkSync(temp);
      } catch { /* it was never written */ }
      throw err;
    }
  }
  return { dir, source: "download cache", target };
}

/** Finds (and for a remote module, fetches) the native libraries; see the module comment. */
export async function locateLibraries(moduleUrl: string = import.meta.url): Promise<LibraryLocation> {
  const target = currentTarget();
  const explicit = envVar("MTINT_LIB_DIR");
  if (explicit) {
    if (!hasCore(explicit)) throw new Error(`mtint: MTINT_LIB_DIR=${explicit} has no ${CORE_FILE}`);
    return { dir: explicit, source: "MTINT_LIB_DIR", target };
  }
  const here = new URL(moduleUrl);
  if (here.protocol === "file:") {
    const build = fileURLToPath(new URL("../zig-out/lib/", here));
    if (hasCore(build)) return { dir: build, source: "checkout build", target };
    const nativeDir = fileURLToPath(new URL("../native/", here));
    const dir = join(nativeDir, target);
    if (hasCore(dir)) return { dir, source: "package", target };
    if (existsSync(fileURLToPath(new URL("../build.zig", here)))) {
      throw new Error(
        `mtint: no native libraries in this checkout (${build}); build them with: npm run build ` +
          `(or npm run setup, which also installs the Lua packages and Zig)`,
      );
    }
    throw unsupported(target, shippedTargets(nativeDir));
  }
  if (here.protocol === "https:" || here.protocol === "http:") {
    return await fromCache(new URL("../native/", here), target);
  }
  throw new Error(`mtint: cannot load native libraries for a module served from ${here.protocol}`);
}
