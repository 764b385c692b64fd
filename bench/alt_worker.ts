/**
 * A Web Worker that holds one wasmoon or fengari state, as an application
 * would run them off the main thread. A runaway script in it can only be
 * stopped by terminating the whole worker (bench/sections/runaway.ts).
 *
 * Requests: {type: "init", name} → {type: "ready", version};
 * {type: "run", source, fresh?} → {type: "started"} then {type: "result", value}
 * or {type: "error", message}. With `fresh`, the chunk runs in a new state
 * that is closed after it (as a server isolates its users' scripts).
 *
 * @module
 */
import { type AltLua, type AltName, createAlt } from "./alternatives.ts";

type Request = { type: "init"; name: AltName } | { type: "run"; source: string; fresh?: boolean };

interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent<Request>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;
let lua: AltLua | undefined;
let name: AltName | undefined;

scope.onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === "init") {
      name = msg.name;
      lua = await createAlt(name);
      scope.postMessage({ type: "ready", version: lua.version });
    } else if (msg.type === "run") {
      if (!lua) throw new Error("not initialised");
      const fresh = msg.fresh ? await createAlt(name!) : undefined;
      scope.postMessage({ type: "started" });
      try {
        scope.postMessage({ type: "result", value: (fresh ?? lua).run(msg.source) });
      } finally {
        fresh?.close();
      }
    }
  } catch (err) {
    scope.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) });
  }
};
