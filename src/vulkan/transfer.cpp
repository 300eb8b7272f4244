// SPDX-License-Identifier: MIT
// Strided user views <-> contiguous f32 device layouts (and f16 ones for f16 K/V).
#include "vulkan/transfer.hpp"

#include <algorithm>
#include <limits>

#include "core/dtype.hpp"

namespace vkattn::vulkan {

using detail::load_as_float;
using detail::offset_of;

void pack_bhld(const TensorView& view, float* dst, std::int64_t padded_d) noexcept {
  const auto [B, H, L, D] = view.shape;
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t l = 0; l < L; ++l) {
        // Whole rows: unit-stride f32 is a copy, f16 a vectorised conversion.
        detail::load_row(view.data, view.dtype, offset_of(view, b, h, l, 0), view.strides[3], D,
                         dst);
        std::fill(dst + D, dst + padded_d, 0.0f);
        dst += padded_d;
      }
}

void pack_bhld_half(const TensorView& view, std::uint16_t* dst, std::int64_t padded_d) noexcept {
  const auto [B, H, L, D] = view.shape;
  const auto* src = static_cast<const std::uint16_t*>(view.data);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t l = 0; l < L; ++l) {
        const std::uint16_t* row = src + offset_of(view, b, h, l, 0);
        if (view.strides[3] == 1) {
          std::copy_n(row, D, dst);
        } else {
          for (std::int64_t d = 0; d < D; ++d) dst[d] = row[d * view.strides[3]];
        }
        std::fill(dst + D, dst + padded_d, std::uint16_t{0});
        dst += padded_d;
      }
}

void pack_mask(const TensorView& mask, float* dst) noexcept {
  const auto [B, H, Q, K] = mask.shape;
  const bool boolean = mask.dtype == DType::boolean;
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t i = 0; i < Q; ++i)
        for (std::int64_t j = 0; j < K; ++j) {
          const float v = load_as_float(mask.data, mask.dtype, offset_of(mask, b, h, i, j));
          *dst++ = boolean ? (v != 0.0f ? 0.0f : -std::numeric_limits<float>::infinity()) : v;
        }
}

void unpack_bhld(const float* src, const MutableTensorView& view, std::int64_t padded_d) noexcept {
  const auto [B, H, L, D] = view.shape;
  // As in pack_bhld, row by row: the element-wise store took ~3 ms of a 140 ms prefill at
  // L=512 on lavapipe, serial after the kernel.
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t l = 0; l < L; ++l) {
        detail::store_row(view.data, view.dtype, offset_of(view, b, h, l, 0), view.strides[3], D,
                          src);
        src += padded_d;
      }
}

std::int64_t mask_elements(const detail::Problem& p) noexcept {
  if (p.mask == detail::MaskKind::none) return 0;
  return p.mask_shape[0] * p.mask_shape[1] * p.mask_shape[2] * p.mask_shape[3];
}

gpu::AttentionParams base_params(const detail::Problem& p) noexcept {
  const auto u = [](std::int64_t v) { return static_cast<std::uint32_t>(v); };
  gpu::AttentionParams a{};
  a.batch = u(p.batch);
  a.heads_q = u(p.heads_q);
  a.heads_kv = u(p.heads_kv);
  a.len_q = u(p.len_q);
  a.len_kv = u(p.len_kv);
  a.kv_stride = u(p.kv_stride);
  a.dim_qk = u(p.dim_qk);
  a.dim_v = u(p.dim_v);
  a.causal = p.causal == Causal::top_left       ? VKATTN_CAUSAL_TOP_LEFT
             : p.causal == Causal::bottom_right ? VKATTN_CAUSAL_BOTTOM_RIGHT
                                                : VKATTN_CAUSAL_NONE;
  a.window_left = static_cast<std::int32_t>(p.window_left);
  a.window_right = static_cast<std::int32_t>(p.window_right);
  a.scale = p.scale;
  a.softcap = p.softcap;
  a.flags = (p.mask != detail::MaskKind::none ? VKATTN_FLAG_MASK : 0u) |
            (p.has_kv_lens ? VKATTN_FLAG_KV_LENS : 0u) |
            (p.softcap > 0.0f ? VKATTN_FLAG_SOFTCAP : 0u);
  if (p.mask != detail::MaskKind::none) {
    // Contiguous strides of the mask's own shape; 0 on broadcast dims so every target
    // index reads the single stored element.
    const auto& s = p.mask_shape;
    const std::int64_t sk = 1, sq = s[3], sh = s[2] * s[3], sb = s[1] * s[2] * s[3];
    a.mask_stride_b = s[0] == 1 ? 0u : u(sb);
    a.mask_stride_h = s[1] == 1 ? 0u : u(sh);
    a.mask_stride_q = s[2] == 1 ? 0u : u(sq);
    a.mask_stride_k = s[3] == 1 ? 0u : u(sk);
  }
  return a;
}

}  // namespace vkattn::vulkan
