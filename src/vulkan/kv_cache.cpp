// SPDX-License-Identifier: MIT
// KV cache storage in device buffers: creation against the device limits, appends of new
// rows (mapped or staged), and release before the device at process exit.
#include "vulkan/kv_cache.hpp"

#include <cstddef>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/kv_cache.hpp"
#include "vkattn/error.hpp"
#include "vulkan/flash.hpp"

namespace vkattn::vulkan {
namespace {

using BU = vk::BufferUsageFlagBits;

vk::DeviceSize bytes_of(std::int64_t slices, std::int64_t rows, std::int64_t pitch,
                        DType stored) {
  return static_cast<vk::DeviceSize>(slices) * static_cast<vk::DeviceSize>(rows) *
         static_cast<vk::DeviceSize>(pitch) * size_of(stored);
}

// The buffers are bound whole as storage buffers by the fused kernels.
void check_range(const char* name, vk::DeviceSize bytes, std::int64_t pitch,
                 const KvCacheDesc& desc, vk::DeviceSize range) {
  if (bytes <= range) return;
  char msg[256];
  std::snprintf(msg, sizeof msg,
                "kv_cache %s needs %llu bytes on the device (capacity=%lld, head dim "
                "padded to %lld), above maxStorageBufferRange %llu bytes",
                name, static_cast<unsigned long long>(bytes), static_cast<long long>(desc.capacity),
                static_cast<long long>(pitch), static_cast<unsigned long long>(range));
  throw Error(ErrorCode::unsupported, msg);
}

// Vulkan-Hpp failures during an append become vkattn::Error, as backend.cpp does for calls.
[[noreturn]] void rethrow_as_error() {
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const vk::SystemError& e) {
    const auto r = static_cast<vk::Result>(e.code().value());
    const ErrorCode code =
        r == vk::Result::eErrorOutOfDeviceMemory || r == vk::Result::eErrorOutOfHostMemory
            ? ErrorCode::out_of_memory
        : r == vk::Result::eErrorDeviceLost ? ErrorCode::device_lost
                                            : ErrorCode::vulkan_error;
    throw Error(code, std::string("Vulkan call failed appending to a kv_cache: ") + e.what());
  }
}

}  // namespace

void KvRegistry::add(DeviceKvStorage* storage) {
  std::lock_guard lock(mutex_);
  live_.insert(storage);
}

void KvRegistry::remove(DeviceKvStorage* storage) noexcept {
  std::lock_guard lock(mutex_);
  live_.erase(storage);
}

void KvRegistry::release_all() noexcept {
  std::lock_guard lock(mutex_);
  for (DeviceKvStorage* s : live_) s->release();
}

DeviceKvStorage::DeviceKvStorage(const Device& device, KvRegistry& registry,
                                 const KvCacheDesc& desc)
    : device_(&device),
      registry_(&registry),
      memory_(device.physical, device.device, largest_buffer(device.info)),
      slices_(desc.batch * desc.heads_kv),
      capacity_(desc.capacity),
      dk_(padded_head_dim(desc.head_dim)),
      dv_(padded_head_dim(desc.head_dim_v.value_or(desc.head_dim))),
      stored_(desc.dtype),  // the fused kernels have f16 and bf16 variants
      k_bytes_(bytes_of(slices_, capacity_, dk_, stored_)),
      v_bytes_(bytes_of(slices_, capacity_, dv_, stored_)) {
  const vk::DeviceSize range = device.limits.maxStorageBufferRange;
  check_range("k", k_bytes_, dk_, desc, range);
  check_range("v", v_bytes_, dv_, desc, range);
  // Transfer dst: staged appends; uniform texel: the flash kernels may read K/V through
  // texel views (R32F/RGBA32F; for a 16-bit cache RGBA32UI, or R16F/RGBA16F for f16) on CPU
  // drivers.
  const vk::BufferUsageFlags usage =
      BU::eStorageBuffer | BU::eUniformTexelBuffer | BU::eTransferDst;
  for (auto [buffer, bytes] : {std::pair{&k_, k_bytes_}, {&v_, v_bytes_}}) {
    if (memory_.direct()) *buffer = memory_.create(bytes, usage, Memory::Place::mapped_device);
    if (buffer->size == 0) *buffer = memory_.create(bytes, usage, Memory::Place::device_only);
    if (buffer->size == 0)
      throw vk::OutOfDeviceMemoryError("vkattn: no Vulkan memory type for a kv_cache buffer");
  }
  if (k_.mapped == nullptr || v_.mapped == nullptr) {
    // Unmapped device memory: appends go through a staging buffer and a copy submission.
    commands_ = vk::raii::CommandPool(
        device.device,
        vk::CommandPoolCreateInfo{.flags = vk::CommandPoolCreateFlagBits::eResetCommandBuffer,
                                  .queueFamilyIndex = device.queue_family});
    cmd_ = std::move(
        vk::raii::CommandBuffers(
            device.device, vk::CommandBufferAllocateInfo{.commandPool = *commands_,
                                                         .level = vk::CommandBufferLevel::ePrimary,
                                                         .commandBufferCount = 1})
            .front());
    fence_ = vk::raii::Fence(device.device, vk::FenceCreateInfo{});
  }
  registry_->add(this);  // last: a constructor that throws leaves nothing registered
}

