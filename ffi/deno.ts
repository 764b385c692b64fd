/**
 * The Deno loader: Deno.dlopen over the symbol table.
 *
 * @module
 */
import { callbackSymbols, coreSymbols, luaSymbols } from "./symbols.ts";
import { wrapCore, wrapLua } from "./native.ts";
import type { CoreLib, Loader, LuaLib } from "./native.ts";

function copyOut(ptr: Deno.PointerValue, len: number): Uint8Array {
  if (len === 0 || ptr === null) return new Uint8Array(0);
  return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(ptr, len)).slice();
}

/** Loads the libraries with Deno.dlopen. */
export const loader: Loader = {
  openCore(path: string): CoreLib {
    return wrapCore(Deno.dlopen(path, coreSymbols).symbols);
  },

  openLua(path: string): LuaLib {
    return wrapLua({
      symbols: Deno.dlopen(path, luaSymbols).symbols,
      copyOut: (ptr, len) => copyOut(ptr as Deno.PointerValue, len),
      cString: (ptr) => Deno.UnsafePointerView.getCString(ptr as Deno.PointerObject),
      callback(signature, fn) {
        const callback = new Deno.UnsafeCallback(signature as Deno.UnsafeCallbackDefinition, fn);
        return { pointer: callback.pointer, close: () => callback.close() };
      },
    }, callbackSymbols);
  },
};
