#!/bin/sh
# `luarocks make` of the rockspec for each of the five interpreters, each
# into its own tree, then tests/lua/mtint_test.lua against the module it
# installed; and the rockspec's sources and version against build.zig's
# and package.json's.
set -eu
cd "$(dirname "$0")/../.."
repo=$(pwd)
rockspec=$(ls mtint-*.rockspec)
if ! command -v luarocks >/dev/null; then
  echo "FAIL: luarocks missing (npm run setup installs it)" >&2
  exit 1
fi

listed() { sed -n "/^const $1 = /,/^};/p" build.zig | grep -o '"csrc/[^"]*"' | tr -d '"'; }
expected=$( (listed core_sources; listed lua_sources) | sort)
actual=$(sed -n '/sources = {/,/}/p' "$rockspec" | grep -o '"csrc/[^"]*"' | tr -d '"' | sort)
if [ "$expected" != "$actual" ]; then
  echo "FAIL: $rockspec sources differ from build.zig's core_sources + lua_sources" >&2
  exit 1
fi
version=$(sed -n 's/^ *"version": "\(.*\)",$/\1/p' package.json)
grep -q "^version = \"$version-1\"" "$rockspec" || { echo "FAIL: $rockspec is not version $version-1" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# luarocks make builds in place: a copy keeps object files out of the checkout.
mkdir "$work/src"
cp -r "$rockspec" csrc "$work/src/"
status=0
for v in 5.1 5.2 5.3 5.4 luajit; do
  interpreter="lua$v" flags="--lua-version=$v"
  if [ "$v" = luajit ]; then
    interpreter=luajit flags="--lua-version=5.1 LUA_INCDIR=/usr/include/luajit-2.1"
  fi
  tree="$work/tree-$v"
  # shellcheck disable=SC2086 # flags holds several words
  if ! (cd "$work/src" && luarocks --tree="$tree" make --deps-mode=none $rockspec $flags >"$work/log-$v" 2>&1); then
    cat "$work/log-$v" >&2
    echo "FAIL: luarocks make for $interpreter" >&2
    status=1
    continue
  fi
  lib=$(find "$tree" -name mtint.so)
  if readelf -d "$lib" | grep -qE 'NEEDED.*(liblua|mtint_core)'; then
    echo "FAIL: $lib is not one file without liblua" >&2
    status=1
  fi
  LUA_CPATH="$(dirname "$lib")/?.so" "$interpreter" tests/lua/mtint_test.lua || status=1
done
exit $status
