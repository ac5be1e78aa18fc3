#!/usr/bin/env bash
# demo.sh — the README's first command: a coordinator against the local Docker daemon.
#   1. installs what it needs (scripts/install-deps.sh) and brings up dockerd + the test image;
#   2. builds alknet-docker, serves it on a temporary unix socket, and runs the C++ coordinator
#      (examples/cpp/coordinator.cc) through it;
#   3. builds the Node addon (npm install) and runs examples/coordinator.js on the in-process
#      engine, then again as a remote client over QUIC: the same server also listens on
#      quic://127.0.0.1 with mutual TLS (certificates from scripts/make-certs.sh in a temp dir).
# Each coordinator starts several containers in parallel, streams their prefixed output and
# prints the exit codes it got from the terminal events. ALK_DEMO_SKIP_NODE=1 skips step 3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
env_lines=$(scripts/docker-up.sh)
eval "$env_lines"

echo "==== building alknet-docker ===="
cmake -S . -B out/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build out/release -j "${ALK_JOBS:-2}" --target alknet-docker cpp_coordinator

sock=$(mktemp -u /tmp/alknet-demo.XXXXXX.sock)
pki=$(mktemp -d /tmp/alknet-demo-pki.XXXXXX)
scripts/make-certs.sh "$pki" >/dev/null
quic="quic://127.0.0.1:$((20000 + RANDOM % 20000))"
out/release/alknet-docker serve --listen "unix://$sock" --listen "$quic" \
  --cert "$pki/server.crt" --key "$pki/server.key" --client-ca "$pki/ca.crt" 2>"$sock.log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$sock.log" "$pki"' EXIT
for _ in $(seq 50); do grep -q "listening on quic" "$sock.log" 2>/dev/null && [[ -S $sock ]] && break; sleep 0.1; done

echo "==== C++ coordinator through alknet-docker serve (unix://$sock) ===="
out/release/examples/cpp/coordinator "unix://$sock" "$ALK_TEST_IMAGE" || echo "(a job exited non-zero, as one is meant to)"
echo "---- the server's log lines ----"
cat "$sock.log"

if [[ -z ${ALK_DEMO_SKIP_NODE:-} ]]; then
  echo "==== Node coordinator on the in-process engine ===="
  [[ -f build/Release/alknet_docker.node ]] || npm install --no-audit --no-fund
  node examples/coordinator.js "$ALK_TEST_IMAGE" || echo "(a job exited non-zero, as one is meant to)"
  echo "==== Node coordinator as a remote client: $quic (mutual TLS) ===="
  node examples/coordinator.js "$ALK_TEST_IMAGE" --server "$quic" \
    --ca "$pki/ca.crt" --cert "$pki/client-a.crt" --key "$pki/client-a.key" ||
    echo "(a job exited non-zero, as one is meant to)"
  echo "---- the server's log lines for it ----"
  grep -E "quic" "$sock.log" || true
fi
