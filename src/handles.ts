/**
 * Lua functions in JavaScript: a Lua function in the result of `run` or
 * `call` comes back as a callable handle (csrc/lua/handles.h is the other
 * half). A handle names an entry in its state's table of handles by the
 * state's main id and a number that state never reuses, so it reaches that
 * function in that state only: a handle of another worker, or of a state
 * since reset or closed, is refused on both sides.
 *
 * @module
 */
import type { FunctionMaker, FunctionRef, LuaInput, LuaValue } from "./codec.ts";

export { MAX_HANDLES } from "./protocol.ts";

/**
 * A Lua function, callable from JavaScript: `await f(1, 2)` calls it in its
 * worker's state, queued with the worker's other calls, and resolves to its
 * return values. For a timeout, a signal or a CPU limit, call it through
 * `lua.call(f, { args, timeout, signal })`.
 */
export interface LuaFunctionHandle {
  (...args: LuaInput[]): Promise<LuaValue[]>;
  /** Lets the state forget the function (it may be collected there); calling the handle afterwards is a TypeError. */
  release(): void;
  /** Whether the handle was released, or its state reset or closed. */
  readonly released: boolean;
}

/** What a handle needs from the LuaWorker it came from. */
export interface HandleOwner {
  /** The main id of the state a call made now runs on; -1 while a reset is queued (a new state is coming). */
  stateId(): number;
  /** Whether the worker is closed (or failed). */
  closed(): boolean;
  /** A handle of the state was made (decoding a result). */
  madeHandle(): void;
  /** Calls handle `fn` with `args` (as `lua.call(fn, { args })`). */
  callHandle(fn: LuaFunctionHandle, args: LuaInput[]): Promise<LuaValue[]>;
  /** The state `state` may forget handle `id` (batched, between calls). */
  dropHandle(state: number, id: number): void;
}

interface HandleRecord {
  owner: HandleOwner;
  state: number;
  id: number;
  released: boolean;
}

const records = new WeakMap<object, HandleRecord>();
// A handle JavaScript no longer holds is released in its state.
const unreachable = new FinalizationRegistry<HandleRecord>((record) => release(record));

function release(record: HandleRecord): void {
  if (record.released) return;
  record.released = true;
  record.owner.dropHandle(record.state, record.id);
}

/** Why `record`'s handle cannot be called or cross into `owner`'s state, or undefined when it can. */
function unusable(record: HandleRecord, owner: HandleOwner): string | undefined {
  if (record.owner !== owner) return "belongs to another LuaWorker (a handle works only in the worker it came from)";
  if (record.released) return "was released";
  if (owner.closed()) return "belongs to a LuaWorker that is closed";
  if (record.state !== owner.stateId()) return "belongs to a Lua state that was reset";
  return undefined;
}

// What every handle has besides being callable, shared (defining them on
// each handle costs several times more).
const handleMethods = Object.create(Function.prototype, {
  release: {
    value(this: LuaFunctionHandle): void {
      const record = records.get(this);
      if (record === undefined) return;
      unreachable.unregister(record);
      release(record);
    },
  },
  released: {
    get(this: LuaFunctionHandle): boolean {
      const record = records.get(this);
      return record === undefined || record.released || record.state !== record.owner.stateId() ||
        record.owner.closed();
    },
  },
});

/** The handle maker for results of `owner`'s calls (see codec.ts). */
export function handleMaker(owner: HandleOwner): FunctionMaker {
  return (state, id) => {
    const record: HandleRecord = { owner, state, id, released: false };
    const handle = ((...args: LuaInput[]) => owner.callHandle(handle, args)) as LuaFunctionHandle;
    Object.setPrototypeOf(handle, handleMethods);
    records.set(handle, record);
    unreachable.register(handle, record, record);
    owner.madeHandle();
    return handle;
  };
}

/** How handles cross into `owner`'s state (see codec.ts): its own live handles only. */
export function handleRef(owner: HandleOwner): FunctionRef {
  return (fn, path) => {
    const record = typeof fn === "function" ? records.get(fn) : undefined;
    if (record === undefined) {
      throw new TypeError(`${path}: a function cannot cross to Lua (only a handle of a Lua function)`);
    }
    const why = unusable(record, owner);
    if (why) throw new TypeError(`${path}: the function handle ${why}`);
    return [record.state, record.id];
  };
}

/** Whether `fn` is a function handle; throws a TypeError saying why it cannot be called on `owner`. */
export function checkHandle(fn: unknown, owner: HandleOwner): fn is LuaFunctionHandle {
  const record = typeof fn === "function" ? records.get(fn) : undefined;
  if (record === undefined) return false;
  const why = unusable(record, owner);
  if (why) throw new TypeError(`the function handle ${why}`);
  return true;
}
