// The part of Bun's `bun:ffi` that ffi/bun.ts uses, so that `deno check`
// type-checks that file too (Deno has no bun:ffi; Bun ignores this file).

/** A native pointer, as Bun gives it: a number. */
export type Pointer = number & { readonly __pointer__: null };
/** An FFI type name. */
export type FFITypeOrString = "f64" | "i32" | "u32" | "ptr" | "function" | "void";
/** One function's signature. */
export interface FFIFunction {
  readonly args?: readonly FFITypeOrString[];
  readonly returns?: FFITypeOrString;
}
/** Opens a library and binds `symbols`. */
export function dlopen<Fns extends Record<string, FFIFunction>>(
  name: string,
  symbols: Fns,
): { symbols: { [K in keyof Fns]: (...args: unknown[]) => unknown }; close(): void };
/** A JavaScript function callable from C. */
export class JSCallback {
  constructor(callback: (...args: any[]) => unknown, definition: FFIFunction);
  readonly ptr: Pointer | null;
  close(): void;
}
/** Reads a NUL-terminated string. */
export class CString extends String {
  constructor(ptr: Pointer, byteOffset?: number, byteLength?: number);
}
/** An ArrayBuffer over native memory. */
export function toArrayBuffer(ptr: Pointer, byteOffset?: number, byteLength?: number): ArrayBuffer;
