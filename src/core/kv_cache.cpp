// SPDX-License-Identifier: MIT
// KvCache: validation and bookkeeping (length); the bytes live in the backend's KvStorage.
#include "core/kv_cache.hpp"

#include <mutex>
#include <utility>

#include "core/problem.hpp"

namespace vkattn {

KvCache::KvCache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KvCache::KvCache(KvCache&&) noexcept = default;
KvCache& KvCache::operator=(KvCache&&) noexcept = default;
KvCache::~KvCache() = default;

const KvCacheDesc& KvCache::desc() const noexcept { return impl_->desc; }
std::int64_t KvCache::length() const noexcept { return impl_->length; }
std::int64_t KvCache::capacity() const noexcept { return impl_->desc.capacity; }

void KvCache::append(const TensorView& k, const TensorView& v) {
  const std::int64_t n = detail::validate_kv_append(impl_->desc, impl_->length, k, v);
  {
    std::lock_guard lock(impl_->owner->call_mutex);
    impl_->storage->write(k, v, impl_->length);
  }
  // Only after the write succeeded: a failed append leaves length() unchanged.
  impl_->length += n;
}

void KvCache::clear() noexcept { impl_->length = 0; }

}  // namespace vkattn
