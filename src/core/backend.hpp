// SPDX-License-Identifier: MIT
#pragma once

// The interface every backend implements. Backends receive an already validated Problem
// and never re-decide semantics.

#include <memory>
#include <optional>
#include <vector>

#include "core/problem.hpp"
#include "vkattn/context.hpp"

namespace vkattn::detail {

class BackendImpl {
 public:
  BackendImpl() = default;
  BackendImpl(const BackendImpl&) = delete;
  BackendImpl& operator=(const BackendImpl&) = delete;
  virtual ~BackendImpl() = default;

  [[nodiscard]] virtual const DeviceInfo& info() const noexcept = 0;
  // GPU time of the kernels of the last run() that completed; nullopt when there is none or
  // the backend cannot measure it (CPU, queues without timestamps).
  [[nodiscard]] virtual std::optional<double> last_gpu_seconds() const noexcept {
    return std::nullopt;
  }
  // Decides the kernel for `problem`; `forced` != automatic pins it or throws
  // Error{unsupported} with the reason it cannot run.
  [[nodiscard]] virtual Plan plan(const Problem& problem, Kernel forced) const = 0;
  virtual void run(const Problem& problem, const Plan& plan, const AttentionInputs& in,
                   const AttentionOutputs& out) = 0;
};

[[nodiscard]] std::unique_ptr<BackendImpl> make_cpu_backend();
// Throws Error{unsupported} when there is no loader or no device matching options.device.
[[nodiscard]] std::unique_ptr<BackendImpl> make_vulkan_backend(const Options& options);
[[nodiscard]] std::vector<DeviceInfo> list_vulkan_devices() noexcept;

}  // namespace vkattn::detail
