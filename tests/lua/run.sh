#!/bin/sh
# Runs tests/lua/mtint_test.lua under each stock interpreter against the
# mtint.so built for it.
set -eu
cd "$(dirname "$0")/../.."
status=0
for v in 5.1 5.2 5.3 5.4 luajit; do
  interpreter="lua$v"
  [ "$v" = luajit ] && interpreter=luajit
  if [ ! -f "zig-out/lib/$v/mtint.so" ] || ! command -v "$interpreter" >/dev/null; then
    echo "skip: $interpreter (interpreter or zig-out/lib/$v/mtint.so missing)"
    continue
  fi
  LUA_CPATH="zig-out/lib/$v/?.so" "$interpreter" tests/lua/mtint_test.lua || status=1
done
exit $status
