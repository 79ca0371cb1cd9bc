#!/bin/sh
# Installs the pinned node clients (package-lock.json) into DIR/node_modules for the
# node_redis and ioredis client tests. Never fails: when npm is missing or the install
# fails it says why, and those tests then skip themselves. An install whose lockfile has
# not changed since the last success is kept, so `make test` does not reinstall each time.
#
#     npm_ci.sh DIR          (DIR holds the copied package.json and package-lock.json)
dir=$1
cd "$dir" || { echo "npm_ci: no directory $dir"; exit 0; }
if ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: the node client tests will be skipped (scripts/install-deps.sh installs it)"
    exit 0
fi
if [ -f node_modules/.installed-lock.json ] && cmp -s package-lock.json node_modules/.installed-lock.json; then
    echo "node clients already installed from this package-lock.json"
    exit 0
fi
echo "npm ci in $dir (npm $(npm --version), node $(node --version 2>/dev/null))"
if timeout 240 npm ci --prefer-offline --no-audit --no-fund --loglevel=error \
    --fetch-timeout=60000 --fetch-retries=1; then
    cp package-lock.json node_modules/.installed-lock.json
    echo "installed: $(ls node_modules | tr '\n' ' ')"
else
    echo "npm ci failed: the node client tests will be skipped"
    rm -rf node_modules
fi
exit 0
