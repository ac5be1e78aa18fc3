#!/usr/bin/env bash
# docker-down.sh — stop the registry and dockerd that docker-up.sh started, as its pidfiles in
# $ALK_STATE_DIR show; a daemon or registry someone else started is left alone.
# Usage: docker-down.sh [registry] [dockerd]   (default: both, registry first)
set -euo pipefail

STATE=${ALK_STATE_DIR:-/tmp/alknet-docker-state}

# stop NAME COMM — TERM the pid in $STATE/NAME.pid if it is still that program, KILL after 30 s
stop() {
  local name=$1 comm=$2 pidfile=$STATE/$1.pid pid
  if [[ ! -f $pidfile ]]; then
    echo "docker-down: $name was not started by docker-up.sh, leaving it"
    return 0
  fi
  pid=$(<"$pidfile")
  if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]]; then
    echo "docker-down: stopping $name (pid $pid)"
    kill -TERM "$pid"
    for ((i = 0; i < 120; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "docker-down: $name still running after 30 s, killing it"
      kill -KILL "$pid"
    fi
  fi
  rm -f "$pidfile"
}

(($# > 0)) || set -- registry dockerd
for name in "$@"; do
  case $name in
    registry) stop registry docker-registry ;;
    dockerd) stop dockerd dockerd ;;
    *) echo "docker-down: unknown service '$name' (registry, dockerd)" >&2; exit 2 ;;
  esac
done
