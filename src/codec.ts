/**
 * Values crossing between JavaScript and Lua: the byte format of
 * csrc/lua/codec.h, both ways.
 *
 * @module
 */
import type { LuaFunctionHandle } from "./handles.ts";
import {
  MAX_BYTES,
  MAX_DEPTH,
  MAX_VALUES,
  TAG_ARRAY,
  TAG_BYTES,
  TAG_FALSE,
  TAG_FUNC,
  TAG_INT,
  TAG_MAP,
  TAG_NIL,
  TAG_NUM,
  TAG_STR,
  TAG_TRUE,
} from "./protocol.ts";

/** A value that can cross from JavaScript into Lua. */
export type LuaInput =
  | undefined
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | LuaFunctionHandle
  | readonly LuaInput[]
  | ReadonlyMap<LuaInput, LuaInput>
  | { readonly [key: string]: LuaInput };

/** A value that comes back from Lua. A table whose keys a plain object
 * cannot hold apart (`1` and `"1"`, bytes, booleans) comes back as a Map. */
export type LuaValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | LuaFunctionHandle
  | LuaValue[]
  | Map<LuaValue, LuaValue>
  | { [key: string]: LuaValue };

/** How a function handle crosses into Lua: the main id of its state and its
 * number there; throws (a TypeError naming `path`) for a function that is
 * not a handle that can cross here. */
export type FunctionRef = (fn: unknown, path: string) => [state: number, id: number];
/** Makes the handle for a Lua function that crossed: its state's main id and its number. */
export type FunctionMaker = (state: number, id: number) => LuaFunctionHandle;

// Shorter strings are checked for ASCII and copied by hand: encodeInto
// costs about a microsecond a call in Deno.
const SHORT_STRING = 64;
// Decoding looks at the clock once per this many values.
const CLOCK_EVERY = 1 << 14;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const utf8 = new TextEncoder();
// fatal: the C side sends only valid UTF-8 as a string; ignoreBOM: a
// leading U+FEFF is part of the value.
const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
// Messages, chunk names and tracebacks are text for people, made of the
// bytes Lua had: what is not UTF-8 reads as U+FFFD.
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
// Records (messages, tracebacks) are read in the channel's shared buffer,
// where Deno's TextDecoder takes 2 µs for a short string (12-16 µs on an
// idle event loop); up to this length, ASCII is quicker read in JavaScript.
const SHORT_ASCII = 256;

