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
#define VKATTN_KERNEL_MR 3
#include "cpu/fallback_kernels.inc"

namespace vkattn::detail {
const FallbackKernels& fallback_kernels_generic() noexcept {
  static constexpr FallbackKernels table{
      .name = "generic",
      .gemm = generic::gemm,
      .dot_rows = generic::dot_rows,
      .online_softmax = generic::online_softmax,
      .pack_transposed = generic::pack_transposed,
      .pack_panels = generic::pack_panels,
      .widen_f16 = generic::widen_f16,
      .widen_bf16 = generic::widen_bf16,
      .pv_rows = generic::pv_rows,
      .dot_rows_f16 = generic::dot_rows_f16,
      .pv_rows_f16 = generic::pv_rows_f16};
  return table;
}

}  // namespace vkattn::detail
