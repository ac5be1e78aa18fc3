#!/usr/bin/env bash
# pack-check.sh — installs the package as a user would and uses it: `npm pack`, then
# `npm install <tarball> --offline` into a fresh project with an empty HOME (no ~/.npmrc, no
# node-gyp header cache, and without this checkout's .npmrc), then one ping of the local daemon
# through the installed addon. Proves the published files build the addon offline, against the
# headers of the running node. npm's package cache is reused: the package's dependencies are put
# into it first (from the cache if there, else from the registry), so the install itself is offline.
# Needs DOCKER_HOST (and DOCKER_TLS_VERIFY / DOCKER_CERT_PATH for TLS) or the local socket.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cache=$(npm config get cache)
work=$(mktemp -d /tmp/alk-pack-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/app"

deps=$(node -p 'Object.entries(require("./package.json").dependencies ?? {}).map(([n, v]) => `${n}@${v}`).join(" ")')
# shellcheck disable=SC2086 # one word per dependency
[[ -z $deps ]] || npm cache add --prefer-offline --loglevel=error $deps
tarball=$(npm pack --silent --pack-destination "$work")
echo "pack-check: packed $tarball ($(du -k "$work/$tarball" | cut -f1) KiB)"

cd "$work/app"
echo '{"name":"pack-check","private":true}' > package.json
# A clean environment: only what a user's shell would have, plus the package cache.
env -i PATH="$PATH" HOME="$work/home" npm_config_cache="$cache" npm_config_update_notifier=false \
  ${CXX:+CXX="$CXX"} ${CC:+CC="$CC"} \
  npm install --offline --no-audit --no-fund --loglevel=error "$work/$tarball"

docker_env=()
[[ -z ${DOCKER_HOST:-} ]] || docker_env+=(DOCKER_HOST="$DOCKER_HOST")
if [[ -n ${DOCKER_TLS_VERIFY:-} ]]; then
  docker_env+=(DOCKER_TLS_VERIFY="$DOCKER_TLS_VERIFY" DOCKER_CERT_PATH="${DOCKER_CERT_PATH:-$HOME/.docker}")
fi
env -i PATH="$PATH" HOME="$work/home" "${docker_env[@]}" node -e '
  const { Engine } = require("alknet-docker");
  const engine = new Engine();
  engine.system.ping()
    .then((r) => { console.log("pack-check: installed package pinged the daemon:", JSON.stringify(r)); return engine.close(); })
    .catch((err) => { console.error("pack-check:", err); process.exit(1); });
'
