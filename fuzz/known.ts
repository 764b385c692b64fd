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
    owner: "h1",
    what: "native stack exhaustion (recursion through C functions, deep patterns or syntax) kills the process",
    matches: (kind, job) =>
      kind === "crash" &&
      has(job, "c-recursion-deep", "parser-deep", "long-pattern", "c-recursion", "coroutine-nesting"),
  },
  {
    owner: "h1",
    what:
      "code that runs with hooks off (a looping __gc, mtint.sethook handler or debug hook) defeats deadlines and close()",
    matches: (kind, job) => kind !== "wrong-value" && has(job, "gc-loop", "mtint-hook-loop", "hook-loop"),
  },
  {
    owner: "h2",
    what:
      "the sandbox's load reads a reader function unprotected: its error or yield is raised instead of load returning nil, message",
    matches: (kind, job, detail) =>
      kind === "wrong-value" && job.tags.includes("loader") && /reader|yield from outside|C-call boundary/.test(detail),
  },
  {
    owner: "issue 10 class 7 (unassigned)",
    what: "LuaJIT: after finalizers fail under a memory limit, every later call fails with 'not enough memory'",
    matches: (kind, job, detail) => kind === "unusable" && job.lua === "luajit" && /not enough memory/.test(detail),
  },
];

/** The known class that explains a finding, if any. */
export function knownClass(kind: FindingKind, job: Job, detail: string): KnownClass | undefined {
  return KNOWN.find((k) => k.matches(kind, job, detail));
}
