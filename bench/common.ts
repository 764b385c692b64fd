/**
 * The parts of the benchmark suite that need no native library: the result
 * records, statistics, formatting, the program list. bench/report.ts uses
 * only these.
 *
 * @module
 */

/** A target a figure is held to. */
export interface Target {
  /** "le": value ≤ limit; "ge": value ≥ limit. */
  op: "le" | "ge";
  limit: number;
  /** As the issue words it, e.g. "≤ 3 µs". */
  text: string;
}

/** One printed number. */
export interface Figure {
  /** Section key, e.g. "latency". */
  section: string;
  /** What is measured, e.g. "interrupt(id) → hook fires". */
  name: string;
  /** "p50", "p99", "median", "ratio", "mean"... */
  stat: string;
  /** The Lua version ("5.1"... "luajit", "luajit+jit") or "-" when none applies. */
  version: string;
  value: number;
  /** "ns", "µs", "ms", "s", "B", "MB", "×", "" */
  unit: string;
  /** How many samples or calls the value comes from. */
  n?: number;
  target?: Target;
  /** A figure the rock reached, for comparison (text). */
  rock?: string;
  note?: string;
}

/** Everything one runtime's run produced. */
export interface Results {
  runtime: "deno" | "bun";
  runtimeVersion: string;
  date: string;
  command: string;
  machine: Machine;
  engines: Record<string, string>;
  figures: Figure[];
  /** Raw latency samples in ns, for the picture: key "hook:5.4" etc. */
  samples: Record<string, number[]>;
  /** Absolute times of the CPU programs (s), for the tables: key "prog:side:version". */
  times: Record<string, number>;
  seconds: number;
  notes: string[];
}

/** Where the process runs. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGB: number;
  kernel: string;
  os: string;
  loadBefore: number[];
  /** Load average when the run ended: a busy machine shows here. */
  loadAfter?: number[];
}

/** The q-quantile (0..1) of `xs`, nearest rank on the sorted copy. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

/** p50 and p99 figures of one latency sample set (values in ns, printed in `unit`). */
export function percentiles(
  base: Omit<Figure, "stat" | "value" | "n" | "target" | "rock">,
  samplesNs: readonly number[],
  targets: { p50?: Target; p99?: Target; rock50?: string; rock99?: string } = {},
): Figure[] {
  const scale = base.unit === "µs" ? 1e3 : base.unit === "ms" ? 1e6 : 1;
  return [
    {
      ...base,
      stat: "p50",
      value: quantile(samplesNs, 0.5) / scale,
      n: samplesNs.length,
      target: targets.p50,
      rock: targets.rock50,
    },
    {
      ...base,
      stat: "p99",
      value: quantile(samplesNs, 0.99) / scale,
      n: samplesNs.length,
      target: targets.p99,
      rock: targets.rock99,
    },
  ];
}

/** Formats a value for the tables. */
export function fmt(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "n/a";
  if (Number.isInteger(value)) return `${value}${unit ? (unit === "×" ? "×" : " " + unit) : ""}`;
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return `${value.toFixed(digits)}${unit ? (unit === "×" ? "×" : " " + unit) : ""}`;
}

/** Whether a value meets its target. */
export function meets(value: number, target: Target): boolean {
  return target.op === "le" ? value <= target.limit : value >= target.limit;
}

/** The CPU-bound programs of bench/programs/. */
export const PROGRAMS = ["loop", "fib", "strings", "tables", "patterns"] as const;
export const PROGRAM_TEXT: Record<string, string> = {
  loop: "numeric loop",
  fib: "recursive fib",
  strings: "string building",
  tables: "table churn",
  patterns: "patterns and sort",
};
