/**
 * Findings of bug classes already known and owned by other work (issue
 * 10): the fuzzer still reports them, but they do not fail the run (CI).
 * Remove an entry when its class is fixed; the fuzzer then fails on it.
 *
 * @module
 */
import type { Job } from "./job.ts";

/** What the fuzzer found wrong with one job. */
export type FindingKind =
  | "crash" // the child process died by a signal or an abnormal exit
  | "hang" // a call, close or check outlived its bound
  | "lost-interrupt" // a cancelled call resolved normally after its deadline
  | "close-rejected" // close() gave up on a state that should have stopped
  | "unusable" // `return 1 + 1` failed afterwards
  | "worker-failed" // a call rejected with something other than LuaError, MtintError, TypeError
  | "wrong-value"; // a deterministic program's result differs from the stock interpreter's

/** A known class: who owns it, and which findings it explains. */
export interface KnownClass {
  owner: string;
  what: string;
  matches(kind: FindingKind, job: Job, detail: string): boolean;
}

const has = (job: Job, ...tags: string[]) => tags.some((t) => job.tags.includes(t));

/** The known classes, most specific first. */
export const KNOWN: KnownClass[] = [
  {
    owner: "documented (README: Running untrusted Lua, hooks off)",
    what:
      "a debug.sethook or mtint.sethook hook the script left in its state loops in every later call, as in stock Lua; each call is cancelled at its deadline",
    matches: (kind, job, detail) =>
      (kind === "unusable" || kind === "close-rejected") && has(job, "gc-loop", "mtint-hook-loop", "hook-loop") &&
      /timed out|did not finish closing|did not stop/.test(detail),
  },
  {
    owner: "documented (README: A crashing Lua 5.4 library is kept from crashing)",
    what:
      "Debian's 5.4.4: the Lua stack cannot grow under a __concat metamethod (concatguard.c), 'not enough memory' where stock goes on or corrupts its heap",
    matches: (kind, job, detail) =>
      kind === "wrong-value" && job.lua === "5.4" && job.tags.includes("metamethod") &&
      /not enough memory/.test(detail),
  },
];

/** The known class that explains a finding, if any. */
export function knownClass(kind: FindingKind, job: Job, detail: string): KnownClass | undefined {
  return KNOWN.find((k) => k.matches(kind, job, detail));
}
