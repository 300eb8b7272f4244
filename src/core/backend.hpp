// SPDX-License-Identifier: MIT
#pragma once

// The interface every backend implements. Backends receive an already validated Problem
// and never re-decide semantics.

#include <memory>
#include <optional>
#include <vector>

#include "core/problem.hpp"
#include "vkattn/context.hpp"

namespace vkattn::vulkan {
struct Device;
class Pipelines;
}  // namespace vkattn::vulkan

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

  // Vulkan backends: the device and pipelines that recordings into application command
  // buffers use (src/vulkan/recording.cpp); the owners keep them alive for as long as a
  // Recording needs them. Null on the CPU backend and after the backend was released.
  [[nodiscard]] virtual std::shared_ptr<const vulkan::Device> vulkan_device() const {
    return nullptr;
  }
  [[nodiscard]] virtual std::shared_ptr<vulkan::Pipelines> vulkan_pipelines() const {
    return nullptr;
  }
};

[[nodiscard]] std::unique_ptr<BackendImpl> make_cpu_backend();
// Throws Error{unsupported} when there is no loader or no device matching options.device.
[[nodiscard]] std::unique_ptr<BackendImpl> make_vulkan_backend(const Options& options);
[[nodiscard]] std::vector<DeviceInfo> list_vulkan_devices() noexcept;
// A Vulkan backend on the application's objects (Context::adopt). Throws Error naming the
// handle or option that is unusable.
[[nodiscard]] std::unique_ptr<BackendImpl> adopt_vulkan_backend(const ExternalVulkan& external,
                                                                const Options& options);

}  // namespace vkattn::detail
