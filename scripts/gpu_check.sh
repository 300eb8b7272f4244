#!/bin/bash
# SPDX-License-Identifier: MIT
# The checks only a real GPU can make, for the lent GPU machine of ../shared/GPU.md: the
# Vulkan tests on a real driver (validation layer on), vkattn_bench's Vulkan variants with
# GPU timestamps, and PyTorch's SDPA on the same shapes on the same GPU (bench/torch_sdpa.py).
#
#   scripts/gpu_check.sh prepare   here: Release build and the loader, validation layer and
#                                  Google Benchmark packages into gpu/ and .gl/ (git-ignored)
#   scripts/gpu_check.sh run       there, from the repository root, with gpu/ and .gl/ carried;
#                                  writes info.txt, tests.log, bench.json, bench.log, torch.json
#                                  and torch.log to $OUT
#   scripts/gpu_compare.py bench.json torch.json   here, afterwards: the ratio table
#
# Not used by the build or the tests.
set -u
mode=${1:-}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
tests=(test_vulkan test_kv_cache test_interop test_robustness test_capi test_cli)

case "$mode" in
prepare)
  set -e
  cmake --preset release >/dev/null
  cmake --build --preset release -j2
  mkdir -p gpu .gl
  cp build/vkattn build/bench/vkattn_bench gpu/
  for t in "${tests[@]}"; do cp "build/tests/$t" gpu/; done
  echo "$root/build/vkattn" >gpu/cli_path  # where test_cli was built to find the CLI
  lists=$(mktemp -d)
  mkdir -p "$lists/partial"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  apt-get "${o[@]}" update >/dev/null
  (cd .gl && apt-get "${o[@]}" download libvulkan1 libbenchmark1debian vulkan-validationlayers \
    libglvnd0 libegl1 libgl1 libglx0 libgles2 libopengl0)  # NVIDIA's ICD lives in libGLX_nvidia
  du -sh gpu .gl
  ;;
run)
  out=${OUT:?OUT names the folder whose files come back}
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  {
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv
    gpu/vkattn info
  } >"$out/info.txt" 2>&1
  cat "$out/info.txt"
  if ! grep -q '^  \[0\]' "$out/info.txt"; then
    VK_LOADER_DEBUG=error,warn,driver gpu/vkattn info 2>&1 | grep -v '^DRIVER' | head -20
    exit 1
  fi
  # test_cli runs the CLI from the path it was built at.
  cli=$(cat gpu/cli_path)
  if [ ! -e "$cli" ]; then mkdir -p "$(dirname "$cli")" && cp gpu/vkattn "$cli"; fi
  for t in "${tests[@]}"; do
    start=$SECONDS
    timeout 90 "gpu/$t" --gtest_brief=1 >>"$out/tests.log" 2>&1
    echo "$t: rc=$? in $((SECONDS - start)) s" | tee -a "$out/tests.log"
  done
  start=$SECONDS
  timeout 200 gpu/vkattn_bench --benchmark_filter=vulkan --benchmark_out="$out/bench.json" \
    --benchmark_out_format=json >"$out/bench.log" 2>&1
  echo "vkattn_bench: rc=$? in $((SECONDS - start)) s"
  start=$SECONDS
  PYTHONUNBUFFERED=1 timeout 120 python3 bench/torch_sdpa.py --out "$out/torch.json" \
    >"$out/torch.log" 2>&1
  echo "torch_sdpa.py: rc=$? in $((SECONDS - start)) s"
  grep -E 'FAILED' "$out/tests.log" | head -40
  tail -5 "$out/bench.log"
  ;;
*)
  echo "usage: $0 prepare|run" >&2
  exit 2
  ;;
esac
