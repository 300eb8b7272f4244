// SPDX-License-Identifier: MIT
#pragma once

// Conversions between the storage types and float, and strided element access, shared by
// the CPU paths and the Vulkan upload/download code.

#include <cstddef>
#include <cstdint>

#include "vkattn/types.hpp"

namespace vkattn::detail {

[[nodiscard]] float half_to_float(std::uint16_t bits) noexcept;
// Round to nearest even; overflow gives +-inf, NaN stays NaN.
[[nodiscard]] std::uint16_t float_to_half(float value) noexcept;
[[nodiscard]] float bf16_to_float(std::uint16_t bits) noexcept;
// Round to nearest even; NaN stays NaN.
[[nodiscard]] std::uint16_t float_to_bf16(float value) noexcept;

// Element `index` (in elements) of an array of `type`, as float. For boolean: 1 or 0.
[[nodiscard]] float load_as_float(const void* base, DType type, std::size_t index) noexcept;
// Stores `value` rounded to `type` at element `index`. Not for boolean.
void store_from_float(void* base, DType type, std::size_t index, float value) noexcept;
// n elements of `type` at base[offset], base[offset + stride], ... as floats into dst; unit
// strides copy (f32) or convert in a vectorised loop.
void load_row(const void* base, DType type, std::size_t offset, std::int64_t stride,
              std::int64_t n, float* dst) noexcept;
// The inverse: n floats rounded to `type` into base[offset + e·stride]. Not for boolean.
void store_row(void* base, DType type, std::size_t offset, std::int64_t stride, std::int64_t n,
               const float* src) noexcept;
// `value` rounded to `type` and back (identity for f32).
[[nodiscard]] float round_to(DType type, float value) noexcept;

// Element offset of logical index (i0, i1, i2, i3) in a strided view.
template <class View>
[[nodiscard]] inline std::size_t offset_of(const View& v, std::int64_t i0, std::int64_t i1,
                                           std::int64_t i2, std::int64_t i3) noexcept {
  return static_cast<std::size_t>(i0 * v.strides[0] + i1 * v.strides[1] + i2 * v.strides[2] +
                                  i3 * v.strides[3]);
}

// Writes `view` [B, H, n, D] (any strides and storage type) as f32 rows of `pitch` >= D
// floats into `dst`, laid out [B, H, slice_rows, pitch]: row l of (b, h) lands at row
// (b·H + h)·slice_rows + first_row + l. Columns [D, pitch) are zeroed. Used to append to KV
// caches (slice_rows = capacity) and to fill staging buffers (slice_rows = n, first_row = 0).
void write_rows(const TensorView& view, float* dst, std::int64_t pitch, std::int64_t slice_rows,
                std::int64_t first_row) noexcept;
// The same into rows of `type` (f32, f16 or bf16) at `dst`, rounding to it. pitch <= 256.
void write_rows(const TensorView& view, DType type, void* dst, std::int64_t pitch,
                std::int64_t slice_rows, std::int64_t first_row) noexcept;

}  // namespace vkattn::detail
