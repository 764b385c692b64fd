/**
 * The smallest Web Worker: echoes every message. bench/sections/latency.ts
 * times postMessage round trips with it, the runtime's own floor under
 * run("return 1").
 *
 * @module
 */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};
scope.onmessage = (event) => scope.postMessage(event.data);
