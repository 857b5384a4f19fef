#!/usr/bin/env bash
# Builds the onair .deb for one architecture from a built binary, with
# dpkg-deb from a staged tree (no other tool needed):
#   /usr/bin/onair                      0755
#   /lib/systemd/system/onair.service   0644 (neither enabled nor started)
#   /etc/onair/config.yaml              conffile, 0640 root:onair (postinst)
# and the maintainer scripts in packaging/debian. Prints the .deb's path.
#
# Usage: packaging/build-deb.sh --arch arm64|armhf|amd64 --bin dist/onair-linux-arm64 \
#          --version 1.2.0 [--out dist] [--config config.yaml]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
arch="" bin="" version="" out="dist" config="$repo/config.yaml"

usage() { sed -n '/^# Usage:/,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0" >&2; exit 64; }
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=${2:?}; shift 2 ;;
    --bin) bin=${2:?}; shift 2 ;;
    --version) version=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --config) config=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "build-deb: unknown argument $1" >&2; usage ;;
  esac
done
case "$arch" in
  arm64|armhf|amd64) ;;
  *) echo "build-deb: --arch must be arm64, armhf or amd64" >&2; usage ;;
esac
{ [ -n "$bin" ] && [ -n "$version" ]; } || usage
[ -f "$bin" ] || { echo "build-deb: no binary $bin" >&2; exit 1; }
[ -f "$config" ] || { echo "build-deb: no config $config" >&2; exit 1; }

# A Debian version from `git describe --tags --always --dirty`:
# v1.2.0 → 1.2.0, v1.2.0-3-gabc123-dirty → 1.2.0+3.gabc123.dirty, and a
# bare commit (no tag yet) 807ffd8-dirty → 0.0~git807ffd8+dirty, which
# sorts before any release.
debversion() {
  local v=${1#v}
  [[ $v =~ ^[0-9]+\.[0-9] ]] || v="0.0~git$v"
  v=${v/-/+}
  printf '%s\n' "${v//-/.}"
}
version=$(debversion "$version")

umask 022
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage" # the package's ./, which is /
install -D -m 0755 "$bin" "$stage/usr/bin/onair"
install -D -m 0644 "$repo/systemd/onair.service" "$stage/lib/systemd/system/onair.service"
install -D -m 0640 "$config" "$stage/etc/onair/config.yaml"
install -d -m 0755 "$stage/DEBIAN"
install -m 0755 "$here/debian/postinst" "$here/debian/prerm" "$here/debian/postrm" "$stage/DEBIAN/"
echo /etc/onair/config.yaml >"$stage/DEBIAN/conffiles"
cat >"$stage/DEBIAN/control" <<CONTROL
Package: onair
Version: $version
Architecture: $arch
Maintainer: onair developers <onair@onair.dev>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: libc6 (>= 2.34), libopus0, libportaudio2, libasound2
Section: sound
Priority: optional
Homepage: https://github.com/onair-dev/onair
Description: headless live-audio broadcaster for Raspberry Pi-class boards
 onair captures an ALSA/USB microphone, encodes Opus and publishes it into
 a named channel over WebRTC with WHIP (RFC 9725), or plays a channel as
 an audience with WHEP. It runs unattended as a systemd service driven by
 its MQTT device agent, and embeds a channel server (relay).
 .
 The service is installed but not enabled: configure /etc/onair/config.yaml,
 then run systemctl enable --now onair.
CONTROL

mkdir -p "$out"
deb="$out/onair_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2
echo "$deb"
