#!/usr/bin/env bash
# install-deps.sh — install the Debian packages this project builds and tests with.
# Installs only what is missing (apt-get update runs only then). Needs root.
# nodejs/npm come with the machine; Debian's node-addon-api conflicts here, npm brings it.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config
  clang clang-format clang-tidy libclang-rt-14-dev llvm
  libuv1-dev nlohmann-json3-dev node-llhttp libgnutls28-dev gnutls-bin
  libngtcp2-dev libngtcp2-crypto-gnutls-dev libcli11-dev googletest libgtest-dev
  valgrind patchelf docker.io busybox-static docker-registry
  curl iproute2 socat jq
)

missing=()
for p in "${PKGS[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=()
((EUID == 0)) || SUDO=(sudo)
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}" </dev/null
