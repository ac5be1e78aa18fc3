#!/usr/bin/env bash
# pack-check.sh — installs the package as a user would and uses it: `npm pack`, then
# `npm install <tarball> --offline` into a fresh project with an empty HOME (no ~/.npmrc, no
# node-gyp header cache, and without this checkout's .npmrc), then one ping of the local daemon
# through the installed addon. Proves the published files build the addon offline, against the
# headers of the running node. npm's package cache is reused (node-addon-api must be in it, as
# after any `npm install` in this checkout). Needs DOCKER_HOST or the local socket.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cache=$(npm config get cache)
work=$(mktemp -d /tmp/alk-pack-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/app"

tarball=$(npm pack --silent --pack-destination "$work")
echo "pack-check: packed $tarball ($(du -k "$work/$tarball" | cut -f1) KiB)"

cd "$work/app"
echo '{"name":"pack-check","private":true}' > package.json
# A clean environment: only what a user's shell would have, plus the package cache.
env -i PATH="$PATH" HOME="$work/home" npm_config_cache="$cache" npm_config_update_notifier=false \
  ${CXX:+CXX="$CXX"} ${CC:+CC="$CC"} \
  npm install --offline --no-audit --no-fund --loglevel=error "$work/$tarball"

env -i PATH="$PATH" HOME="$work/home" ${DOCKER_HOST:+DOCKER_HOST="$DOCKER_HOST"} node -e '
  const { Engine } = require("alknet-docker");
  const engine = new Engine();
  engine.system.ping()
    .then((r) => { console.log("pack-check: installed package pinged the daemon:", JSON.stringify(r)); return engine.close(); })
    .catch((err) => { console.error("pack-check:", err); process.exit(1); });
'
