// SPDX-License-Identifier: MIT
#pragma once

/// @file
/// KvCache: keys and values kept where a Context computes (device memory on Vulkan), appended
/// to between calls, so decoding does not upload the whole cache every token.

#include <cstdint>
#include <memory>
#include <optional>

#include "vkattn/types.hpp"

namespace vkattn {

namespace detail {
struct KvCacheAccess;
}

/// Shape of a KV cache: K is [batch, heads_kv, capacity, head_dim], V is
/// [batch, heads_kv, capacity, head_dim_v], of element type `dtype`.
struct KvCacheDesc {
  std::int64_t batch = 1;                  ///< B.
  std::int64_t heads_kv = 1;               ///< Hkv.
  std::int64_t capacity = 0;               ///< Most keys per (batch, KV head) the cache holds.
  std::int64_t head_dim = 0;               ///< Dk, 1..256.
  std::optional<std::int64_t> head_dim_v;  ///< Dv, 1..256. Default Dk.
  /// Element type of the cache: f32, f16 or bf16. Appended rows are rounded to it, and every
  /// backend computes on the rounded values (in f32). f16 and bf16 halve the memory and the
  /// bytes each decode step reads, on both backends (kept in that type on the device too).
  DType dtype = DType::f32;
};

/// Keys and values owned by the backend of the Context that created it
/// (`Context::create_kv_cache`). Pass it as `AttentionInputs::kv_cache` instead of `k` and
/// `v`; `AttentionDesc::len_kv` must then equal `length()`.
///
/// Every (batch, KV head) slice holds the same number of rows, `length()`; ragged sequences use
/// `AttentionInputs::kv_lens` (each <= length()) over a cache appended to in lockstep.
///
/// Ownership: the cache shares ownership of its Context's backend, so it stays valid when the
/// Context is moved or destroyed first (the device is released when the last of them goes).
/// Thread-safety: a cache is not itself thread-safe: do not use one cache from two threads at
/// once (an attention call reading it counts as a use). Different caches of one Context may be
/// used from different threads; `append` is serialised with that Context's calls.
/// Move-only; a moved-from cache may only be destroyed or assigned to.
class KvCache {
 public:
  KvCache(KvCache&&) noexcept;
  KvCache& operator=(KvCache&&) noexcept;
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;
  ~KvCache();

  /// The shape given at creation, with `head_dim_v` resolved.
  [[nodiscard]] const KvCacheDesc& desc() const noexcept;
  /// Rows held per (batch, KV head); 0 after creation and after `clear()`.
  [[nodiscard]] std::int64_t length() const noexcept;
  /// `desc().capacity`.
  [[nodiscard]] std::int64_t capacity() const noexcept;

  /// Appends `n` rows to every (batch, KV head): `k` is [B, Hkv, n, Dk] and `v` is
  /// [B, Hkv, n, Dv] in logical order, any strides, each f32, f16 or bf16 (rounded to the
  /// cache's dtype, nearest even; exact when it is at least as wide). Only the new rows are
  /// written to the device.
  /// @throws Error{invalid_argument} naming the problem (null data, shape, dtype, strides,
  ///         or `length() + n > capacity()`); the cache is then unchanged.
  ///         Error{out_of_memory} (staging memory), Error{device_lost|vulkan_error} when the
  ///         device fails; `length()` is then unchanged.
  void append(const TensorView& k, const TensorView& v);

  /// Forgets every row (`length()` becomes 0); keeps the memory.
  void clear() noexcept;

  struct Impl;

 private:
  friend struct detail::KvCacheAccess;
  explicit KvCache(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vkattn
