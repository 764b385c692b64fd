/**
 * The Bun loader: bun:ffi over the same symbol table, its types mapped.
 *
 * @module
 */
import { CString, dlopen, JSCallback, toArrayBuffer } from "bun:ffi";
import type { FFIFunction, FFITypeOrString, Pointer as BunPointer } from "bun:ffi";
import { callbackSymbols, coreSymbols, luaSymbols } from "./symbols.ts";
import { bindWith, nonEmpty, wrapCore } from "./native.ts";
import type { CoreFunctions, CoreLib, HostCallbacks, Loader, LuaLib, Pointer } from "./native.ts";
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

// deno-lint-ignore no-explicit-any
type Symbols = Record<string, (...args: any[]) => any>;

/** Loads the libraries with bun:ffi. */
export const loader: Loader = {
  openCore(path: string): CoreLib {
    return wrapCore(dlopen(path, table(coreSymbols)).symbols as CoreFunctions);
  },

  openLua(path: string): LuaLib {
    const s = dlopen(path, table(luaSymbols)).symbols as Symbols;
    return {
      bindRuntime: (runtime) => bindWith((path, err, size) => s.mth_lua_open(path, err, size), runtime),
      create: (limit, flags) => s.mth_create(limit, flags),
      callbacks(p: Pointer, cb: HostCallbacks) {
        const print = new JSCallback(
          (ptr: BunPointer, len: number) => cb.print(copyOut(ptr, len)),
          convert(callbackSymbols.print),
        );
        const post = new JSCallback(
          (ptr: BunPointer, len: number) => cb.post(copyOut(ptr, len)),
          convert(callbackSymbols.post),
        );
        const call = new JSCallback(
          (fn: number, ptr: BunPointer, len: number) => cb.call(fn, copyOut(ptr, len)),
          convert(callbackSymbols.call),
        );
        s.mth_callbacks(p, print.ptr, post.ptr, call.ptr);
        return () => {
          print.close();
          post.close();
          call.close();
        };
      },
      define: (p, index, name) => s.mth_define(p, index, nonEmpty(name), name.length),
      grant: (p, id) => s.mth_grant(p, id),
      reply: (p, bytes) => s.mth_reply(p, nonEmpty(bytes), bytes.length),
      id: (p) => s.mth_id(p),
      version: () => new CString(s.mth_version()).toString(),
      engine: () => new CString(s.mth_engine()).toString(),
      run(p, seq, chunk, name, args, timeoutMs, cpuLimitMs) {
        const len = s.mth_run(
          p,
          seq,
          nonEmpty(chunk),
          chunk.length,
          nonEmpty(name),
          name.length,
          nonEmpty(args),
          args.length,
          timeoutMs,
          cpuLimitMs,
        );
        return copyOut(s.mth_result(p), len);
      },
      call(p, seq, path, args, timeoutMs, cpuLimitMs) {
        const len = s.mth_call(p, seq, nonEmpty(path), path.length, nonEmpty(args), args.length, timeoutMs, cpuLimitMs);
        return copyOut(s.mth_result(p), len);
      },
      release: (p, ids) => s.mth_release(p, nonEmpty(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength)), ids.length),
      close: (p, seq) => s.mth_close(p, seq),
    };
  },
};
