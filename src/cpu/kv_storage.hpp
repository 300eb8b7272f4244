// SPDX-License-Identifier: MIT
#pragma once

// The CPU backend's KvCache storage: host [B, Hkv, capacity, D] arrays of the cache's dtype
// (f32, f16 or bf16) that calls read through strided views, without a copy.

#include <cstddef>
#include <vector>

#include "core/backend.hpp"

namespace vkattn::detail {

class CpuKvStorage final : public KvStorage {
 public:
  explicit CpuKvStorage(const KvCacheDesc& desc);
  void write(const TensorView& k, const TensorView& v, std::int64_t at) override;

  // Views of the first `length` rows of every (batch, KV head) slice.
  [[nodiscard]] TensorView k_view(std::int64_t length) const noexcept;
  [[nodiscard]] TensorView v_view(std::int64_t length) const noexcept;

 private:
  [[nodiscard]] TensorView view_of(const std::vector<std::byte>& data, std::int64_t dim,
                                   std::int64_t length) const noexcept;

  KvCacheDesc desc_;
  // Bytes from operator new: aligned for any element type.
  std::vector<std::byte> k_;
  std::vector<std::byte> v_;
};

// `in` with k and v replaced by views over the CPU cache it names (when it names one).
[[nodiscard]] AttentionInputs resolve_kv_cache(const Problem& problem, const AttentionInputs& in);

}  // namespace vkattn::detail
