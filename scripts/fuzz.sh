#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/CMakeLists.txt, clang only, no Vulkan) and runs each for
# SECONDS (default 60), starting from the committed seeds and regression inputs. Exits non-zero
# on the first crash, sanitizer report or violated property; the crashing input is left in
# $VKATTN_FUZZ_BUILD/artifacts/ (default build-fuzz/). Reproduce one with:
#   build-fuzz/fuzz_npy build-fuzz/artifacts/fuzz_npy-crash-...
# usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
build=${VKATTN_FUZZ_BUILD:-build-fuzz}
cxx=${VKATTN_FUZZ_CXX:-clang++}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

cmake -S fuzz -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
cmake --build "$build" -j "${VKATTN_FUZZ_JOBS:-2}"

mkdir -p "$build/artifacts"
for target in fuzz_npy fuzz_validate; do
  # New inputs go to the first (scratch) directory only; the committed seeds and regressions
  # are read, never written.
  work="$build/corpus/$target"
  mkdir -p "$work"
  dirs=("$work" "fuzz/corpus/$target")
  [ -d "fuzz/corpus/regressions/$target" ] && dirs+=("fuzz/corpus/regressions/$target")
  dict=()
  [ -f "fuzz/${target#fuzz_}.dict" ] && dict=(-dict="fuzz/${target#fuzz_}.dict")
  echo "== $target: ${seconds}s (log: $build/$target.log)"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb (also the malloc limit): a
  # reader that allocates what a hostile header claims is a bug, reported as a crash.
  status=0
  "$build/$target" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" "${dirs[@]}" \
    >"$build/$target.log" 2>&1 || status=$?
  grep -E '^(Done|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb))' \
    "$build/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$build/$target.log" >&2
    echo "FAILED: $target exited with $status; the input is in $build/artifacts/" >&2
    exit 1
  fi
done
echo "fuzzing passed"
