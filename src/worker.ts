/**
 * The Web Worker behind a LuaWorker: owns one lua_State and runs each
 * chunk synchronously inside one FFI call. The main thread interrupts it
 * through the native registry, never through this worker's event loop,
 * which is blocked while Lua runs.
 *
 * @module
 */
import { type LuaLib, openLua, type Pointer } from "../ffi/mod.ts";
import { decodeList, encodeList, type LuaInput } from "./codec.ts";
import type { Reply, Request } from "./protocol.ts";

interface WorkerScope {
  postMessage(message: Reply, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<Request>) => void) | null;
  close(): void;
}
const scope = globalThis as unknown as WorkerScope;
const utf8 = new TextEncoder();
const text = new TextDecoder();

let lib: LuaLib;
let state: Pointer;
let freeCallbacks: () => void = () => {};
let hostFunctions: [string, (...args: unknown[]) => unknown][] = [];
let integers = false;

function reply(message: Reply, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** host.<name>(...) from Lua: runs the function, replies through mth_reply. */
function callHost(fn: number, args: Uint8Array): number {
  const [name, f] = hostFunctions[fn];
  try {
    const result = f(...decodeList(args));
    if (result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function") {
      throw new TypeError(`returned a Promise; host functions must be synchronous`);
    }
    lib.reply(state, encodeList(name, result === undefined ? [] : [result as LuaInput], integers));
    return 0;
  } catch (err) {
    lib.reply(state, utf8.encode(messageOf(err)));
    return 1;
  }
}

async function create(msg: Extract<Request, { type: "create" }>): Promise<void> {
  lib = openLua(msg.version);
  integers = msg.version === "5.3" || msg.version === "5.4";
  if (msg.host) {
    let mod: Record<string, unknown>;
    try {
      mod = await import(msg.host);
    } catch (err) {
      throw new Error(`host module ${msg.host} failed to import: ${messageOf(err)}`);
    }
    // Exports that are not functions are ignored.
    hostFunctions = Object.entries(mod).filter((e): e is [string, (...args: unknown[]) => unknown] =>
      typeof e[1] === "function"
    );
  }
  const created = lib.create(msg.memoryLimit, msg.flags);
  if (created === null) throw new Error("out of memory creating the Lua state");
  state = created;
  freeCallbacks = lib.callbacks(state, {
    print: (bytes) => console.log(text.decode(bytes)),
    post: (bytes) => reply({ type: "post", bytes }, [bytes.buffer]),
    call: callHost,
  });
  hostFunctions.forEach(([name], i) => {
    if (lib.define(state, i, utf8.encode(name)) !== 0) throw new Error(`out of memory defining host.${name}`);
  });
  reply({ type: "ready", id: lib.id(state), version: lib.version(), engine: lib.engine() });
}

scope.onmessage = async (event) => {
  const msg = event.data;
  switch (msg.type) {
    case "create":
      try {
        await create(msg);
      } catch (err) {
        reply({ type: "failed", message: messageOf(err) });
      }
      break;
    case "run": {
      const bytes = lib.run(state, msg.seq, utf8.encode(msg.chunk), utf8.encode(msg.name), msg.args, msg.timeout);
      reply({ type: "result", seq: msg.seq, bytes }, [bytes.buffer]);
      break;
    }
    case "close":
      if (state !== undefined) lib.close(state, msg.seq);
      freeCallbacks();
      reply({ type: "closed" });
      scope.close();
      break;
  }
};

reply({ type: "loaded" });
