#!/usr/bin/env bash
# Builds, once, the third-party channel servers the interop tests run onair
# against, from the Go module proxy, into a cache outside the repository:
#   ${ONAIR_SERVERS_CACHE:-$HOME/.cache/onair-servers}/<name>-<version>/<binary>
# A server already there is reused. Prints the path of each binary.
# Usage: scripts/servers.sh [mediamtx|go2rtc|livekit ...]
set -euo pipefail

cache="${ONAIR_SERVERS_CACHE:-$HOME/.cache/onair-servers}"
mkdir -p "$cache"

# The servers are built with their own go.mod, not the project's tags, and
# with the installed toolchain only: a newer go directive is an error.
export GOFLAGS= GOTOOLCHAIN=local

# build NAME VERSION MODULE BINARY PREPARE [PKG]: downloads MODULE@VERSION,
# copies it out of the module cache into a writable tree, runs PREPARE in it
# and builds BINARY from its main package PKG (default: the module's root).
build() {
  local name=$1 version=$2 module=$3 binary=$4 prepare=$5 pkg=${6:-.}
  local dir="$cache/$name-$version" bin="$cache/$name-$version/$binary"
  if [ -x "$bin" ]; then
    echo "$bin"
    return
  fi
  local src start
  start=$(date +%s)
  src=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$src" ] || { echo "servers: download $module@$version failed" >&2; return 1; }
  local work
  work=$(mktemp -d "$cache/.build-$name-XXXXXX")
  trap 'rm -rf "$work"' RETURN
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  (cd "$work" && $prepare && go build -trimpath -o "$work/$binary" "$pkg") >&2 ||
    { echo "servers: build $name $version failed" >&2; return 1; }
  mkdir -p "$dir"
  mv "$work/$binary" "$bin"
  echo "servers: built $name $version in $(( $(date +%s) - start ))s" >&2
  echo "$bin"
}

# MediaMTX embeds two files its go generate step writes (its version and the
# HLS player); the module zip lacks them, and the interop tests need neither.
prepare_mediamtx() {
  printf 'v1.15.3\n' > internal/core/VERSION
  printf '// placeholder: hls.js is not bundled in this build\n' > internal/servers/hls/hls.min.js
}

prepare_go2rtc() { export CGO_ENABLED=0; }

prepare_livekit() { :; }

servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(mediamtx go2rtc livekit)
for s in "${servers[@]}"; do
  case "$s" in
  mediamtx) build mediamtx v1.15.3 github.com/bluenviron/mediamtx mediamtx prepare_mediamtx ;;
  go2rtc) build go2rtc v1.9.14 github.com/AlexxIT/go2rtc go2rtc prepare_go2rtc ;;
  livekit) build livekit-server v1.13.5 github.com/livekit/livekit-server livekit-server prepare_livekit ./cmd/server ;;
  *) echo "servers: unknown server $s" >&2; exit 2 ;;
  esac
done