/** `bytes` as a string, when they are few and all ASCII. */
function shortAscii(bytes: Uint8Array): string | undefined {
  if (bytes.length > SHORT_ASCII) return undefined;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return undefined;
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** A message for whatever was thrown; never throws itself. */
export function messageOf(err: unknown): string {
  try {
    if (err instanceof Error) {
      const message = err.message;
      if (typeof message === "string") return message;
    }
  } catch { /* a getter or a trap that throws: describe it another way */ }
  try {
    const s = String(err);
    if (typeof s === "string") return s;
  } catch { /* no usable toString */ }
  try {
    return Object.prototype.toString.call(err);
  } catch {
    return `${typeof err === "object" ? "an object" : `a ${typeof err}`} that cannot be described`;
  }
}

function describe(value: object): string {
  const name = Object.getPrototypeOf(value)?.constructor?.name;
  return typeof name === "string" && name ? `a ${name}` : "an object";
}

class Writer {
  #buf = new Uint8Array(1024);
  #view = new DataView(this.#buf.buffer);
  #len = 0;
  #path: (string | number)[] = [];
  #open: object[] = []; // the tables on the current path (cycles), at most MAX_DEPTH
  #values = 0;
  integers = false;
  functions: FunctionRef | undefined;
  busy = false;

  /** Starts a new list; the buffer is reused from call to call, unless a
   * large value left it large. */
  reset(integers: boolean, functions?: FunctionRef): this {
    if (this.#buf.length > 1 << 20) {
      this.#buf = new Uint8Array(1024);
      this.#view = new DataView(this.#buf.buffer);
    }
    this.#len = 0;
    this.#values = 0;
    this.#open.length = 0;
    this.integers = integers;
    this.functions = functions;
    return this;
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    if (this.#len + n > MAX_BYTES + 5) {
      throw new RangeError(`${this.#where()}: the value takes more than ${MAX_BYTES} bytes encoded (the limit)`);
    }
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  #count(n: number): void {
    this.#values += n;
    if (this.#values > MAX_VALUES) {
      throw new RangeError(`${this.#where()}: the value holds more than ${MAX_VALUES} values (the limit)`);
    }
  }

  u8(v: number): void {
    this.#room(1);
    this.#buf[this.#len++] = v;
  }

  u32(v: number): void {
    this.#room(4);
    this.#view.setUint32(this.#len, v, true);
    this.#len += 4;
  }

  #bytes(tag: number, bytes: Uint8Array): void {
    this.u8(tag);
    this.u32(bytes.length);
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  #string(s: string): void {
    if (!s.isWellFormed()) {
      throw new TypeError(`${this.#where()}: a string with a lone surrogate is not Unicode text and cannot cross`);
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.#room(5 + s.length * 3);
    this.#buf[this.#len] = TAG_STR;
    if (s.length <= SHORT_STRING && this.#ascii(s)) return;
    const { written } = utf8.encodeInto(s, this.#buf.subarray(this.#len + 5));
    this.#view.setUint32(this.#len + 1, written, true);
    this.#len += 5 + written;
  }

  /** Writes a short ASCII string's bytes and length; false (nothing
   * written) when it is not ASCII. */
  #ascii(s: string): boolean {
    const at = this.#len + 5;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      this.#buf[at + i] = c;
    }
    this.#view.setUint32(this.#len + 1, s.length, true);
    this.#len = at + s.length;
    return true;
  }

  #where(): string {
    return this.#path.map((p, i) => typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`).join("");
  }

  /** `read()`, with what it throws (a getter, a Proxy trap) named by the path. */
  #read<T>(read: () => T): T {
    try {
      return read();
    } catch (err) {
      throw new TypeError(`${this.#where()}: reading the value threw: ${messageOf(err)}`, { cause: err });
    }
  }

  value(v: LuaInput): void {
    this.#count(1);
    switch (typeof v) {
      case "undefined":
        return this.u8(TAG_NIL);
      case "boolean":
        return this.u8(v ? TAG_TRUE : TAG_FALSE);
      case "number":
        this.u8(TAG_NUM);
        this.#room(8);
        this.#view.setFloat64(this.#len, v, true);
        this.#len += 8;
        return;
      case "bigint":
        if (!this.integers) {
          throw new TypeError(`${this.#where()}: a bigint cannot cross to a Lua without integers (5.1, 5.2, LuaJIT)`);
        }
        if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`${this.#where()}: ${v} does not fit a Lua integer`);
        this.u8(TAG_INT);
        this.#room(8);
        this.#view.setBigInt64(this.#len, v, true);
        this.#len += 8;
        return;
      case "string":
        return this.#string(v);
      case "object":
        if (v === null) return this.u8(TAG_NIL);
        if (this.#read(() => v instanceof Uint8Array)) return this.#bytes(TAG_BYTES, v as Uint8Array);
        return this.#table(v);
      case "function":
        if (this.functions) return this.#function(v);
        throw new TypeError(`${this.#where()}: a function cannot cross to Lua (only a handle of a Lua function)`);
      default:
        throw new TypeError(`${this.#where()}: a ${typeof v} cannot cross to Lua`);
    }
  }

  #function(v: unknown): void {
    const [state, id] = this.functions!(v, this.#where());
    this.u8(TAG_FUNC);
    this.#room(16);
    this.#view.setFloat64(this.#len, state, true);
    this.#view.setFloat64(this.#len + 8, id, true);
    this.#len += 16;
  }

  #table(v: object): void {
    if (this.#open.includes(v)) throw new TypeError(`${this.#where()}: a cycle cannot cross to Lua`);
    if (this.#open.length >= MAX_DEPTH) throw new RangeError(`${this.#where()}: nested deeper than ${MAX_DEPTH}`);
    this.#open.push(v);
    const kind = this.#read(() => {
      if (Array.isArray(v)) return "array";
      if (v instanceof Map) return "map";
      const proto = Object.getPrototypeOf(v);
      return proto === Object.prototype || proto === null ? "object" : describe(v);
    });
    if (kind === "array") this.#array(v as readonly LuaInput[]);
    else if (kind === "map") this.#map(v as ReadonlyMap<LuaInput, LuaInput>);
    else if (kind === "object") this.#object(v as { readonly [key: string]: LuaInput });
    else {
      throw new TypeError(
        `${this.#where()}: ${kind} cannot cross to Lua (only plain objects, arrays, Maps and Uint8Array)`,
      );
    }
    this.#open.pop();
  }

  #array(v: readonly LuaInput[]): void {
    const n = this.#read(() => v.length);
    // A sparse array's holes count too: they cross as nil.
    if (this.#values + n > MAX_VALUES) this.#count(n);
    this.u8(TAG_ARRAY);
    this.u32(n);
    for (let i = 0; i < n; i++) {
      this.#path.push(i);
      this.value(this.#read(() => v[i]));
      this.#path.pop();
    }
  }

  #object(v: { readonly [key: string]: LuaInput }): void {
    const keys = this.#read(() => {
      if (Object.getOwnPropertySymbols(v).some((k) => Object.prototype.propertyIsEnumerable.call(v, k))) {
        throw new TypeError("a symbol key cannot cross to Lua");
      }
      return Object.keys(v);
    });
    this.u8(TAG_MAP);
    const count = this.#len;
    this.u32(0); // the entries that are not undefined, known at the end
    let n = 0;
    for (const key of keys) {
      this.#path.push(key);
      const value = this.#read(() => v[key]);
      if (value !== undefined) {
        n++;
        this.#count(1);
        this.#string(key);
        this.value(value);
      }
      this.#path.pop();
    }
    this.#view.setUint32(count, n, true);
  }

  #map(v: ReadonlyMap<LuaInput, LuaInput>): void {
    const entries = this.#read(() => [...v]).filter(([, value]) => value !== undefined && value !== null);
    this.u8(TAG_MAP);
    this.u32(entries.length);
    for (const [key, value] of entries) {
      this.#path.push(typeof key === "string" ? key : `[${typeof key === "object" ? "key" : String(key)}]`);
      if (key === undefined || key === null || Number.isNaN(key)) {
        throw new TypeError(`${this.#where()}: ${String(key)} cannot be a Lua table key`);
      }
      if ((typeof key === "object" && !(key instanceof Uint8Array)) || typeof key === "function") {
        throw new TypeError(`${this.#where()}: a table key must be a string, number, bigint, boolean or Uint8Array`);
      }
      this.value(key);
      this.value(value);
      this.#path.pop();
    }
  }

  list(root: string, values: readonly LuaInput[], lead: LuaFunctionHandle | undefined): Uint8Array {
    this.u32(values.length + (lead ? 1 : 0));
    if (lead) {
      this.#path = ["function"];
      this.value(lead);
    }
    for (let i = 0; i < values.length; i++) {
      this.#path = [root, i];
      this.value(values[i]);
    }
    return this.#buf.slice(0, this.#len);
  }
}

