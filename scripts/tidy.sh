#!/usr/bin/env bash
# Runs clang-tidy (the repo's .clang-tidy: bugprone, performance, modernize-use-override) over
# src/ and bench/, and tests/ unless TIDY_TESTS=0, from a compile_commands.json build configured without
# precompiled headers (clang cannot read GCC's .gch). Configuring is enough: the only generated
# header (vkattn_shaders.hpp) is written at configure time, and generated sources are not
# checked. Prints only findings, and exits non-zero on any (WarningsAsErrors: '*'). About 9
# minutes for everything on 2 busy cores; pass a regex to check fewer files.
# usage: scripts/tidy.sh [FILE-REGEX]   e.g. scripts/tidy.sh 'src/vulkan/'
#   VKATTN_TIDY_BUILD (default build-tidy), VKATTN_TIDY_JOBS (default 2), CLANG_TIDY
set -euo pipefail
cd "$(dirname "$0")/.."

build=${VKATTN_TIDY_BUILD:-build-tidy}
jobs=${VKATTN_TIDY_JOBS:-2}
tidy=${CLANG_TIDY:-$(command -v clang-tidy-14 || command -v clang-tidy)}
dirs='(src|bench)/'
[ "${TIDY_TESTS:-1}" = 1 ] && dirs='(src|bench|tests)/'
regex=${1:-"$PWD/$dirs.*\\.(c|cpp)\$"}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON >/dev/null

# C sources (the C API test) are checked as C: clang-tidy reads the flags from the database.
# The filter drops what a clean file prints anyway: the command line run-clang-tidy echoes and
# clang's count of (suppressed) warnings in system headers.
quiet() { grep -v -E '^([0-9]+ warnings? generated\.|.*clang-tidy[-0-9]* .*-p=)' || true; }
if command -v run-clang-tidy >/dev/null; then
  run-clang-tidy -quiet -clang-tidy-binary "$tidy" -p "$build" -j "$jobs" "$regex" 2>&1 | quiet
  exit "${PIPESTATUS[0]}"
else
  mapfile -t files < <(python3 -c 'import json,re,sys
for e in json.load(open(sys.argv[1])):
    if re.search(sys.argv[2], e["file"]): print(e["file"])' "$build/compile_commands.json" "$regex")
  status=0
  for f in "${files[@]}"; do
    out=$("$tidy" -quiet -p "$build" "$f" 2>&1) || status=1
    printf '%s\n' "$out" | quiet
  done
  exit $status
fi
