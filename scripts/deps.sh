#!/usr/bin/env bash
# Installs the Debian packages onair builds and tests with, once: it does
# nothing when they are already there. Usage: scripts/deps.sh [build|test]
set -euo pipefail

build_pkgs=(gcc pkg-config libopus-dev libopusfile-dev portaudio19-dev libasound2-dev)
test_pkgs=(alsa-utils sox iproute2 util-linux chromium mosquitto systemd)

pkgs=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
command -v npm >/dev/null || [ "${1:-build}" != test ] || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >&2
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# The browser tests drive Debian's Chromium with playwright-core (never a
# downloaded browser).
if [ "${1:-build}" = test ] && [ ! -d e2e/browser/node_modules/playwright-core ]; then
  npm ci --prefix e2e/browser --no-audit --no-fund >&2
fi

# The interop tests' independent LiveKit subscriber: livekit-client in the
# same Chromium.
if [ "${1:-build}" = test ] && [ ! -d interop/browser/node_modules/livekit-client ]; then
  npm ci --prefix interop/browser --no-audit --no-fund >&2
fi
