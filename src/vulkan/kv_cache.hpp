// SPDX-License-Identifier: MIT
#pragma once

// The Vulkan backend's KvCache storage: two device buffers, K f32 [B, Hkv, capacity, dk] and
// V f32 [B, Hkv, capacity, dv] with the fused kernels' padded head dims, read in place by
// flash and split-kv (AttentionParams::kv_stride = capacity). Appends write only the new
// rows: straight into mapped memory when device memory is host visible, else through a
// staging buffer and one copy submission.

#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include "core/backend.hpp"
#include "vulkan/device.hpp"
#include "vulkan/memory.hpp"
#include "vulkan/pipelines.hpp"
#include "vulkan/vk.hpp"

namespace vkattn::vulkan {

class DeviceKvStorage;

// The live caches of one backend, so the backend can free their Vulkan objects before its
// device at process exit (see LiveBackends in backend.cpp). Thread-safe.
class KvRegistry {
 public:
  void add(DeviceKvStorage* storage);
  void remove(DeviceKvStorage* storage) noexcept;
  void release_all() noexcept;

 private:
  std::mutex mutex_;
  std::set<DeviceKvStorage*> live_;
};

class DeviceKvStorage final : public detail::KvStorage {
 public:
  // Throws Error{unsupported} when a buffer exceeds maxStorageBufferRange, vk::SystemError
  // when allocation fails.
  DeviceKvStorage(const Device& device, KvRegistry& registry, const KvCacheDesc& desc);
  ~DeviceKvStorage() override;
  DeviceKvStorage(const DeviceKvStorage&) = delete;
  DeviceKvStorage& operator=(const DeviceKvStorage&) = delete;

  // Throws vkattn::Error (Vulkan failures translated here).
  void write(const TensorView& k, const TensorView& v, std::int64_t at) override;
  // Frees every Vulkan object now; later writes throw Error{device_lost}.
  void release() noexcept;

  [[nodiscard]] Binding k_binding() const noexcept { return {*k_.buffer, k_bytes_}; }
  [[nodiscard]] Binding v_binding() const noexcept { return {*v_.buffer, v_bytes_}; }

 private:
  void write_staged(const TensorView& k, const TensorView& v, std::int64_t at);
  // detail::write_rows into `dst` as the buffers store rows (stored_, rounding to it).
  void write_rows(const TensorView& view, void* dst, std::int64_t pitch, std::int64_t slice_rows,
                  std::int64_t first_row) const;

  const Device* device_;
  KvRegistry* registry_;
  Memory memory_;
  std::int64_t slices_;    // B·Hkv
  std::int64_t capacity_;  // rows per slice
  std::int64_t dk_, dv_;   // padded row pitches
  DType stored_;           // the cache's dtype, which the buffers hold: rows are rounded to it
  vk::DeviceSize k_bytes_, v_bytes_;
  Buffer k_, v_;
  Buffer staging_;  // grown on demand; only when device memory is not mapped
  vk::raii::CommandPool commands_ = nullptr;
  vk::raii::CommandBuffer cmd_ = nullptr;
  vk::raii::Fence fence_ = nullptr;
  bool released_ = false;
};

// The device buffers of `cache` (made by this backend; validation checked that) as
// storage-buffer bindings of its whole capacity.
[[nodiscard]] std::pair<Binding, Binding> kv_cache_bindings(const KvCache& cache) noexcept;

}  // namespace vkattn::vulkan
