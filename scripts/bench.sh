#!/bin/sh
# The benchmark suite (bench/): builds what is missing, runs every section
# for every Lua version built under Deno, then under Bun, then merges both
# into bench/results/RESULTS.md, latency.svg and cpu.svg, and prints the
# tables. Extra arguments go to bench/run.ts (e.g. --quick, --versions 5.4).
# Takes about 5 minutes on 2 cores; run it on an otherwise idle machine.
set -eu
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/deno ] || [ ! -x node_modules/.bin/bun ] || [ ! -f zig-out/lib/libmtint_core.so ] ||
  [ ! -d node_modules/wasmoon ] || [ ! -d node_modules/fengari ]; then
  sh scripts/setup.sh
  [ -d node_modules/wasmoon ] && [ -d node_modules/fengari ] || npm ci --no-audit --no-fund --loglevel=error
fi

deno=node_modules/.bin/deno
bun=node_modules/.bin/bun
start=$(date +%s)

echo "== bench: Deno ($($deno --version | head -1))" >&2
$deno run --allow-ffi --allow-read --allow-env --allow-run --allow-write --v8-flags=--expose-gc bench/run.ts "$@" >/dev/null

# The drop-in module under the stock interpreters does not depend on the
# runtime: measured once, in the Deno run.
echo "== bench: Bun ($($bun --version))" >&2
$bun bench/run.ts --no-dropin "$@" >/dev/null

echo "== bench: report" >&2
$deno run --allow-read --allow-write bench/report.ts
$deno fmt -q bench/results/ # the generated files, as deno fmt --check wants them
echo "== bench: done in $(( $(date +%s) - start )) s; see bench/results/RESULTS.md" >&2
