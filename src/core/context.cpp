// SPDX-License-Identifier: MIT
// Context: picks a backend once, then every call flows validate -> plan -> run.
#include <chrono>
#include <mutex>
#include <new>
#include <utility>

#include "core/backend.hpp"
#include "core/context_impl.hpp"
#include "core/kv_cache.hpp"
#include "vkattn/context.hpp"
#include "vkattn/error.hpp"

namespace vkattn {

namespace {

std::unique_ptr<detail::BackendImpl> select_backend(const Options& options) {
  switch (options.backend) {
    case Backend::cpu: return detail::make_cpu_backend();
    case Backend::vulkan: return detail::make_vulkan_backend(options);
    case Backend::automatic: try { return detail::make_vulkan_backend(options);
      } catch (const Error& e) {
        // A device name that matches nothing is the caller's mistake, not a missing GPU:
        // falling back to the CPU would hide it.
        if (e.code() == ErrorCode::invalid_argument) throw;
        return detail::make_cpu_backend();
      }
  }
  throw Error(ErrorCode::invalid_argument, "options.backend has an unknown value");
}

// Runs `f`, turning allocation failures into the documented error code.
template <class F>
decltype(auto) translating_bad_alloc(F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::out_of_memory, "host allocation failed");
  }
}

}  // namespace

Context Context::create(const Options& options) {
  return translating_bad_alloc(
      [&] { return Context(std::make_unique<Impl>(select_backend(options), options.kernel)); });
}

Context Context::adopt(const ExternalVulkan& external, const Options& options) {
  if (options.backend == Backend::cpu)
    throw Error(ErrorCode::invalid_argument,
                "options.backend=cpu cannot adopt a Vulkan device (use automatic or vulkan)");
  return translating_bad_alloc([&] {
    return Context(
        std::make_unique<Impl>(detail::adopt_vulkan_backend(external, options), options.kernel));
  });
}

std::vector<DeviceInfo> Context::list_devices() noexcept { return detail::list_vulkan_devices(); }

Context::Context(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;
Context::~Context() = default;

const DeviceInfo& Context::device() const noexcept { return impl_->backend->info(); }

Plan Context::plan(const AttentionDesc& desc, bool want_probs) const {
  detail::Problem problem = detail::validate_desc(desc);
  problem.want_probs = want_probs;
  return impl_->backend->plan(problem, impl_->forced);
}

void Context::attention(const AttentionDesc& desc, const AttentionInputs& in,
                        const AttentionOutputs& out) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  try {
    translating_bad_alloc([&] {
      const detail::Problem problem = detail::validate_call(desc, in, out);
      // A cache's storage is only meaningful to the backend that made it.
      if (in.kv_cache != nullptr &&
          detail::KvCacheAccess::impl(*in.kv_cache).owner != impl_->backend) {
        throw Error(ErrorCode::invalid_argument,
                    "kv_cache was created by another Context; use a cache of this Context");
      }
      const Plan plan = impl_->backend->plan(problem, impl_->forced);
      std::lock_guard lock(impl_->backend->call_mutex);
      impl_->backend->run(problem, plan, in, out);
      impl_->last.gpu_seconds = impl_->backend->last_gpu_seconds();
      impl_->last.plan = plan;
      impl_->last.host_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    });
  } catch (...) {
    // Stale numbers from an earlier call would be mistaken for this one's.
    std::lock_guard lock(impl_->backend->call_mutex);
    impl_->last = CallStats{};
    throw;
  }
}

CallStats Context::last_call_stats() const noexcept {
  std::lock_guard lock(impl_->backend->call_mutex);
  return impl_->last;
}

KvCache Context::create_kv_cache(const KvCacheDesc& desc) {
  return translating_bad_alloc([&] {
    auto impl = std::make_unique<KvCache::Impl>();
    impl->desc = detail::validate_kv_desc(desc);
    impl->owner = impl_->backend;
    impl->storage = impl_->backend->create_kv_storage(impl->desc);
    return detail::KvCacheAccess::make(std::move(impl));
  });
}

}  // namespace vkattn
