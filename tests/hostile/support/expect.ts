/**
 * What every hostile case asserts, in one place: a cancelled call rejects
 * in time, a failing call fails with the right error, and the state still
 * works afterwards. (In a subdirectory, so that the catalogue runner does
 * not take it for a case file.)
 *
 * @module
 */
import assert from "node:assert/strict";
import { LuaError, type LuaWorker, MtintError } from "../../../mod.ts";

/**
 * Slack allowed past a deadline before a cancellation counts as lost: the
 * native watchdog fires within microseconds, but CI machines are shared
 * and a child process may be descheduled for a while.
 */
export const DEADLINE_SLACK_MS = 2000;

/** The rejection of `promise`; fails if it resolves. */
export async function rejectionOf(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    const values = await promise;
    assert.fail(`${what}: resolved with ${JSON.stringify(values)}, expected a rejection`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err;
  }
}

/** What `promise` settles to; fails the test when it has not settled
 * `ms` after now (a call that no cancellation stopped). */
export async function settlesWithin<T>(promise: Promise<T>, ms: number, chunk: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new assert.AssertionError({ message: `${chunk}: still running ${ms} ms after run()` })),
      ms,
    );
  });
  return await Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Runs `chunk` with `timeout` ms and asserts it is cancelled in time; returns the ms it took. */
export async function expectCancelled(lua: LuaWorker, chunk: string, timeout = 40): Promise<number> {
  const started = performance.now();
  const err = await settlesWithin(
    rejectionOf(lua.run(chunk, { timeout, name: "hostile" }), chunk),
    timeout + DEADLINE_SLACK_MS,
    chunk,
  );
  const ms = performance.now() - started;
  assert.ok(err instanceof MtintError && err.code === "interrupted", `${chunk}: expected interrupted, got ${err}`);
  assert.equal(err.cause, "timeout", chunk);
  assert.ok(ms < timeout + DEADLINE_SLACK_MS, `${chunk}: cancelled after ${ms.toFixed(0)} ms (timeout ${timeout})`);
  return ms;
}

/** Runs `chunk` and asserts it fails with a LuaError whose message matches. */
export async function expectLuaError(
  lua: LuaWorker,
  chunk: string,
  message: RegExp,
  code = "runtime",
): Promise<LuaError> {
  const err = await rejectionOf(lua.run(chunk, { name: "hostile" }), chunk);
  assert.ok(err instanceof LuaError, `${chunk}: expected a LuaError, got ${err}`);
  assert.equal(err.code, code, `${chunk}: ${err.message}`);
  assert.match(err.message, message, chunk);
  return err;
}

/** The state still runs code, allocates, and keeps its globals. */
export async function expectUsable(lua: LuaWorker): Promise<void> {
  const [n] = await lua.run("fz_alive = (fz_alive or 0) + 1 local t = {} for i = 1, 100 do t[i] = i end return #t", {
    timeout: 5000,
  });
  assert.equal(n, 100);
}

/** close() resolves, within its grace and some slack. */
export async function expectCloses(lua: LuaWorker, grace = 2000): Promise<void> {
  const started = performance.now();
  await lua.close({ grace });
  const ms = performance.now() - started;
  assert.ok(ms < 2 * grace + DEADLINE_SLACK_MS, `close() took ${ms.toFixed(0)} ms (grace ${grace})`);
}
