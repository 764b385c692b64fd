/**
 * The Deno loader: Deno.dlopen over the symbol table.
 *
 * @module
 */
import { callbackSymbols, coreSymbols, luaSymbols } from "./symbols.ts";
import { bindWith, nonEmpty, wrapCore } from "./native.ts";
import type { CoreLib, HostCallbacks, Loader, LuaLib, Pointer } from "./native.ts";

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
    const { symbols: s } = Deno.dlopen(path, luaSymbols);
    const state = (p: Pointer) => p as Deno.PointerValue;
    return {
      bindRuntime: (runtime) => bindWith((path, err, size) => s.mth_lua_open(path, err, size), runtime),
      create: (limit, flags) => s.mth_create(limit, flags),
      callbacks(p: Pointer, cb: HostCallbacks) {
        const print = new Deno.UnsafeCallback(callbackSymbols.print, (ptr, len) => cb.print(copyOut(ptr, len)));
        const post = new Deno.UnsafeCallback(callbackSymbols.post, (ptr, len) => cb.post(copyOut(ptr, len)));
        const call = new Deno.UnsafeCallback(callbackSymbols.call, (fn, ptr, len) => cb.call(fn, copyOut(ptr, len)));
        s.mth_callbacks(state(p), print.pointer, post.pointer, call.pointer);
        return () => {
          print.close();
          post.close();
          call.close();
        };
      },
      define: (p, index, name) => s.mth_define(state(p), index, nonEmpty(name), name.length),
      grant: (p, id) => s.mth_grant(state(p), id),
      reply: (p, bytes) => s.mth_reply(state(p), nonEmpty(bytes), bytes.length),
      id: (p) => s.mth_id(state(p)),
      version: () => Deno.UnsafePointerView.getCString(s.mth_version()!),
      engine: () => Deno.UnsafePointerView.getCString(s.mth_engine()!),
      run(p, seq, chunk, name, args, timeoutMs, cpuLimitMs) {
        const len = s.mth_run(
          state(p),
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
        return copyOut(s.mth_result(state(p)), len);
      },
      call(p, seq, path, args, timeoutMs, cpuLimitMs) {
        const len = s.mth_call(
          state(p),
          seq,
          nonEmpty(path),
          path.length,
          nonEmpty(args),
          args.length,
          timeoutMs,
          cpuLimitMs,
        );
        return copyOut(s.mth_result(state(p)), len);
      },
      release: (p, ids) =>
        s.mth_release(state(p), nonEmpty(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength)), ids.length),
      close: (p, seq) => s.mth_close(state(p), seq),
    };
  },
};
