#!/bin/sh
# Runs tests/lua/mtint_test.lua under each stock interpreter against the
# mtint.so built for it, under $MTINT_LIB_DIR (default zig-out/lib).
set -eu
cd "$(dirname "$0")/../.."
lib=${MTINT_LIB_DIR:-zig-out/lib}
status=0
for v in 5.1 5.2 5.3 5.4 luajit; do
  interpreter="lua$v"
  [ "$v" = luajit ] && interpreter=luajit
  if [ ! -f "$lib/$v/mtint.so" ] || ! command -v "$interpreter" >/dev/null; then
    echo "skip: $interpreter (interpreter or $lib/$v/mtint.so missing)"
    continue
  fi
  LUA_CPATH="$lib/$v/?.so" "$interpreter" tests/lua/mtint_test.lua || status=1
done
exit $status