/**
 * Encodes a list of values. Throws a TypeError or RangeError that names
 * the path of a value that cannot cross (`args[1].b`), or of the value
 * that passes MAX_VALUES or MAX_BYTES. Functions cross only with
 * `functions` (handles of Lua functions); `lead`, a handle, goes first,
 * before the values (a handle call: csrc/lua/host.c mth_call).
 */
export function encodeList(
  root: string,
  values: readonly LuaInput[],
  integers: boolean,
  functions?: FunctionRef,
  lead?: LuaFunctionHandle,
): Uint8Array {
  // A getter or a Proxy trap may encode again while the shared writer is
  // busy (calling run() or send()): that one gets its own.
  const w = writer.busy ? new Writer() : writer;
  w.busy = true;
  try {
    return w.reset(integers, functions).list(root, values, lead);
  } finally {
    w.busy = false;
  }
}

// One writer, reused: allocating a buffer per call costs more than the
// encoding (Deno).
const writer = new Writer();

/** The name a key of a Lua table takes as a property of a plain object, or
 * undefined when it cannot be one. */
function propertyName(key: LuaValue): string | undefined {
  switch (typeof key) {
    case "string":
      return key;
    case "number":
    case "bigint":
      return String(key);
    default:
      return undefined;
  }
}

/** Reads the records of csrc/lua/host.c and lists of values. */
export class Reader {
  #pos = 0;
  #values = 0;
  readonly #view: DataView;
  readonly #deadline: number;
  readonly #functions: FunctionMaker | undefined;
  /** `deadline`: a `performance.now()` time past which decoding a value
   * stops with a TimeoutError; `functions` makes the handles of Lua
   * functions (without it, a function handle is malformed input). */
  constructor(readonly bytes: Uint8Array, offset = 0, deadline = Infinity, functions?: FunctionMaker) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#pos = offset;
    this.#deadline = deadline;
    this.#functions = functions;
  }

  get pos(): number {
    return this.#pos;
  }

  u8(): number {
    return this.#view.getUint8(this.#pos++);
  }

  u32(): number {
    const v = this.#view.getUint32(this.#pos, true);
    this.#pos += 4;
    return v;
  }

  i32(): number {
    const v = this.#view.getInt32(this.#pos, true);
    this.#pos += 4;
    return v;
  }

  /** The bytes of a length-prefixed string (a view), passed over. */
  #span(): Uint8Array {
    const n = this.u32();
    const start = this.#pos;
    this.#pos += n;
    return this.bytes.subarray(start, this.#pos);
  }

  string(): string {
    return text.decode(this.#span());
  }

  /** A string of a record (a message, a traceback): bytes that are not
   * UTF-8 read as U+FFFD. */
  text(): string {
    const bytes = this.#span();
    return shortAscii(bytes) ?? lenient.decode(bytes);
  }

  /** Passes over a string of a record without decoding it. */
  skipText(): void {
    this.#span();
  }

  #count(): void {
    if (++this.#values > MAX_VALUES) throw new RangeError(`mtint: more than ${MAX_VALUES} values in one crossing`);
    if (this.#values % CLOCK_EVERY === 0 && performance.now() > this.#deadline) {
      throw new DOMException("decoding the result passed the call's deadline", "TimeoutError");
    }
  }

  /** A count of entries, each of which takes at least one more byte. */
  #entries(): number {
    const n = this.u32();
    if (n > this.bytes.length - this.#pos) throw new Error("mtint: malformed value bytes (a count past the end)");
    return n;
  }

  value(): LuaValue {
    this.#count();
    const tag = this.u8();
    switch (tag) {
      case TAG_NIL:
        return null;
      case TAG_FALSE:
        return false;
      case TAG_TRUE:
        return true;
      case TAG_INT: {
        const i = this.#view.getBigInt64(this.#pos, true);
        this.#pos += 8;
        return i >= BigInt(Number.MIN_SAFE_INTEGER) && i <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(i) : i;
      }
      case TAG_NUM: {
        const d = this.#view.getFloat64(this.#pos, true);
        this.#pos += 8;
        return d;
      }
      case TAG_STR:
        return this.string();
      case TAG_BYTES:
        return this.#span().slice();
      case TAG_ARRAY: {
        const n = this.#entries();
        const a: LuaValue[] = new Array(n);
        for (let i = 0; i < n; i++) a[i] = this.value();
        return a;
      }
      case TAG_MAP: {
        const n = this.#entries();
        const entries: [LuaValue, LuaValue][] = new Array(n);
        const names = new Set<string>();
        let plain = true;
        for (let i = 0; i < n; i++) {
          const key = this.value();
          entries[i] = [key, this.value()];
          if (plain) {
            const name = propertyName(key);
            if (name === undefined || names.has(name)) plain = false;
            else names.add(name);
          }
        }
        // defineProperty semantics: "__proto__" stays a key
        if (plain) return Object.fromEntries(entries.map(([k, v]) => [propertyName(k)!, v]));
        return new Map(entries);
      }
      case TAG_FUNC: {
        const state = this.#view.getFloat64(this.#pos, true);
        const id = this.#view.getFloat64(this.#pos + 8, true);
        this.#pos += 16;
        if (!this.#functions) throw new Error("mtint: malformed value bytes (a function handle where none can be)");
        return this.#functions(state, id);
      }
      default:
        throw new Error(`mtint: malformed value bytes (tag ${tag})`);
    }
  }

  list(): LuaValue[] {
    const n = this.#entries();
    const out: LuaValue[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.value();
    return out;
  }
}

/** Decodes a list of values from `bytes`, starting at `offset`; see
 * {@link Reader} for `deadline` and `functions`. */
export function decodeList(
  bytes: Uint8Array,
  offset = 0,
  deadline = Infinity,
  functions?: FunctionMaker,
): LuaValue[] {
  return new Reader(bytes, offset, deadline, functions).list();
}
