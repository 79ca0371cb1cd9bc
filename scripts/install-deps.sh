#!/bin/sh
# Installs the Debian/Ubuntu packages Mayfly builds and tests with, only those missing.
# tcl, tcl-tls and dpkg-dev (apt-get source) serve Redis's own test suite, tests/redis/.
set -e
PKGS="cmake make gcc clang clang-format pkg-config libuv1-dev libjemalloc-dev libhiredis-dev
libxxhash-dev libssl-dev liblzf-dev openssl liblua5.1-0-dev lua-cjson-dev redis-tools redis-server redis-sentinel
python3
tcl tcl-tls dpkg-dev"
# clang-tidy: `make tidy` (.clang-tidy, scripts/tidy.py).
PKGS="$PKGS clang-tidy"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
# The real-client tests (tests/clients, label "clients") skip themselves without these,
# so they are looked for by what they provide (node may come from elsewhere than Debian,
# with its own npm) and a failed install of them is not fatal.
optional=""
command -v node >/dev/null 2>&1 || optional="$optional nodejs"
command -v npm >/dev/null 2>&1 || optional="$optional npm"
/usr/bin/python3 -c 'import redis' >/dev/null 2>&1 || optional="$optional python3-redis"
[ -z "$missing$optional" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
if [ -n "$missing" ]; then
    echo "installing:$missing"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
if [ -n "$optional" ]; then
    echo "installing for the client tests:$optional"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        $optional || echo "could not install$optional: those client tests will be skipped"
fi
# Debian starts a redis-server service when it installs the package (the benchmarks' reference
# server); it would hold Mayfly's default port, so stop the one we just installed, never a
# server that was there before.
case " $missing " in
*" redis-server "*)
    if command -v service >/dev/null 2>&1; then
        $SUDO service redis-server stop >/dev/null 2>&1 || true
    fi
    ;;
esac
# The same for the Sentinel service redis-sentinel starts (port 26379).
case " $missing " in
*" redis-sentinel "*)
    if command -v service >/dev/null 2>&1; then
        $SUDO service redis-sentinel stop >/dev/null 2>&1 || true
    fi
    ;;
esac
