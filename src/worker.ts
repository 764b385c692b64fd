/**
 * The Web Worker behind a LuaWorker: owns one lua_State and runs each
 * chunk synchronously inside one FFI call. Calls arrive through the channel
 * (src/channel.ts); the main thread interrupts through the native registry,
 * never through this worker's event loop, which is blocked while Lua runs.
 *
 * @module
 */
import { type LuaLib, openLua, type Pointer } from "../ffi/mod.ts";
import { decodeList, encodeList, type LuaInput, messageOf } from "./codec.ts";
import { type CallRequest, Channel } from "./channel.ts";
import {
  CALL,
  CLOSE,
  DEFINE,
  HOST_CALL_ERROR,
  HOST_CALL_OK,
  HOST_CALL_WAIT,
  RELEASE,
  type Reply,
  type Request,
  RESET,
  STATUS_FULL,
  STATUS_UNKNOWN,
  VIA_MESSAGE,
} from "./protocol.ts";

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
// The creator's functions, by name: host.<name> with index
// hostFunctions.length + i, answered by the creator's thread.
const callerFunctions: string[] = [];
let answerTokens = 0;
let channel: Channel;
let integers = false;
// host.<name> that Lua's host module has already.
const BUILT_IN = ["post", "recv", "clock"];

function reply(message: Reply, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

/** host.<name>(...) from Lua: runs a host module's function and replies
 * through mth_reply, or asks the creator's thread to run one of its own and
 * gives the native side the token of the answer to wait for. Whatever a
 * function throws or returns becomes values or an error message: an
 * exception must not unwind through the native frames of the running call
 * (it would end the worker). */
function callHost(fn: number, args: Uint8Array): number {
  if (fn >= hostFunctions.length) {
    const token = ++answerTokens;
    if (!channel.postCall(token, fn - hostFunctions.length, args)) {
      reply({ type: "call", fn: fn - hostFunctions.length, token, bytes: args }, [args.buffer as ArrayBuffer]);
    }
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, token, true);
    lib.reply(state, bytes);
    return HOST_CALL_WAIT;
  }
  const [name, f] = hostFunctions[fn];
  let answer: Uint8Array;
  let status = HOST_CALL_OK;
  try {
    const result = f(...decodeList(args));
    if (
      (typeof result === "object" || typeof result === "function") && result !== null &&
      typeof (result as PromiseLike<unknown>).then === "function"
    ) {
      throw new TypeError(`returned a Promise; host functions must be synchronous`);
    }
    answer = encodeList(name, result === undefined ? [] : [result as LuaInput], integers);
  } catch (err) {
    answer = utf8.encode(messageOf(err));
    status = HOST_CALL_ERROR;
  }
  lib.reply(state, answer);
  return status;
}

/** print() and host.post() from Lua: 0, or 1 when the worker could not
 * pass the text or value on (raised in Lua). */
function guarded(f: (bytes: Uint8Array) => void): (bytes: Uint8Array) => number {
  return (bytes) => {
    try {
      f(bytes);
      return 0;
    } catch {
      return 1;
    }
  };
}

type CreateRequest = Extract<Request, { type: "create" }>;
let options: CreateRequest;

async function create(msg: CreateRequest): Promise<void> {
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
  options = msg;
  for (const name of msg.functions) checkFunctionName(name);
  callerFunctions.push(...msg.functions);
  openState();
  reply({ type: "ready", id: lib.id(state), version: lib.version(), engine: lib.engine() });
}

/** Creates the state with the worker's options: at start and at each reset.
 * A grant (interrupts: [...]) must name a live state when the worker is
 * created; at a reset, grants whose state has gone since are moot (ids are
 * never reused) and skipped. */
function openState(reset = false): void {
  const created = lib.create(options.memoryLimit, options.flags);
  if (created === null) throw new Error("out of memory creating the Lua state");
  state = created;
  const id = lib.id(state);
  freeCallbacks = lib.callbacks(state, {
    print: guarded((bytes) => console.log(text.decode(bytes))),
    post: guarded((bytes) => {
      reply({ type: "post", id, bytes }, [bytes.buffer as ArrayBuffer]);
      channel.notePost();
    }),
    call: callHost,
  });
  for (const grant of options.grants) {
    const status = lib.grant(state, grant);
    if (status === STATUS_UNKNOWN && !reset) {
      throw new RangeError(`interrupts: ${grant} is not the id of a live LuaWorker`);
    }
    if (status === STATUS_FULL) throw new Error("out of memory granting interrupts");
  }
  hostFunctions.forEach(([name], i) => defineFunction(name, i));
  callerFunctions.forEach((name, i) => name !== undefined && defineFunction(name, hostFunctions.length + i));
}

