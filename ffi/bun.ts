/**
 * The Bun loader: bun:ffi over the same symbol table, its types mapped.
 *
 * @module
 */
// @ts-types="./bun_ffi.d.ts"
import { CString, dlopen, JSCallback, toArrayBuffer } from "bun:ffi";
// @ts-types="./bun_ffi.d.ts"
import type { FFIFunction, FFITypeOrString, Pointer as BunPointer } from "bun:ffi";
import { callbackSymbols, coreSymbols, luaSymbols } from "./symbols.ts";
import { wrapCore, wrapLua } from "./native.ts";
import type { CoreFunctions, CoreLib, Loader, LuaFunctions, LuaLib } from "./native.ts";
import type { NativeType, Signature } from "./symbols.ts";

const bunType: Record<NativeType, FFITypeOrString> = {
  f64: "f64",
  i32: "i32",
  u32: "u32",
  pointer: "ptr",
  buffer: "ptr",
  function: "function",
  void: "void",
};

function convert(sig: Signature): FFIFunction {
  return { args: sig.parameters.map((t) => bunType[t]), returns: bunType[sig.result] };
}

function table<T extends Record<string, Signature>>(symbols: T): Record<keyof T, FFIFunction> {
  return Object.fromEntries(Object.entries(symbols).map(([name, sig]) => [name, convert(sig)])) as Record<
    keyof T,
    FFIFunction
  >;
}

function copyOut(ptr: BunPointer | null, len: number): Uint8Array {
  if (len === 0 || ptr === null) return new Uint8Array(0);
  return new Uint8Array(toArrayBuffer(ptr, 0, len)).slice();
}

/** Loads the libraries with bun:ffi. */
export const loader: Loader = {
  openCore(path: string): CoreLib {
    return wrapCore(dlopen(path, table(coreSymbols)).symbols as CoreFunctions);
  },

  openLua(path: string): LuaLib {
    return wrapLua({
      symbols: dlopen(path, table(luaSymbols)).symbols as LuaFunctions,
      copyOut: (ptr, len) => copyOut(ptr as BunPointer | null, len),
      cString: (ptr) => new CString(ptr as BunPointer).toString(),
      callback(signature, fn) {
        const callback = new JSCallback(fn, convert(signature));
        return { pointer: callback.ptr, close: () => callback.close() };
      },
    }, callbackSymbols);
  },
};
