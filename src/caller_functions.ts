/**
 * The creator's functions that a worker's scripts call as
 * `require("host").<name>(...)`: run on the thread that created the
 * worker, their values or error sent back natively to the waiting script.
 *
 * @module
 */
import { decodeList, encodeList, type LuaInput, messageOf } from "./codec.ts";
import { AsyncLocalStorage } from "node:async_hooks";
import type { LuaFunction } from "./options.ts";
import { ANSWER_ERROR, ANSWER_VALUES } from "./protocol.ts";

const utf8 = new TextEncoder();

// Which worker's function (if any) the running JavaScript serves: a call
// on that same worker from inside it would wait for itself.
const serving = new AsyncLocalStorage<object>();

/** Throws when the running JavaScript serves a script of `worker`. */
export function checkNotServing(worker: object, what: string): void {
  if (serving.getStore() === worker) {
    throw new Error(
      `mtint: ${what}() on the LuaWorker whose script is waiting for this function would wait for itself; ` +
        "return a value instead, or use another worker",
    );
  }
}

/** One worker's functions, by index (the worker knows them by name). */
export class CallerFunctions {
  readonly #worker: object;
  readonly #functions: LuaFunction[];
  readonly #integers: boolean;

  constructor(worker: object, functions: LuaFunction[], integers: boolean) {
    this.#worker = worker;
    this.#functions = functions;
    this.#integers = integers;
  }

  /** Adds `fn`; returns its index. */
  add(fn: LuaFunction): number {
    return this.#functions.push(fn) - 1;
  }

  /** Runs function `fn` with the encoded `args` and gives the answer bytes
   * (ANSWER_VALUES and values, or ANSWER_ERROR and the message). */
  async answer(fn: number, args: Uint8Array): Promise<Uint8Array> {
    try {
      const values = decodeList(args);
      const result = await serving.run(this.#worker, () => this.#functions[fn](...values));
      const encoded = encodeList("result", result === undefined ? [] : [result as LuaInput], this.#integers);
      const answer = new Uint8Array(encoded.length + 1);
      answer[0] = ANSWER_VALUES;
      answer.set(encoded, 1);
      return answer;
    } catch (err) {
      return new Uint8Array([ANSWER_ERROR, ...utf8.encode(messageOf(err))]);
    }
  }
}
