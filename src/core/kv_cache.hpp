// SPDX-License-Identifier: MIT
#pragma once

// KvCache's private state, and the access the Context and the backends need to it.

#include <cstdint>
#include <memory>

#include "core/backend.hpp"
#include "vkattn/kv_cache.hpp"

namespace vkattn {

struct KvCache::Impl {
  // Declared first, so destroyed last: the storage's memory belongs to this backend's device.
  std::shared_ptr<detail::BackendImpl> owner;
  std::unique_ptr<detail::KvStorage> storage;
  KvCacheDesc desc;  // validated, head_dim_v resolved
  std::int64_t length = 0;
};

namespace detail {

struct KvCacheAccess {
  [[nodiscard]] static KvCache make(std::unique_ptr<KvCache::Impl> impl) {
    return KvCache(std::move(impl));
  }
  [[nodiscard]] static const KvCache::Impl& impl(const KvCache& cache) noexcept {
    return *cache.impl_;
  }
};

// The backend storage of `cache`, as the backend that made it knows it. Only valid after
// validation checked that `cache` belongs to the calling backend.
template <class Storage>
[[nodiscard]] Storage& storage_of(const KvCache& cache) noexcept {
  return static_cast<Storage&>(*KvCacheAccess::impl(cache).storage);
}

}  // namespace detail
}  // namespace vkattn
