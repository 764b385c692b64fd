/**
 * The prebuilt native libraries of a release: their version and, per file
 * under native/ (`<os>-<arch>-<libc>/...`), its size and sha256. A checkout
 * has none; scripts/dist.ts writes the real table into dist/jsr and
 * dist/npm.
 *
 * @module
 */

/** One prebuilt file. */
export interface NativeFile {
  /** Bytes. */
  readonly size: number;
  /** Lower-case hex. */
  readonly sha256: string;
}

/** The release these libraries belong to; it keys the download cache. */
export const NATIVE_VERSION: string = "0.0.0-checkout";

/** Every prebuilt file, by its path under native/. */
export const NATIVE_FILES: Readonly<Record<string, NativeFile>> = {};
