// SPDX-License-Identifier: MIT
// The AVX2+FMA kernel build. Only the functions defined below the target pragma use AVX2;
// library headers are included first so their inline functions keep the baseline target
// (an AVX2 copy of a shared inline function could otherwise be the one the linker keeps).
// Selected at run time only when the CPU reports avx2, fma and f16c (fallback.cpp).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "cpu/fallback_kernels.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

#define VKATTN_KERNEL_NS avx2
#define VKATTN_KERNEL_NAME "avx2-fma"
#define VKATTN_KERNEL_MR 6
#define VKATTN_KERNEL_X86 1
#include "cpu/fallback_kernels.inc"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace vkattn::detail {
const FallbackKernels* fallback_kernels_avx2() noexcept {
  return &avx2::kKernels;
}
}  // namespace vkattn::detail

#else
namespace vkattn::detail {
const FallbackKernels* fallback_kernels_avx2() noexcept { return nullptr; }
}  // namespace vkattn::detail
#endif
