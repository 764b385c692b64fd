/**
 * A Web Worker that holds one wasmoon or fengari state, as an application
 * would run them off the main thread. A runaway script in it can only be
 * stopped by terminating the whole worker (bench/sections/runaway.ts).
 *
 * Requests: {type: "init", name} → {type: "ready", version};
 * {type: "run", source} → {type: "started"} then {type: "result", value}
 * or {type: "error", message}.
 *
 * @module
 */
import { type AltLua, type AltName, createAlt } from "./alternatives.ts";

type Request = { type: "init"; name: AltName } | { type: "run"; source: string };

interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent<Request>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;
let lua: AltLua | undefined;

scope.onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === "init") {
      lua = await createAlt(msg.name);
      scope.postMessage({ type: "ready", version: lua.version });
    } else if (msg.type === "run") {
      if (!lua) throw new Error("not initialised");
      scope.postMessage({ type: "started" });
      scope.postMessage({ type: "result", value: lua.run(msg.source) });
    }
  } catch (err) {
    scope.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) });
  }
};
