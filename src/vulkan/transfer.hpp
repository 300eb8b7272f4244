// SPDX-License-Identifier: MIT
#pragma once

// Host-side packing between the user's strided views and the contiguous f32 layouts the
// shaders read: inputs become BHLD f32, masks become an additive f32 tensor keeping their
// broadcast dims, and the f32 output is unpacked into the user's view in its dtype.

#include "core/problem.hpp"
#include "interface.h"
#include "vkattn/types.hpp"

namespace vkattn::vulkan {

// Writes `view` (any strides and storage type) to `dst` as contiguous [B, H, L, row] f32 with
// row = padded_d >= D; the padding is zero (kernels with a padded head dim read it).
void pack_bhld(const TensorView& view, float* dst, std::int64_t padded_d) noexcept;
// The same for an f16 view, kept as f16 (K and V of f16 calls, read by the *_kv_half kernels
// or RGBA16F/R16F texel views): half the bytes to upload and no conversion.
void pack_bhld_half(const TensorView& view, std::uint16_t* dst, std::int64_t padded_d) noexcept;
inline void pack_bhld(const TensorView& view, float* dst) noexcept {
  pack_bhld(view, dst, view.shape[3]);
}

// Writes `mask` as an additive f32 tensor of the mask's own shape (contiguous): boolean
// true -> 0, false -> -inf; float masks converted to f32.
void pack_mask(const TensorView& mask, float* dst) noexcept;

// Writes contiguous [B, H, L, row] f32 `src` (row = padded_d >= D) into `view`, rounding to
// its dtype.
void unpack_bhld(const float* src, const MutableTensorView& view, std::int64_t padded_d) noexcept;
inline void unpack_bhld(const float* src, const MutableTensorView& view) noexcept {
  unpack_bhld(src, view, view.shape[3]);
}

// The push constants every pass shares, before chunk fields (row_begin, row_count,
// bh_begin) are filled in.
[[nodiscard]] gpu::AttentionParams base_params(const detail::Problem& problem) noexcept;

// Elements of the f32 mask buffer (product of the mask's shape).
[[nodiscard]] std::int64_t mask_elements(const detail::Problem& problem) noexcept;

}  // namespace vkattn::vulkan