DeviceKvStorage::~DeviceKvStorage() { registry_->remove(this); }

void DeviceKvStorage::release() noexcept {
  // Reverse creation order: the command buffer before its pool.
  cmd_ = nullptr;
  commands_ = nullptr;
  fence_ = nullptr;
  staging_ = Buffer{};
  k_ = Buffer{};
  v_ = Buffer{};
  released_ = true;
}

void DeviceKvStorage::write(const TensorView& k, const TensorView& v, std::int64_t at) {
  if (released_)
    throw Error(ErrorCode::device_lost, "the Vulkan backend was released at process exit");
  try {
    if (k_.mapped != nullptr && v_.mapped != nullptr) {
      // Host-visible device memory: the rows land where the kernels read them. Host writes
      // before a later vkQueueSubmit are visible to it (coherent memory, submission order).
      write_rows(k, k_.mapped, dk_, capacity_, at);
      write_rows(v, v_.mapped, dv_, capacity_, at);
      return;
    }
    write_staged(k, v, at);
  } catch (...) {
    rethrow_as_error();
  }
}

void DeviceKvStorage::write_rows(const TensorView& view, void* dst, std::int64_t pitch,
                                 std::int64_t slice_rows, std::int64_t first_row) const {
  detail::write_rows(view, stored_, dst, pitch, slice_rows, first_row);
}

void DeviceKvStorage::write_staged(const TensorView& k, const TensorView& v, std::int64_t at) {
  const std::int64_t n = k.shape[2];
  const vk::DeviceSize k_new = bytes_of(slices_, n, dk_, stored_);
  const vk::DeviceSize v_new = bytes_of(slices_, n, dv_, stored_);
  if (staging_.size < k_new + v_new) {
    Buffer fresh = memory_.create(k_new + v_new, BU::eTransferSrc, Memory::Place::host);
    if (fresh.size == 0)
      throw vk::OutOfDeviceMemoryError("vkattn: no host-visible memory for kv_cache staging");
    staging_ = std::move(fresh);
  }
  // Staging holds the new rows packed: K [slices, n, dk] then V [slices, n, dv].
  auto* staged = static_cast<std::byte*>(staging_.mapped);
  write_rows(k, staged, dk_, n, 0);
  write_rows(v, staged + k_new, dv_, n, 0);

  // One region per (batch, KV head) slice: its n new rows are contiguous in both buffers.
  const auto regions = [&](vk::DeviceSize src_base, std::int64_t pitch) {
    std::vector<vk::BufferCopy> r(static_cast<std::size_t>(slices_));
    for (std::int64_t s = 0; s < slices_; ++s)
      r[static_cast<std::size_t>(s)] =
          vk::BufferCopy{.srcOffset = src_base + bytes_of(s, n, pitch, stored_),
                         .dstOffset = bytes_of(1, s * capacity_ + at, pitch, stored_),
                         .size = bytes_of(1, n, pitch, stored_)};
    return r;
  };
  cmd_.reset();
  cmd_.begin(vk::CommandBufferBeginInfo{.flags = vk::CommandBufferUsageFlagBits::eOneTimeSubmit});
  cmd_.copyBuffer(*staging_.buffer, *k_.buffer, regions(0, dk_));
  cmd_.copyBuffer(*staging_.buffer, *v_.buffer, regions(k_new, dv_));
  // The copies must land before any later submission's shaders read the cache; a barrier's
  // scopes extend to commands later in submission order, so attention calls need none.
  cmd_.pipelineBarrier(vk::PipelineStageFlagBits::eTransfer,
                       vk::PipelineStageFlagBits::eComputeShader, {},
                       vk::MemoryBarrier{.srcAccessMask = vk::AccessFlagBits::eTransferWrite,
                                         .dstAccessMask = vk::AccessFlagBits::eShaderRead},
                       {}, {});
  cmd_.end();
  const vk::CommandBuffer raw = *cmd_;
  device_->queue.submit(vk::SubmitInfo{.commandBufferCount = 1, .pCommandBuffers = &raw}, *fence_);
  // Waiting keeps the staging buffer reusable by the next append and the call synchronous.
  const vk::Result waited =
      device_->device.waitForFences(*fence_, VK_TRUE, std::numeric_limits<std::uint64_t>::max());
  device_->device.resetFences(*fence_);
  if (waited != vk::Result::eSuccess)
    throw Error(ErrorCode::vulkan_error, "vkWaitForFences returned " + vk::to_string(waited));
}

std::pair<Binding, Binding> kv_cache_bindings(const KvCache& cache) noexcept {
  const auto& storage = detail::storage_of<DeviceKvStorage>(cache);
  return {storage.k_binding(), storage.v_binding()};
}

}  // namespace vkattn::vulkan
