#!/usr/bin/env bash
# js-asan.sh — the JS suite (test/js) on an ASan+UBSan build of the Node addon.
#   scripts/js-asan.sh [test files...]      (default: every test/js/*.test.js)
#
# Builds the addon with gcc -fsanitize=address,undefined into out/addon-asan/ — node-gyp run in a
# directory whose binding.gyp and cpp/ link to the checkout, so build/ (what `npm test` loads)
# stays untouched — and runs `node --expose-gc --test` with ALKNET_DOCKER_ADDON naming that build.
# Node itself is not instrumented, and ASan's runtime must be loaded before libc: the suite runs on
# out/addon-asan/bin/node, a copy of node whose first DT_NEEDED entries are gcc's libasan and
# libubsan (patchelf). Tests start child nodes with process.execPath, so they get the runtimes as
# well, while the other tools they run (bash, certtool, nm, the alknet-docker server) stay
# untouched — an LD_PRELOAD would reach them too, and they leak at exit (not our leaks), or, like
# certtool, deadlock. Leaks are checked; the few V8-internal blocks that process.exit() leaves are
# suppressed by scripts/js-asan.supp, whose rules cannot match an allocation of the addon. Any
# sanitizer report fails the run.
# ALK_JOBS sets build parallelism (default 2). Needs gcc, patchelf, node-gyp (npm install) and
# the daemon.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
out=$root/out/addon-asan

mkdir -p "$out"
ln -sfn ../../binding.gyp "$out/binding.gyp"
ln -sfn ../../cpp "$out/cpp"

# node-gyp builds against the installed node headers, never a download
if [[ -z ${npm_config_nodedir:-} && -f /usr/include/node/node_api.h ]]; then
  export npm_config_nodedir=/usr
fi
for tool in gcc patchelf; do
  command -v "$tool" >/dev/null || {
    echo "js-asan: $tool not found (scripts/install-deps.sh installs it)" >&2
    exit 1
  }
done
[[ -x node_modules/.bin/node-gyp ]] || npm install --no-audit --no-fund --ignore-scripts
gyp=$root/node_modules/.bin/node-gyp

soname() { # soname LIB — the SONAME of gcc's LIB (libasan.so → libasan.so.8)
  patchelf --print-soname "$(readlink -f "$(gcc -print-file-name="$1")")"
}

# gcc, since the runtimes loaded below are gcc's; -O1 keeps the build and the run fast enough.
# The Makefile records each command line, so a change of flags rebuilds what it must.
sanitize=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
export CC=gcc CXX=g++
if command -v ccache >/dev/null; then
  export CC="ccache gcc" CXX="ccache g++" CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root} CCACHE_NOHASHDIR=1
fi
export CFLAGS="${sanitize[*]} -O1 -g1" CXXFLAGS="${sanitize[*]} -O1 -g1" LDFLAGS="-fsanitize=address,undefined"
(cd "$out" && "$gyp" configure --loglevel=warn && "$gyp" build --loglevel=warn --jobs="${ALK_JOBS:-2}")
addon=$out/build/Release/alknet_docker.node

if (($# == 0)); then
  set -- test/js/*.test.js
fi
# the node to run: rebuilt when the installed node changes
node_bin=$(command -v node)
asan_node=$out/bin/node
if [[ ! -x $asan_node || $node_bin -nt $asan_node ]]; then
  mkdir -p "$out/bin"
  cp "$node_bin" "$asan_node.tmp"
  # --add-needed puts its entries first; the last one given comes first
  patchelf --add-needed "$(soname libubsan.so)" --add-needed "$(soname libasan.so)" "$asan_node.tmp"
  mv "$asan_node.tmp" "$asan_node"
fi

export ASAN_OPTIONS="detect_leaks=1"
export LSAN_OPTIONS="suppressions=$root/scripts/js-asan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ALKNET_DOCKER_ADDON=$addon
# RSS ceilings mean nothing with ASan's quarantine holding freed memory: tests measure JS's share.
export ALK_SANITIZED=1

# LeakSanitizer's own stop-the-world tracer can crash at exit ("Tracer caught signal 11", in
# ScanRangeForPointers on a range near address 0: google/sanitizers#1353, gcc 12's runtime; once
# in about 45 runs of quic.test.js here) — then no leak check ran and the file fails although
# each of its tests passed. tracer_crash_only LOG prints the test files whose only failure was
# that crash, and fails when any other test or file failed: only then are those files run once
# more, and that run decides.
tracer_crash_only() {
  awk '
    /^(not )?ok [0-9]+ - / {
      if ($1 == "not") {
        file = $0; sub(/^not ok [0-9]+ - /, "", file)
        if (file ~ /\.test\.js$/ && crash && !other) print file; else bad = 1
      }
      crash = other = 0; next
    }
    /Tracer caught signal/ { crash = 1 }
    /ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error:/ { other = 1 }
    END { exit bad }
  ' "$1"
}

log=$out/last-run.log
rc=0
"$asan_node" --expose-gc --test --test-concurrency=1 "$@" 2>&1 | tee "$log" || rc=$?
if ((rc != 0)) && crashed=$(tracer_crash_only "$log") && [[ -n $crashed ]]; then
  mapfile -t crashed <<<"$crashed"
  echo "js-asan: LeakSanitizer's tracer crashed at the exit of ${crashed[*]}: once more" >&2
  "$asan_node" --expose-gc --test --test-concurrency=1 "${crashed[@]}"
  exit
fi
exit "$rc"