function defineFunction(name: string, index: number): void {
  if (lib.define(state, index, utf8.encode(name)) !== 0) throw new Error(`out of memory defining host.${name}`);
}

function checkFunctionName(name: string): void {
  if (BUILT_IN.includes(name)) throw new Error(`functions.${name}: host.${name} is built in`);
  if (hostFunctions.some(([other]) => other === name) || callerFunctions.includes(name)) {
    throw new Error(`functions.${name}: host.${name} is defined twice (by the host module and in functions)`);
  }
}

/** Adds the creator's function `index` between calls; the result is empty or why not. */
function defineCaller(name: string, index: number): Uint8Array {
  try {
    checkFunctionName(name);
    defineFunction(name, hostFunctions.length + index);
  } catch (err) {
    return utf8.encode(messageOf(err));
  }
  callerFunctions[index] = name;
  return new Uint8Array(0);
}

/** Closes the state (its finalizers run as call `seq`) and frees its callbacks. */
function closeState(seq: number): void {
  lib.close(state, seq);
  freeCallbacks();
}

/** The result of a reset: 0 and the new id, or 1 and why it failed. */
function resetState(seq: number): Uint8Array {
  closeState(seq);
  try {
    openState(true);
  } catch (err) {
    return new Uint8Array([1, ...utf8.encode(messageOf(err))]);
  }
  const out = new Uint8Array(9);
  new DataView(out.buffer).setFloat64(1, lib.id(state), true);
  return out;
}

// Calls too large for the channel arrive as messages; serve() awaits them.
const mail: Extract<Request, { type: "run" }>[] = [];
let mailWaiter: (() => void) | undefined;

async function nextMail(): Promise<Extract<Request, { type: "run" }>> {
  while (mail.length === 0) await new Promise<void>((resolve) => mailWaiter = resolve);
  return mail.shift()!;
}

/** Runs calls until the LuaWorker closes this worker. Between calls the
 * thread sleeps in Atomics.wait, not in its event loop (see channel.ts). */
async function serve(channel: Channel): Promise<void> {
  for (let last = 0;;) {
    last = channel.wait(last);
    let call: CallRequest | Extract<Request, { type: "run" }> = channel.read();
    if (call.kind === CLOSE) {
      closeState(call.seq);
      channel.finish(last, null);
      reply({ type: "closed" });
      scope.close();
      return;
    }
    if (call.kind === RESET || call.kind === DEFINE) {
      channel.finish(
        last,
        call.kind === RESET ? resetState(call.seq) : defineCaller(text.decode(call.chunk), call.timeout),
      );
      reply(last);
      continue;
    }
    if (call.kind === RELEASE) {
      const a = call.args;
      lib.release(state, new Float64Array(a.buffer, a.byteOffset, a.byteLength / 8));
      channel.finish(last, new Uint8Array(0));
      reply(last);
      continue;
    }
    let isCall = call.kind === CALL;
    if (call.kind === VIA_MESSAGE) {
      const mailed = await nextMail();
      isCall = mailed.call;
      call = mailed;
    }
    const area = channel.resultArea;
    const size = isCall
      ? lib.call(state, call.seq, call.chunk, call.args, call.timeout, call.cpuLimit, area)
      : lib.run(state, call.seq, call.chunk, call.name, call.args, call.timeout, call.cpuLimit, area);
    const bytes = size > area.length ? lib.result(state, size) : undefined;
    channel.finishWritten(last, size);
    if (bytes) reply({ type: "result", seq: call.seq, bytes }, [bytes.buffer as ArrayBuffer]);
    reply(last); // wakes a caller that is not spinning
  }
}

scope.onmessage = async (event) => {
  const msg = event.data;
  if (msg.type === "run") {
    mail.push(msg);
    mailWaiter?.();
    return;
  }
  try {
    await create(msg);
  } catch (err) {
    reply({ type: "failed", message: messageOf(err) });
    return;
  }
  channel = new Channel(msg.channel);
  await serve(channel);
};

reply({ type: "loaded" });
