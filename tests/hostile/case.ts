/**
 * The hostile catalogue's format. A case file is `tests/hostile/<class>.ts`
 * and exports `cases: HostileCase[]`; tests/hostile.test.ts runs each case
 * in a child process of its own (tests/hostile/child.ts), so that a case
 * that crashes the process is a failed test, not a lost run.
 *
 * @module
 */
import type { LuaVersion } from "../../mod.ts";

/** One hostile script (or a few of one kind), with what must hold after it. */
export interface HostileCase {
  /** Unique within its file. */
  name: string;
  /** The versions it applies to; default every version built (and selected by MTINT_TEST_LUA). */
  versions?: LuaVersion[];
  /** ms for the whole case, all versions; default 60000. */
  timeout?: number;
  /** Runs in a child process, once per version; throws (node:assert) on failure. */
  run(lua: LuaVersion): Promise<void>;
  /** A known open bug: the case is expected to fail, and the runner fails it once it passes. */
  todo?: string;
}

/** The file names of the case files, relative to this directory. */
export function isCaseFile(name: string): boolean {
  return name.endsWith(".ts") && name !== "case.ts" && name !== "child.ts";
}
