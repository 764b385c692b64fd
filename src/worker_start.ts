/**
 * Starting the Web Worker of a LuaWorker: the handshake that creates its
 * Lua state, bounded by `createTimeout` and abortable by `signal`.
 *
 * @module
 */
import { openCore, openLua } from "../ffi/mod.ts";
import { Channel } from "./channel.ts";
import { MtintError } from "./errors.ts";
import type { CreateSettings } from "./options.ts";
import type { Reply, Request } from "./protocol.ts";

/** What the worker reports once its state is created. */
export type Ready = Extract<Reply, { type: "ready" }>;

/** A started worker, its channel and its state's details. */
export interface Started {
  worker: Worker;
  channel: Channel;
  ready: Ready;
}

/** Starts a worker and creates its Lua state with `settings`. */
export async function startWorker(settings: CreateSettings): Promise<Started> {
  const { lua, host, signal, createTimeout } = settings;
  openCore(); // fails here, on the caller's thread, with a clear message
  openLua(lua, settings.luaRuntime); // binds the runtime for the worker too, or says why not

  const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
  const channel = new Channel();
  const what = `mtint: creating the Lua ${lua} state`;
  // The worker may never answer: a host module whose top-level await
  // never settles, a worker that cannot start. Bounded, and abortable.
  let stage = "starting its worker";
  let giveUp: (err: Error) => void = () => {};
  const timer = setTimeout(
    () => giveUp(new Error(`${what}: gave up after ${createTimeout} ms ${stage}`)),
    Math.min(createTimeout, 2 ** 31 - 1),
  );
  const onAbort = () => giveUp(new MtintError("interrupted", `aborted while ${stage}`, { cause: signal!.reason }));
  signal?.addEventListener("abort", onAbort, { once: true });
  const ready = await new Promise<Ready>((resolve, reject) => {
    giveUp = reject;
    worker.onmessage = (event: MessageEvent<Reply>) => {
      const reply = event.data;
      if (typeof reply === "number") return;
      if (reply.type === "loaded") {
        stage = host ? `importing the host module ${host} (a top-level await that never settles?)` : "creating it";
        worker.postMessage(
          {
            type: "create",
            version: lua,
            memoryLimit: settings.memoryLimit,
            flags: settings.flags,
            grants: settings.grants,
            host,
            functions: Object.keys(settings.functions),
            channel: channel.buffer,
          } satisfies Request,
        );
      } else if (reply.type === "ready") {
        resolve(reply);
      } else if (reply.type === "failed") {
        reject(new Error(`${what}: ${reply.message}`));
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      reject(new Error(`mtint: the worker failed to start: ${event.message}`));
    };
  }).catch((err) => {
    worker.terminate();
    throw err;
  }).finally(() => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  });
  return { worker, channel, ready };
}
