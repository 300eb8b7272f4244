#!/usr/bin/env bash
# The README's two commands. On a fresh Debian 12 machine (as root, or with sudo):
#   scripts/quickstart.sh demo   install what is missing, build, run one attention call on the
#                                best Vulkan device (lavapipe without a GPU) checked against the CPU
#   scripts/quickstart.sh test   install what is missing, build, run the whole test suite, then
#                                run it again under ASan+UBSan
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in
  demo|test) ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac

# Debian packages only; nothing is downloaded at build time.
packages=(cmake g++ make pkg-config
          libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers glslang-tools spirv-tools
          clang libclang-rt-14-dev  # the "fuzz" test: libFuzzer, whose runtime is only a Recommends
          libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libfmt-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "Installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc)
# Warnings are errors (the project's gate, warning-free on Debian 12's compilers); both modes
# use the same flags so switching between them never rebuilds.
cmake --preset release -DVKATTN_WERROR=ON >/dev/null
cmake --build --preset release -j "$jobs"

if [ "$mode" = demo ]; then
  ./build/vkattn info
  ./build/vkattn demo
else
  ctest --preset release -j "$jobs"
  # The same suite again under AddressSanitizer + UndefinedBehaviorSanitizer (preset asan);
  # fuzz already runs sanitized and install does not apply to sanitized libraries.
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
  ctest --preset asan -j "$jobs" -E '^(fuzz|install)$'
fi
