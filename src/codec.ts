/**
 * Values crossing between JavaScript and Lua: the byte format of
 * csrc/lua/codec.h, both ways.
 *
 * @module
 */

/** A value that can cross from JavaScript into Lua. */
export type LuaInput =
  | undefined
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly LuaInput[]
  | { readonly [key: string]: LuaInput };

/** A value that comes back from Lua. */
export type LuaValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | LuaValue[]
  | { [key: string]: LuaValue };

const TAG_NIL = 0,
  TAG_FALSE = 1,
  TAG_TRUE = 2,
  TAG_INT = 3,
  TAG_NUM = 4,
  TAG_STR = 5,
  TAG_BYTES = 6,
  TAG_ARRAY = 7,
  TAG_MAP = 8;

/** As deep as tables may nest (CODEC_MAX_DEPTH in codec.h). */
export const MAX_DEPTH = 100;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const utf8 = new TextEncoder();
const text = new TextDecoder();

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  const name = Object.getPrototypeOf(value)?.constructor?.name;
  return name ? `a ${name}` : "an object";
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

class Writer {
  #buf = new Uint8Array(1024);
  #view = new DataView(this.#buf.buffer);
  #len = 0;
  #path: (string | number)[] = [];
  #seen = new Set<object>();
  integers = false;

  /** Starts a new list; the buffer is reused from call to call. */
  reset(integers: boolean): this {
    this.#len = 0;
    this.#seen.clear();
    this.integers = integers;
    return this;
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
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
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.#room(5 + s.length * 3);
    this.#buf[this.#len] = TAG_STR;
    const { written } = utf8.encodeInto(s, this.#buf.subarray(this.#len + 5));
    this.#view.setUint32(this.#len + 1, written, true);
    this.#len += 5 + written;
  }

  #where(): string {
    return this.#path.map((p, i) => typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`).join("");
  }

  value(v: LuaInput): void {
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
        if (v instanceof Uint8Array) return this.#bytes(TAG_BYTES, v);
        return this.#table(v);
      default:
        throw new TypeError(
          `${this.#where()}: ${typeof v === "function" ? "a function" : `a ${typeof v}`} cannot cross to Lua`,
        );
    }
  }

  #table(v: object): void {
    if (this.#seen.has(v)) throw new TypeError(`${this.#where()}: a cycle cannot cross to Lua`);
    if (this.#seen.size >= MAX_DEPTH) throw new RangeError(`${this.#where()}: nested deeper than ${MAX_DEPTH}`);
    this.#seen.add(v);
    if (Array.isArray(v)) {
      this.u8(TAG_ARRAY);
      this.u32(v.length);
      for (let i = 0; i < v.length; i++) {
        this.#path.push(i);
        this.value(v[i]);
        this.#path.pop();
      }
    } else if (isPlainObject(v)) {
      const entries = Object.entries(v).filter(([, value]) => value !== undefined);
      this.u8(TAG_MAP);
      this.u32(entries.length);
      for (const [key, value] of entries) {
        this.#path.push(key);
        this.#string(key);
        this.value(value);
        this.#path.pop();
      }
    } else {
      throw new TypeError(
        `${this.#where()}: ${describe(v)} cannot cross to Lua (only plain objects, arrays and Uint8Array)`,
      );
    }
    this.#seen.delete(v);
  }

  list(root: string, values: readonly LuaInput[]): Uint8Array {
    this.u32(values.length);
    for (let i = 0; i < values.length; i++) {
      this.#path = [root, i];
      this.value(values[i]);
    }
    return this.#buf.slice(0, this.#len);
  }
}

/**
 * Encodes a list of values. Throws a TypeError or RangeError that names
 * the path of a value that cannot cross (`args[1].b`).
 */
export function encodeList(root: string, values: readonly LuaInput[], integers: boolean): Uint8Array {
  return writer.reset(integers).list(root, values);
}

// One writer, reused: encoding is synchronous and never reentrant, and
// allocating a buffer per call costs more than the encoding (Deno).
const writer = new Writer();

/** Reads the records of csrc/lua/host.c and lists of values. */
export class Reader {
  #pos = 0;
  readonly #view: DataView;
  constructor(readonly bytes: Uint8Array, offset = 0) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#pos = offset;
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

  string(): string {
    const n = this.u32();
    const s = text.decode(this.bytes.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    return s;
  }

  value(): LuaValue {
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
      case TAG_BYTES: {
        const n = this.u32();
        const b = this.bytes.slice(this.#pos, this.#pos + n);
        this.#pos += n;
        return b;
      }
      case TAG_ARRAY: {
        const n = this.u32();
        const a: LuaValue[] = new Array(n);
        for (let i = 0; i < n; i++) a[i] = this.value();
        return a;
      }
      case TAG_MAP: {
        const n = this.u32();
        const entries: [string, LuaValue][] = new Array(n);
        for (let i = 0; i < n; i++) {
          const key = this.value();
          entries[i] = [String(key), this.value()];
        }
        return Object.fromEntries(entries); // defines keys: "__proto__" stays a key
      }
      default:
        throw new Error(`mtint: malformed value bytes (tag ${tag})`);
    }
  }

  list(): LuaValue[] {
    const n = this.u32();
    const out: LuaValue[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.value();
    return out;
  }
}

/** Decodes a list of values from `bytes`, starting at `offset`. */
export function decodeList(bytes: Uint8Array, offset = 0): LuaValue[] {
  return new Reader(bytes, offset).list();
}
