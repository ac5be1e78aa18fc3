#!/usr/bin/env bash
# lint.sh — the C++ style gate: clang-format (no diff allowed) over every C/C++ file of ours, then
# clang-tidy (.clang-tidy; any warning fails) over cpp/: the core through the compile database of
# the CMake build in out/release (configured here if missing), the N-API glue in cpp/node (built
# by node-gyp, so no database) with the flags of binding.gyp. Needs node_modules for cpp/node;
# without it the glue is skipped, with a message. ALK_JOBS sets parallelism (default 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
JOBS=${ALK_JOBS:-2}

# vendored: llhttp's generated C
mapfile -t sources < <(git ls-files '*.cc' '*.h' '*.c' | grep -v '^cpp/node/llhttp/')
echo "clang-format: ${#sources[@]} files"
clang-format --dry-run --Werror "${sources[@]}"

[[ -f out/release/compile_commands.json ]] || cmake -S . -B out/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
echo "clang-tidy: cpp/ (out/release/compile_commands.json)"
git ls-files 'cpp/*.cc' | grep -v '^cpp/node/' | xargs -P "$JOBS" -n 4 \
  clang-tidy -p out/release -quiet --warnings-as-errors='*'

if ! napi=$(node -p "require('node-addon-api').include_dir" 2>/dev/null); then
  echo "clang-tidy: cpp/node skipped (no node_modules: run npm install first)"
  exit 0
fi
nodedir=$(dirname "$(dirname "$(command -v node)")")/include/node
echo "clang-tidy: cpp/node (flags of binding.gyp)"
# the addon target's defines, read from binding.gyp (a Python literal once its comments are gone)
mapfile -t defines < <(python3 -c '
import ast, re
gyp = ast.literal_eval(re.sub(r"(^|\s)#.*", r"\1", open("binding.gyp").read()))
for t in gyp["targets"]:
    if t["target_name"] == "alknet_docker":
        print("\n".join("-D" + d for d in t["defines"]))')
((${#defines[@]} > 0)) || { echo "lint: no defines read from binding.gyp"; exit 1; }
flags=(-x c++ -std=c++20 -Icpp "-I$napi" "-I$nodedir" "${defines[@]}")
read -ra pkg < <(pkg-config --cflags libngtcp2 libngtcp2_crypto_gnutls gnutls)
git ls-files 'cpp/node/*.cc' | xargs -P "$JOBS" -I{} \
  clang-tidy -quiet --warnings-as-errors='*' {} -- "${flags[@]}" "${pkg[@]}"
echo "lint: clean"
