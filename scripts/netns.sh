#!/usr/bin/env bash
# Runs a command in a private network namespace that has only loopback, so
# that tests cannot send traffic anywhere but 127.0.0.1/::1. Where a private
# namespace cannot be made (not root), the command runs as it is; onair's
# tests still bind and filter ICE to the loopback interface.
set -euo pipefail
if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
  exec unshare -n -- sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
echo "netns.sh: no private network namespace (not root); running on the host's loopback" >&2
exec "$@"
