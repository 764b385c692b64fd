/**
 * Why a call was cancelled. The main thread records the cause when it asks
 * for the cancellation (a signal aborts, close() stops the running call),
 * so the result need not say it; the native watchdog cancels for the
 * deadlines it enforces itself (timeout, cpuLimit), and the result says so.
 *
 * @module
 */

/** A cancellation's `cause` (the error's `cause`) and the detail of its message. */
export interface Cancellation {
  cause: unknown;
  detail: string;
}

/** The call's signal aborted with `reason`. */
export function aborted(reason: unknown): Cancellation {
  return { cause: reason, detail: "aborted" };
}

/** close() stopped the call. */
export const CLOSED: Cancellation = { cause: "close", detail: "the LuaWorker closed" };

/** The watchdog stopped the call at its deadline: `timeout` ms of running. */
export function timedOut(timeout: number, during = ""): Cancellation {
  return { cause: "timeout", detail: `timed out after ${timeout} ms${during}` };
}

/** The watchdog stopped the call once it used `cpuLimit` ms of CPU time. */
export function cpuLimited(cpuLimit: number): Cancellation {
  return { cause: "cpuLimit", detail: `used its CPU time limit of ${cpuLimit} ms` };
}
