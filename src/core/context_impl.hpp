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

  // Shared with every KvCache made here, whose memory belongs to this backend's device.
  // Calls are serialised by backend->call_mutex so a Context can be shared between threads
  // (documented on Context).
  std::shared_ptr<detail::BackendImpl> backend;
  Kernel forced;
  CallStats last;  // guarded by backend->call_mutex
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
