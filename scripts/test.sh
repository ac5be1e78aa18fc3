#!/usr/bin/env bash
# test.sh — THE test command. In order, stopping at the first failure:
#   deps    scripts/install-deps.sh (Debian packages)
#   docker  scripts/docker-up.sh (daemon, test image, local registry; exports ALK_TEST_*)
#   build   RelWithDebInfo build in out/release/ + ctest
#   asan    the same under ASan+UBSan (-DALK_SANITIZE=ON) in out/asan/ + ctest
#   valgrind out/release's unit and docker tests under memcheck (uninitialised reads, which ASan
#           does not see; leaks); the netem test is left out (long, and covered above)
#   fuzz    clang libFuzzer build in out/fuzz/ (-DALK_FUZZ=ON); each fuzz_* runs
#           ALK_FUZZ_SECONDS (default 20) from its seeds in test/fuzz/corpus/<name>
#   js      npm install + npm test, when package.json exists
#   lint    scripts/lint.sh: clang-format (no diff) and clang-tidy (no warning) over the C++
#   pack    scripts/pack-check.sh: npm pack, an offline install of the tarball in a fresh
#           project with an empty HOME, and one ping through the installed addon
#   js-asan the JS suite again, on an ASan+UBSan build of the addon in out/addon-asan/
#           (scripts/js-asan.sh: node preloads the sanitizer runtimes; leaks are checked in node)
# Skip a step with ALK_SKIP_<STEP>=1, '-' as '_' (ALK_SKIP_ASAN=1 ALK_SKIP_JS_ASAN=1 ...).
# On exit, the dockerd/registry that this run started are stopped, unless ALK_KEEP_DAEMON is set.
# ALK_JOBS sets build parallelism (default 2); CTEST_PARALLEL_LEVEL is honoured by ctest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export ALK_STATE_DIR=${ALK_STATE_DIR:-/tmp/alknet-docker-state}
JOBS=${ALK_JOBS:-2}
FUZZ_SECONDS=${ALK_FUZZ_SECONDS:-20}
STEP=setup
# for the sanitizer builds and the fuzzers (plain builds ignore them)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
START=$SECONDS

step() { # step NAME — banner; returns 1 (skip) when ALK_SKIP_<NAME> is set
  STEP=$1
  local skip="ALK_SKIP_${1^^}"
  skip=${skip//-/_}
  if [[ -n ${!skip:-} ]]; then
    printf '\n==== %s: skipped (%s) ====\n' "$1" "$skip"
    return 1
  fi
  printf '\n==== %s  [%ds] ====\n' "$1" $((SECONDS - START))
}

# which of docker-up's services are not running now: those this run may start, and so stop
started_here=()
for svc in registry dockerd; do
  pid=$(cat "$ALK_STATE_DIR/$svc.pid" 2>/dev/null || true)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || started_here+=("$svc")
done

on_exit() {
  local rc=$?
  if ((rc != 0)); then
    printf '\n==== FAILED in step %s (exit %d) after %ds ====\n' "$STEP" "$rc" $((SECONDS - START))
  else
    printf '\n==== all steps passed in %ds ====\n' $((SECONDS - START))
  fi
  if [[ -z ${ALK_KEEP_DAEMON:-} && ${#started_here[@]} -gt 0 ]]; then
    scripts/docker-down.sh "${started_here[@]}" || true
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

build_and_ctest() { # build_and_ctest DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@"
  cmake --build "$dir" -j "$JOBS"
  ctest --test-dir "$dir" --output-on-failure
}

if step deps; then
  scripts/install-deps.sh
fi

if step docker; then
  hints=$(scripts/docker-up.sh) # not eval "$(...)": that would hide a failure
  echo "$hints"
  eval "$hints"
fi

if step build; then
  build_and_ctest out/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi

if step asan; then
  build_and_ctest out/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALK_SANITIZE=ON
fi

if step valgrind; then
  if [[ ! -x out/release/unit_tests ]]; then
    echo "no out/release/unit_tests: run the build step first" >&2
    exit 1
  fi
  memcheck=(valgrind -q --error-exitcode=99 --leak-check=full
    '--errors-for-leak-kinds=definite,indirect')
  "${memcheck[@]}" out/release/unit_tests
  "${memcheck[@]}" out/release/docker_tests --gtest_filter='-QuicNetemTest.*'
fi

if step fuzz; then
  if ! command -v clang++ >/dev/null; then
    echo "no clang++: fuzzers not built"
  else
    cmake -S . -B out/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DALK_FUZZ=ON
    cmake --build out/fuzz -j "$JOBS"
    mapfile -t fuzzers < <(find out/fuzz -maxdepth 1 -type f -executable -name 'fuzz_*' | sort)
    ((${#fuzzers[@]} > 0)) || echo "no fuzz_* executables in out/fuzz/"
    for fuzzer in "${fuzzers[@]}"; do
      name=$(basename "$fuzzer")
      seeds=test/fuzz/corpus/${name#fuzz_}
      work=out/fuzz/corpus/$name # libFuzzer adds new inputs to the first dir: keep seeds clean
      mkdir -p "$work" out/fuzz/artifacts
      dirs=("$work")
      [[ -d $seeds ]] && dirs+=("$seeds")
      echo "---- $name: ${FUZZ_SECONDS}s, corpus ${dirs[*]}"
      "$fuzzer" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
        -artifact_prefix="out/fuzz/artifacts/$name-" "${dirs[@]}"
    done
  fi
fi

if step js; then
  if [[ ! -f package.json ]]; then
    echo "no package.json: no JS tests"
  else
    # node-gyp builds the addon against the installed node headers, never a download
    if [[ -z ${npm_config_nodedir:-} && -f /usr/include/node/node_api.h ]]; then
      export npm_config_nodedir=/usr
    fi
    npm install --no-audit --no-fund
    npm test
  fi
fi

if step lint; then
  scripts/lint.sh
fi

if step pack; then
  if [[ ! -f package.json ]]; then
    echo "no package.json: nothing to pack"
  else
    scripts/pack-check.sh
  fi
fi

if step js-asan; then
  if [[ ! -f package.json ]]; then
    echo "no package.json: no JS tests"
  else
    scripts/js-asan.sh
  fi
fi
