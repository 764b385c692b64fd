#!/bin/sh
# The demo: the rock's examples, ported, under Deno and then Bun, on every
# Lua version built. Installs and builds what is missing first.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh >&2
echo "== Deno"
node_modules/.bin/deno run --allow-ffi --allow-read --allow-env examples/demo.ts
echo
echo "== Bun"
node_modules/.bin/bun examples/demo.ts
