/**
 * One fuzz job: a generated program, the worker it runs in, and what the
 * host does to the call while it runs. Jobs are made from (seed, index)
 * alone, so any job can be made again (`--seed S --only I`).
 *
 * @module
 */
import type { LuaVersion } from "../mod.ts";
import { Generator, type Node, type Profile, render, Rng, tagsOf } from "./grammar.ts";

/** Something the host does to the running call. `at` is ms after run() was called. */
export type Action =
  | { kind: "timeout"; ms: number }
  | { kind: "signal"; at: number; reason: "string" | "error" | "undefined" | "object" }
  | { kind: "interrupt"; at: number; flag?: boolean; via: "worker" | "id" }
  | { kind: "close"; at: number; grace: number }
  | { kind: "coroutine-ids"; at: number; flag?: boolean };

/** A job, as the child process receives it. */
export interface Job {
  /** "seed:index". */
  id: string;
  lua: LuaVersion;
  libs: "safe" | "full";
  memoryLimit?: number;
  /** Compared with the stock interpreter when no action cancels it. */
  diff: boolean;
  source: string;
  tags: string[];
  actions: Action[];
}

/** A job before rendering, kept for minimization. */
export interface Plan {
  job: Job;
  profile: Profile;
  nodes: Node[];
}

/** Bounds the fuzzer holds calls and closes to (stated in the README's fuzzer section). */
export const BOUNDS = {
  /** A cancelled call that resolves normally later than this after its deadline lost the interrupt. */
  lostMs: 1000,
  /** A call not settled this long after its deadline hangs. */
  hangMs: 5000,
  /** A call with no cancellation at all that takes longer than this hangs. */
  slowMs: 30000,
  /** A close must settle within 2 * grace + this. */
  closeMs: 5000,
};

/** The job `index` of run `seed`, for one of `versions`. */
export function makePlan(seed: number, index: number, versions: readonly LuaVersion[]): Plan {
  const rng = new Rng(seed, index + 1);
  const lua = versions[index % versions.length];
  const libs = rng.chance(0.5) ? "full" : "safe";
  const diff = rng.chance(0.35);
  const profile: Profile = { lua, libs, diff };
  const { nodes } = new Generator(rng, profile).program(rng.int(2, 10));
  return { job: finishJob(rng, `${seed}:${index}`, profile, nodes), profile, nodes };
}

/** The job for `nodes` (also used on a shrunk program: the same actions, freshly rendered). */
export function jobFor(base: Job, profile: Profile, nodes: Node[]): Job {
  return { ...base, source: render({ profile, nodes }), tags: [...tagsOf(nodes)] };
}

function finishJob(rng: Rng, id: string, profile: Profile, nodes: Node[]): Job {
  const tags = [...tagsOf(nodes)];
  const actions: Action[] = [];
  let memoryLimit: number | undefined;
  if (profile.diff) {
    // Big enough for everything a deterministic program allocates.
    if (rng.chance(0.3)) memoryLimit = 512 << 20;
  } else {
    memoryLimit = rng.pick([undefined, 1 << 20, 4 << 20, 16 << 20, 64 << 20, 256 << 20]);
    if (memoryLimit === undefined && tags.includes("huge")) memoryLimit = 256 << 20;
    const n = rng.int(0, 3);
    for (let i = 0; i < n; i++) actions.push(randomAction(rng));
    // A program that may not end runs under a cancellation that must win.
    const infinite = tags.includes("infinite") || tags.includes("c-recursion-deep");
    if (infinite && !actions.some((a) => a.kind === "timeout" || a.kind === "signal" || a.kind === "close")) {
      actions.push({ kind: "timeout", ms: rng.int(5, 1500) });
    }
    if (tags.includes("mtint") && rng.chance(0.5)) {
      actions.push({ kind: "coroutine-ids", at: rng.int(0, 50), flag: rng.pick([undefined, true]) });
    }
  }
  return {
    id,
    lua: profile.lua,
    libs: profile.libs,
    memoryLimit,
    diff: profile.diff,
    source: render({ profile, nodes }),
    tags,
    actions,
  };
}

function randomAction(rng: Rng): Action {
  const at = rng.pick([0, 1, rng.int(0, 20), rng.int(0, 300)]);
  switch (rng.int(0, 4)) {
    case 0:
      return { kind: "timeout", ms: rng.pick([1, rng.int(1, 50), rng.int(1, 1000)]) };
    case 1:
      return { kind: "signal", at, reason: rng.pick(["string", "error", "undefined", "object"] as const) };
    case 2:
      return {
        kind: "interrupt",
        at,
        flag: rng.pick([undefined, true, false]),
        via: rng.pick(["worker", "id"] as const),
      };
    case 3:
      return { kind: "close", at, grace: rng.pick([0, 5, 50, 500, 2000]) };
    default:
      return { kind: "interrupt", at, via: "id" };
  }
}

/** The earliest moment (ms after run()) a cancellation that Lua cannot catch fires, if any. */
export function deadlineOf(actions: readonly Action[]): number | undefined {
  let deadline: number | undefined;
  for (const a of actions) {
    const at = a.kind === "timeout" ? a.ms : a.kind === "signal" || a.kind === "close" ? a.at : undefined;
    if (at !== undefined && (deadline === undefined || at < deadline)) deadline = at;
  }
  return deadline;
}
