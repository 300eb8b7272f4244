// SPDX-License-Identifier: MIT
// The portable kernel build: GCC/Clang vector extensions lowered to whatever the baseline
// target has (SSE2 on x86-64, NEON on AArch64). Smaller register tile than the AVX2 build,
// because each 8-wide vector takes two 128-bit registers here.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "cpu/fallback_kernels.hpp"

// The 32-byte vector type never crosses a non-inlined call boundary of another build
// (everything is internal), so GCC's note that its ABI differs without AVX does not apply.
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#define VKATTN_KERNEL_NS generic
#define VKATTN_KERNEL_NAME "generic"
#define VKATTN_KERNEL_MR 3
#include "cpu/fallback_kernels.inc"

namespace vkattn::detail {
const FallbackKernels& fallback_kernels_generic() noexcept {
  return generic::kKernels;
}

}  // namespace vkattn::detail
