#!/usr/bin/env bash
# docker-up.sh — bring up what the tests need; safe to run again and again:
#   1. a docker daemon: uses the one answering on $DOCKER_HOST (default /var/run/docker.sock),
#      else starts dockerd (log and pidfile under $ALK_STATE_DIR);
#   2. the test image alknet-test/busybox:latest, imported from Debian's busybox-static (never pulled);
#   3. a local registry (Debian's docker-registry) on 127.0.0.1:5000 holding a copy of that image.
# docker-down.sh stops only what this script started. Progress goes to stderr; stdout carries only
# export lines, so `eval "$(scripts/docker-up.sh)"` sets ALK_TEST_IMAGE, ALK_TEST_REGISTRY, ...
# DOCKER_HOST=unix://PATH (other than the default socket) gets a private daemon: data and exec roots
# in the state dir, no bridge network, no iptables — it can run beside the system's daemon.
set -euo pipefail

STATE=${ALK_STATE_DIR:-/tmp/alknet-docker-state}
IMAGE=alknet-test/busybox:latest
REGISTRY=127.0.0.1:5000 # dockerd trusts 127.0.0.0/8 over plain http by default
REG_IMAGE=$REGISTRY/$IMAGE
DEFAULT_SOCK=/var/run/docker.sock
mkdir -p "$STATE"

log() { echo "docker-up: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# spawn NAME CMD... — run CMD detached in its own session; pid in $STATE/NAME.pid, output in NAME.log
spawn() {
  local name=$1; shift
  # shellcheck disable=SC2016 # $$ and $@ are the inner shell's
  setsid sh -c 'echo $$ >"$0"; exec "$@"' "$STATE/$name.pid" "$@" \
    </dev/null >>"$STATE/$name.log" 2>&1 &
}

# wait_for NAME SECONDS CMD... — poll CMD until it succeeds; fail early if NAME's process died
wait_for() {
  local name=$1 secs=$2 pid; shift 2
  for ((i = 0; i < secs * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
    pid=$(cat "$STATE/$name.pid" 2>/dev/null || true)
    [[ -z $pid ]] || kill -0 "$pid" 2>/dev/null || break
  done
  tail -n 20 "$STATE/$name.log" >&2 || true
  die "$name did not come up (log: $STATE/$name.log)"
}

# --- 1. the daemon ---------------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
  log "docker daemon already answering"
else
  host=${DOCKER_HOST:-unix://$DEFAULT_SOCK}
  [[ $host == unix://* ]] || die "DOCKER_HOST=$host does not answer (only a unix-socket daemon is started here)"
  sock=${host#unix://}
  args=(-H "unix://$sock")
  own_pidfile=/var/run/docker.pid
  if [[ $sock != "$DEFAULT_SOCK" ]]; then
    own_pidfile=$STATE/dockerd/docker.pid
    args+=(--data-root "$STATE/dockerd/data" --exec-root "$STATE/dockerd/exec"
      --pidfile "$own_pidfile" --bridge none --iptables=false --ip-masq=false)
  fi
  # dockerd refuses to start while its pidfile names any live process: drop a stale one
  if [[ -f $own_pidfile && $(cat "/proc/$(<"$own_pidfile")/comm" 2>/dev/null) != dockerd ]]; then
    rm -f "$own_pidfile"
  fi
  log "starting dockerd ${args[*]} (log: $STATE/dockerd.log)"
  spawn dockerd dockerd "${args[@]}"
  wait_for dockerd 60 docker info
  log "dockerd up, pid $(<"$STATE/dockerd.pid")"
fi

# --- 2. the test image -------------------------------------------------------------------------
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE present"
else
  log "building $IMAGE from /bin/busybox (busybox-static)"
  rootfs=$(mktemp -d "$STATE/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev}
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list-full); do # e.g. bin/sh, usr/bin/env, sbin/ip
    [[ -e $rootfs/$applet ]] || ln -s /bin/busybox "$rootfs/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . |
    docker import --change 'CMD ["sh"]' - "$IMAGE" >/dev/null
  log "image $IMAGE built"
fi

# --- 3. the local registry, holding the test image -----------------------------------------------
if curl -fsS -o /dev/null "http://$REGISTRY/v2/" 2>/dev/null; then
  log "registry already answering on $REGISTRY"
else
  mkdir -p "$STATE/registry"
  cat >"$STATE/registry.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY
YML
  log "starting docker-registry on $REGISTRY (log: $STATE/registry.log)"
  spawn registry docker-registry serve "$STATE/registry.yml"
  wait_for registry 30 curl -fsS -o /dev/null "http://$REGISTRY/v2/"
  log "registry up, pid $(<"$STATE/registry.pid")"
fi

if curl -fs -o /dev/null "http://$REGISTRY/v2/alknet-test/busybox/manifests/latest" \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'; then
  log "registry already holds $REG_IMAGE"
else
  log "pushing $REG_IMAGE"
  docker tag "$IMAGE" "$REG_IMAGE"
  docker push -q "$REG_IMAGE" >&2
  # drop the local registry tag, so a test's pull of $REG_IMAGE really fetches it
  docker rmi "$REG_IMAGE" >/dev/null
fi

# --- hints for the caller ------------------------------------------------------------------------
printf 'export %s=%q\n' \
  DOCKER_HOST "${DOCKER_HOST:-unix://$DEFAULT_SOCK}" \
  ALK_TEST_IMAGE "$IMAGE" \
  ALK_TEST_REGISTRY "$REGISTRY" \
  ALK_TEST_REGISTRY_IMAGE "$REG_IMAGE" \
  ALK_STATE_DIR "$STATE"
