// SPDX-License-Identifier: MIT
#pragma once

// The hot loops of the CPU fallback, behind a table of function pointers so one binary
// carries an AVX2+FMA build and a portable build and picks one at run time (no
// -march=native in anything we ship). Both builds come from the same source,
// fallback_kernels.inc, compiled twice: fallback_avx2.cpp and fallback_generic.cpp.

#include <cstddef>
#include <cstdint>

namespace vkattn::detail {

struct FallbackKernels {
  const char* name;  // "avx2-fma" or "generic"
  // c[m][n] (+)= a[m][k] · b[k][n] in f32; a and c row-major with the given row strides.
  // b is read in strips of 16 columns (the last may be 8): strip s starts at b + s·b_step,
  // with row stride ldb (b_step = 16 for plain row-major b; 16·k for the panels below).
  // n must be a multiple of 8; b and c must have n readable (writable) columns per row.
  void (*gemm)(int m, int n, int k, const float* a, std::ptrdiff_t lda, const float* b,
               std::ptrdiff_t ldb, std::ptrdiff_t b_step, float* c, std::ptrdiff_t ldc,
               bool accumulate);
  // s[r][j] = dot(q[r][0, d), k[j][0, d)) for r < m, j < n: the score block for few rows
  // (decode), reading K rows in place instead of packing Kᵀ for a handful of rows.
  // `readable`: how many rows from k on are readable memory. While on row j the kernel
  // prefetches row j + 32 if it is one of them, so a decode streams K at memory speed with
  // its misses overlapping the arithmetic (pass n to prefetch nothing past the block).
  void (*dot_rows)(int m, int n, int d, const float* q, std::ptrdiff_t ldq, const float* k,
                   std::ptrdiff_t ldk, float* s, std::ptrdiff_t lds, int readable);
  // One online-softmax step over `rows` rows of a score block s[rows][n8] (n8 a multiple of
  // 8; excluded scores are -inf): per row, m <- max s only when that exceeds m by more than
  // a slack (a lazy reference max: weights stay <= e^8), s <- exp(s - m),
  // l <- l·exp(m_old - m) + sum s, o[row][0, dvp) *= exp(m_old - m). m is thus a reference,
  // not the running max, and m + log(l) is the row's LSE. A row whose max stays -inf gets
  // all-zero weights (never NaN).
  void (*online_softmax)(float* s, std::ptrdiff_t lds, int rows, int n8, float* m, float* l,
                         float* o, std::ptrdiff_t ldo, int dvp);
  // Kᵀ in panels: for src [rows][cols], dst[r / 16][c][r % 16] = src[r][c], rows padded
  // with zeros to a multiple of 16. As a gemm b operand: ldb = 16, b_step = 16·cols.
  void (*pack_transposed)(const float* src, std::ptrdiff_t lds, int rows, int cols, float* dst);
  // V in panels: dst[c / 16][r][c % 16] = src[r][c], cols padded with zeros to a multiple of
  // 16. As a gemm b operand: ldb = 16,
  // b_step = 16·rows.
  void (*pack_panels)(const float* src, std::ptrdiff_t lds, int rows, int cols, float* dst);
  // dst[e] = src[e] widened to f32 for e < n (exact): IEEE binary16 bits (f16) or bfloat16
  // bits (bf16). Half-precision K/V rows go through these before the block products; a
  // decode step is memory-bound, so reading half the bytes is what makes f16 K/V pay.
  void (*widen_f16)(const std::uint16_t* src, std::ptrdiff_t n, float* dst);
  void (*widen_bf16)(const std::uint16_t* src, std::ptrdiff_t n, float* dst);
  // o[r][0, dv) += sum over j < nk of p[r][j] · v[j][0, dv) for r < m: the decode path's P·V
  // with V rows read in place, walked in row order. dv a multiple of 8; p readable (and 0) up
  // to the next multiple of 4 past nk. `readable` and prefetching as for dot_rows, over V.
  void (*pv_rows)(int m, int nk, int dv, const float* p, std::ptrdiff_t ldp, const float* v,
                  std::ptrdiff_t ldv, float* o, std::ptrdiff_t ldo, int readable);
  // dot_rows and pv_rows with K (V) as 16-bit values, f16 bits or (`bf16`) bfloat16 bits,
  // widened in registers: the decode path reads 16-bit K/V rows in place, streaming half the
  // bytes of f32 with no copy.
  void (*dot_rows_half)(int m, int n, int d, const float* q, std::ptrdiff_t ldq,
                        const std::uint16_t* k, bool bf16, std::ptrdiff_t ldk, float* s,
                        std::ptrdiff_t lds, int readable);
  void (*pv_rows_half)(int m, int nk, int dv, const float* p, std::ptrdiff_t ldp,
                       const std::uint16_t* v, bool bf16, std::ptrdiff_t ldv, float* o,
                       std::ptrdiff_t ldo, int readable);
};

// Each is defined in its own translation unit. The AVX2 build needs F16C as well.
[[nodiscard]] const FallbackKernels& fallback_kernels_generic() noexcept;
// nullptr when the build has no AVX2 variant (not x86-64 GCC/Clang).
[[nodiscard]] const FallbackKernels* fallback_kernels_avx2() noexcept;
// The running CPU has what the AVX2 build uses: AVX2, FMA and F16C.
[[nodiscard]] bool cpu_runs_avx2_kernels() noexcept;

}  // namespace vkattn::detail
