// SPDX-License-Identifier: MIT
// Host KV cache storage for the CPU backend.
#include "cpu/kv_storage.hpp"

#include "core/dtype.hpp"
#include "core/kv_cache.hpp"

namespace vkattn::detail {

namespace {

std::size_t bytes_of(const KvCacheDesc& d, std::int64_t dim) {
  return static_cast<std::size_t>(d.batch * d.heads_kv * d.capacity * dim) * size_of(d.dtype);
}

}  // namespace

CpuKvStorage::CpuKvStorage(const KvCacheDesc& desc)
    : desc_(desc),
      k_(bytes_of(desc, desc.head_dim)),
      v_(bytes_of(desc, desc.head_dim_v.value_or(desc.head_dim))) {}

void CpuKvStorage::write(const TensorView& k, const TensorView& v, std::int64_t at) {
  write_rows(k, desc_.dtype, k_.data(), desc_.head_dim, desc_.capacity, at);
  write_rows(v, desc_.dtype, v_.data(), desc_.head_dim_v.value_or(desc_.head_dim), desc_.capacity,
             at);
}

TensorView CpuKvStorage::view_of(const std::vector<std::byte>& data, std::int64_t dim,
                                 std::int64_t length) const noexcept {
  const std::int64_t cap = desc_.capacity;
  return {data.data(),
          desc_.dtype,
          {desc_.batch, desc_.heads_kv, length, dim},
          {desc_.heads_kv * cap * dim, cap * dim, dim, 1},
          data.size() / size_of(desc_.dtype)};
}

TensorView CpuKvStorage::k_view(std::int64_t length) const noexcept {
  return view_of(k_, desc_.head_dim, length);
}

TensorView CpuKvStorage::v_view(std::int64_t length) const noexcept {
  return view_of(v_, desc_.head_dim_v.value_or(desc_.head_dim), length);
}

AttentionInputs resolve_kv_cache(const Problem& problem, const AttentionInputs& in) {
  if (in.kv_cache == nullptr) return in;
  const auto& storage = storage_of<CpuKvStorage>(*in.kv_cache);
  AttentionInputs resolved = in;
  resolved.k = storage.k_view(problem.len_kv);
  resolved.v = storage.v_view(problem.len_kv);
  resolved.kv_cache = nullptr;
  return resolved;
}

}  // namespace vkattn::detail
