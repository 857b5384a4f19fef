#!/usr/bin/env bash
# Installs, once, what `make cross` and the cross tests need: the arm64 and
# armhf cgo toolchains, qemu-user to run their binaries, and libopus,
# PortAudio and ALSA for both architectures (Debian multiarch). It does
# nothing when everything is already installed. Usage: scripts/cross-deps.sh
set -euo pipefail

arches=(arm64 armhf)
# The C libraries' headers come with the compilers' recommended
# libc6-dev-*-cross, named here as recommends are not installed.
pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
  qemu-user-static pkg-config)
for a in "${arches[@]}"; do
  pkgs+=("libopus-dev:$a" "portaudio19-dev:$a" "libasound2-dev:$a")
done

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

native=$(dpkg --print-architecture)
foreign=$(dpkg --print-foreign-architectures)
for a in "${arches[@]}"; do
  grep -qx "$a" <<<"$foreign" || $sudo dpkg --add-architecture "$a"
done

echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# An explicit architecture list: a plain update that fails midway can leave
# a foreign architecture without its security index, and the installs then
# fail on version skew (RECIPES.md).
archopts=(-o "APT::Architectures::=$native")
for a in "${arches[@]}"; do archopts+=(-o "APT::Architectures::=$a"); done
# A mirror in the middle of a sync fails an index now and then: retry, then
# go on with what was fetched (the install fails by itself on real skew).
for try in 1 2 3; do
  $sudo apt-get "${archopts[@]}" update -q >&2 && break
  if [ "$try" -eq 3 ]; then
    echo "cross-deps: apt-get update failed 3 times; installing from the indexes fetched" >&2
  else
    echo "cross-deps: apt-get update failed; retrying in $((try * 10)) s" >&2
    sleep $((try * 10))
  fi
done
$sudo apt-get "${archopts[@]}" install -y -q --no-install-recommends "${missing[@]}" >&2
