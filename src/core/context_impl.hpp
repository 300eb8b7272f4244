// SPDX-License-Identifier: MIT
#pragma once

// Context's private state, shared by context.cpp and the Vulkan interop entry points
// (src/vulkan/recording.cpp) that reach it through detail::ContextAccess.

#include <memory>
#include <mutex>

#include "core/backend.hpp"
#include "vkattn/context.hpp"

namespace vkattn {

class Context::Impl {
 public:
  Impl(std::unique_ptr<detail::BackendImpl> b, Kernel k) : backend(std::move(b)), forced(k) {}

  std::unique_ptr<detail::BackendImpl> backend;
  Kernel forced;
  // Backends own one queue, one command pool and reusable buffers: calls are serialised so a
  // Context can be shared between threads (documented on Context).
  mutable std::mutex mutex;
  CallStats last;  // guarded by `mutex`
};

namespace detail {

// The one way below the public API to reach a Context's Impl (a friend of Context).
struct ContextAccess {
  // Null for a moved-from Context.
  [[nodiscard]] static Context::Impl* impl(Context& context) noexcept {
    return context.impl_.get();
  }
};

}  // namespace detail
}  // namespace vkattn
