// SPDX-License-Identifier: MIT
#pragma once

// The normalised problem: what validation produces from the public AttentionDesc and views,
// and the only description of the problem that the planner and the backends read.

#include <cstdint>

#include "vkattn/kv_cache.hpp"
#include "vkattn/types.hpp"

namespace vkattn::detail {

enum class MaskKind : std::uint8_t { none, boolean, additive };

struct Problem {
  std::int64_t batch = 0;
  std::int64_t heads_q = 0;
  std::int64_t heads_kv = 0;
  std::int64_t len_q = 0;
  std::int64_t len_kv = 0;
  std::int64_t dim_qk = 0;
  std::int64_t dim_v = 0;
  float scale = 0.0f;  // resolved: never the "default" sentinel
  float softcap = 0.0f;
  DType dtype = DType::f32;
  Causal causal = Causal::none;
  std::int64_t window_left = -1;
  std::int64_t window_right = -1;

  MaskKind mask = MaskKind::none;
  DType mask_dtype = DType::f32;
  Dims4 mask_shape{1, 1, 1, 1};  // each dim equals the target dim or 1 (broadcast)
  bool has_kv_lens = false;
  // K and V come from AttentionInputs::kv_cache (device- or backend-resident), not k/v.
  bool kv_cache = false;
  // How K and V are stored: the cache's dtype for a KvCache (f32, f16 or bf16), else dtype.
  DType kv_dtype = DType::f32;
  // Rows between consecutive (batch, KV head) slices of K/V storage: len_kv for packed
  // uploads, the cache's capacity for a KvCache.
  std::int64_t kv_stride = 0;
  bool want_lse = false;
  bool want_probs = false;

  // Query heads that share one KV head (GQA group size).
  [[nodiscard]] std::int64_t group() const noexcept { return heads_q / heads_kv; }
};

// Largest head dim (Dk and Dv) any kernel supports; validation enforces it.
inline constexpr std::int64_t kMaxHeadDim = 256;

// Validates the description alone (sizes, options). Throws Error naming field and value.
[[nodiscard]] Problem validate_desc(const AttentionDesc& desc);

// Validates a whole call: the description, every view against it (null data, dtype, shape,
// strides that overlap or overrun `extent`), the mask, kv_lens and optional outputs.
[[nodiscard]] Problem validate_call(const AttentionDesc& desc, const AttentionInputs& in,
                                    const AttentionOutputs& out);

// Validates a KvCacheDesc; returns it with head_dim_v resolved.
[[nodiscard]] KvCacheDesc validate_kv_desc(const KvCacheDesc& desc);

// Validates an append of k [B, Hkv, n, Dk] and v [B, Hkv, n, Dv] to a cache of shape `desc`
// holding `length` rows; returns n.
[[nodiscard]] std::int64_t validate_kv_append(const KvCacheDesc& desc, std::int64_t length,
                                              const TensorView& k, const TensorView& v);

}  // namespace vkattn::detail
