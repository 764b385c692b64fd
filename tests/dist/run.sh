#!/bin/sh
# What a user of the packages does, offline, from what `npm run dist` wrote:
# the libraries' dependencies, glibc floor and architectures; a Deno
# consumer that imports the module over HTTP from 127.0.0.1 (as JSR serves
# it), then again with --cached-only; a Bun project that `bun add`s the
# npm tarball and imports "mtint"; and the messages for a missing Lua
# runtime, an unsupported platform and a missing permission.
set -eu
cd "$(dirname "$0")/../.."
repo=$(pwd)
deno="$repo/node_modules/.bin/deno"
bun="$repo/node_modules/.bin/bun"
tgz=$(ls dist/npm/mtint-*.tgz)
work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "-- libraries: no liblua, glibc <= 2.28, the right architecture"
for f in $(find dist/jsr/native -name '*.so' | sort); do
  readelf -d "$f" | grep -q 'NEEDED.*liblua' && fail "$f needs liblua"
  newest=$(readelf -V -W "$f" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
  [ "$(printf '%s\n2.28\n' "$newest" | sort -V | tail -1)" = 2.28 ] || fail "$f needs GLIBC_$newest"
  machine=$(readelf -h "$f" | sed -n 's/ *Machine: *//p')
  case "$f" in
    */linux-arm64-*) [ "$machine" = AArch64 ] || fail "$f is $machine" ;;
    */linux-x64-*) [ "$machine" = "Advanced Micro Devices X86-64" ] || fail "$f is $machine" ;;
  esac
done
# Every Lua API call of the local build goes through lua_binding.c's stubs,
# and the drop-in stands alone.
for f in zig-out/lib/*/libmtint_lua.so; do
  und=$(readelf --dyn-syms -W "$f" | awk '$7 == "UND" { print $8 }' | grep -E '^(lua|luaL|luaJIT|luaopen)_' || true)
  [ -z "$und" ] || fail "$f calls Lua directly (add to csrc/lua/lua_api_list.h): $und"
done
for f in zig-out/lib/*/mtint.so; do
  readelf -d "$f" | grep -qE 'NEEDED.*(liblua|mtint_core)' && fail "$f is not one file without liblua"
done
echo "ok: $(find dist/jsr/native -name '*.so' | wc -l) prebuilt libraries"

echo "-- Deno: the module over HTTP, from a fresh directory"
"$deno" run --allow-net=127.0.0.1 --allow-read="$repo/dist/jsr" tests/dist/serve.ts dist/jsr >"$work/port" &
server=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
host="127.0.0.1:$port"
mkdir "$work/deno"
sed "s|MTINT_MODULE|http://$host/mod.ts|" tests/dist/consumer.ts >"$work/deno/main.ts"
sed "s|MTINT_MODULE|http://$host/mod.ts|" tests/dist/messages.ts >"$work/deno/messages.ts"
export DENO_DIR="$work/deno_dir" MTINT_CACHE_DIR="$work/cache"
perms="--allow-ffi --allow-read --allow-env --allow-import=$host --allow-net=$host --allow-write=$work/cache"
(cd "$work/deno" && "$deno" run $perms main.ts)
echo "-- the consumer type-checks against the module as served"
(cd "$work/deno" && "$deno" check --quiet --allow-import="$host" main.ts)
echo "-- three processes at once fill an empty cache; every file matches the manifest"
pids=""
for i in 1 2 3; do
  (cd "$work/deno" && MTINT_CACHE_DIR="$work/race" "$deno" run --allow-ffi --allow-read --allow-env \
    --allow-import="$host" --allow-net="$host" --allow-write="$work/race" messages.ts versions \
    >"$work/race-$i.log" 2>&1) &
  pids="$pids $!"
done
for pid in $pids; do wait "$pid"; done
for i in 1 2 3; do grep -q "no error" "$work/race-$i.log" || fail "racing process $i: $(cat "$work/race-$i.log")"; done
sed -n 's/^ *"\(linux-x64-gnu\/[^"]*\)": {$/\1/p' dist/jsr/ffi/manifest.ts >"$work/race-files"
[ -s "$work/race-files" ] || fail "no linux-x64-gnu files in the manifest"
while read -r file; do
  sum=$(sha256sum "$work/race/"*/"$file" | cut -d' ' -f1)
  grep -A3 "\"$file\"" dist/jsr/ffi/manifest.ts | grep -q "$sum" || fail "$file in the cache does not match the manifest"
