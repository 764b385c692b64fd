/**
 * Polling shared memory from the caller's thread without blocking it.
 *
 * An idle event loop wakes for a message, an Atomics.waitAsync notify or
 * a timer only after 25-100 µs on a small VM (timers and waitAsync
 * timeouts have a 1 ms resolution in Deno); one turn of the loop through
 * setImmediate takes 2-6 µs and lets I/O and timers run in between. So
 * where an answer is due within a few ms (a call the script makes in a
 * loop, a run just interrupted, a stack asked for) the caller polls on
 * each turn for a bounded while, and waits as before after that.
 *
 * @module
 */

const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;

/** Resolves on the event loop's next turn (after pending I/O and timers). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => immediate ? immediate(resolve) : setTimeout(resolve, 0));
}

/**
 * Calls `check` on each turn of the event loop until it returns true or
 * `ms` have passed; resolves to whether it returned true. With `spinMs`,
 * each later turn first calls it in a loop that long (the loop is blocked
 * that long at most, for an answer due within µs; not in the first turn,
 * whose microtasks may be what gives the answer).
 */
export async function pollTurns(check: () => boolean, ms: number, spinMs = 0): Promise<boolean> {
  const until = performance.now() + ms;
  for (let turn = 0;; turn++) {
    if (check()) return true;
    const now = performance.now();
    if (now >= until) return false;
    if (spinMs > 0 && turn > 0) {
      const spinUntil = Math.min(now + spinMs, until);
      while (performance.now() < spinUntil) if (check()) return true;
    }
    await nextTurn();
  }
}
