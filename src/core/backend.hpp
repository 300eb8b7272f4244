// SPDX-License-Identifier: MIT
#pragma once

// The interface every backend implements. Backends receive an already validated Problem
// and never re-decide semantics.

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/problem.hpp"
#include "vkattn/context.hpp"

namespace vkattn::vulkan {
struct Device;
class Pipelines;
}  // namespace vkattn::vulkan

namespace vkattn::detail {

// A backend's memory for one KvCache: K and V as f32 [B, Hkv, capacity, row], each backend
// choosing its row pitch (the Vulkan one pads to the fused kernels' head dims).
class KvStorage {
 public:
  KvStorage() = default;
  KvStorage(const KvStorage&) = delete;
  KvStorage& operator=(const KvStorage&) = delete;
  virtual ~KvStorage() = default;
  // Writes validated views k [B, Hkv, n, Dk] and v [B, Hkv, n, Dv] to rows [at, at + n) of
  // every (batch, KV head). Called with the backend's call_mutex held.
  virtual void write(const TensorView& k, const TensorView& v, std::int64_t at) = 0;
};

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

  // Storage for a validated KvCacheDesc (head_dim_v resolved). Throws Error.
  [[nodiscard]] virtual std::unique_ptr<KvStorage> create_kv_storage(const KvCacheDesc& desc) = 0;

  // Serialises run() and KvStorage::write(): a backend owns one queue and reusable buffers,
  // and KV caches (which share ownership of the backend) submit to that queue too.
  std::mutex call_mutex;
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