done <"$work/race-files"
[ -z "$(find "$work/race" -name '*.tmp')" ] || fail "temporary files left in the cache"

echo "-- deno cache into a fresh DENO_DIR, the server stops, then --cached-only"
export DENO_DIR="$work/deno_dir2"
(cd "$work/deno" && "$deno" cache --quiet --allow-import="$host" main.ts messages.ts)
kill "$server"
server=""
(cd "$work/deno" && "$deno" run --cached-only $perms main.ts)

echo "-- messages"
check() { # name, expected text, command...
  name=$1 expected=$2
  shift 2
  out=$("$@" 2>&1) || true
  printf '%s' "$out" | grep -qF -- "$expected" || fail "$name: expected \"$expected\", got: $out"
  echo "ok: $name"
}
cd "$work/deno"
check "missing Lua runtime" "apt-get install liblua5.4-0" \
  env MTINT_LUA_5_4=/nonexistent/liblua5.4.so "$deno" run --cached-only $perms messages.ts 5.4
check "missing runtime names what it tried" "/nonexistent/liblua5.4.so (MTINT_LUA_5_4)" \
  env MTINT_LUA_5_4=/nonexistent/liblua5.4.so "$deno" run --cached-only $perms messages.ts 5.4
check "another version's runtime" "it is Lua 5.3, not Lua 5.4" \
  env MTINT_LUA_5_4=liblua5.3.so.0 "$deno" run --cached-only $perms messages.ts 5.4
check "a library that is no Lua" "it is not a Lua runtime (no lua_newstate), not Lua 5.1" \
  env MTINT_LUA_5_1=libm.so.6 "$deno" run --cached-only $perms messages.ts 5.1
check "PUC Lua 5.1 for LuaJIT" "it is Lua 5.1, not LuaJIT" \
  env MTINT_LUA_LUAJIT=liblua5.1.so.0 "$deno" run --cached-only $perms messages.ts luajit
check "missing --allow-ffi" "mtint needs --allow-ffi" \
  "$deno" run --cached-only --allow-read --allow-env --allow-import="$host" messages.ts versions
check "no --allow-net for the first download" "run Deno with --allow-net=$host" \
  env MTINT_CACHE_DIR="$work/empty-cache" "$deno" run --cached-only --allow-ffi --allow-read --allow-env \
  --allow-import="$host" messages.ts versions
check "MTINT_LIB_DIR without --allow-env" "MTINT_LIB_DIR is not read without --allow-env" \
  env MTINT_LIB_DIR=/somewhere "$deno" run --cached-only --allow-ffi --allow-read --allow-import="$host" \
  --allow-env=HOME,MTINT_CACHE_DIR,XDG_CACHE_HOME messages.ts versions
# A copy on disk without this platform's directory stands for a platform
# the release has no libraries for.
cp -r "$repo/dist/jsr" "$work/other-platform"
rm -rf "$work/other-platform/native/linux-x64-gnu"
sed "s|MTINT_MODULE|$work/other-platform/mod.ts|" "$repo/tests/dist/messages.ts" >"$work/deno/other.ts"
check "unsupported platform" "no prebuilt native libraries for this platform (linux-x64-gnu); this release has linux-arm64-gnu" \
  "$deno" run --allow-ffi --allow-read --allow-env other.ts versions

echo "-- Bun: bun add the npm tarball into a fresh project"
mkdir "$work/bun"
cd "$work/bun"
echo '{ "name": "consumer", "private": true }' >package.json
BUN_INSTALL_CACHE_DIR="$work/bun-cache" "$bun" add --silent "$repo/$tgz"
sed "s|MTINT_MODULE|mtint|" "$repo/tests/dist/consumer.ts" >main.ts
"$bun" main.ts
echo "dist: all passed"
