#!/bin/sh
# Installs the Debian/Ubuntu packages Mayfly builds and tests with, only those missing.
set -e
PKGS="cmake make gcc clang pkg-config libuv1-dev libjemalloc-dev libhiredis-dev
libxxhash-dev redis-tools redis-server python3"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
# Debian starts a redis-server service on install; Mayfly's default port is the same.
if command -v service >/dev/null 2>&1; then $SUDO service redis-server stop >/dev/null 2>&1 || true; fi
