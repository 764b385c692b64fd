/**
 * The process, the same under Deno and Bun: for the scripts that run as
 * child processes or command-line tools (bench/, fuzz/, tests/hostile/).
 *
 * @module
 */

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

/** The command-line arguments after the script's path. */
export const argv: string[] = g.Deno ? g.Deno.args : g.process.argv.slice(2);

/** Ends the process with `code`. */
export function exit(code: number): never {
  if (g.Deno) g.Deno.exit(code);
  g.process.exit(code);
  throw new Error("unreachable");
}
