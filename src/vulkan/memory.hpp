// SPDX-License-Identifier: MIT
#pragma once

// Buffers and their memory. Device buffers live in DEVICE_LOCAL|HOST_VISIBLE|HOST_CACHED
// memory when that memory is the whole of VRAM (lavapipe, UMA; not an uncached resizable BAR)
// and are mapped directly; otherwise
// each gets a HOST_VISIBLE staging twin that command buffers copy through. Allocations are
// cached per role and only grow, so a decode loop does not allocate per call.

#include <array>
#include <cstdint>

#include "vkattn/context.hpp"
#include "vulkan/vk.hpp"

namespace vkattn::vulkan {

struct Buffer {
  vk::raii::DeviceMemory memory = nullptr;  // declared first: freed after the buffer
  vk::raii::Buffer buffer = nullptr;
  vk::DeviceSize size = 0;
  void* mapped = nullptr;  // non-null when host visible (persistently mapped)
};

// What a cached buffer holds; each role owns one slot.
enum class Role : std::uint8_t {
  q,
  k,
  v,
  mask,
  kv_lens,
  out,
  lse,
  workspace,
  partial_lse,
  probs,
  dummy,
  queue,  // the fused kernel's work-queue counter
  count
};

// How a role's data moves.
enum class Access : std::uint8_t {
  upload,    // host writes, shaders read
  download,  // shaders write, host reads
  device,    // shaders only (workspace, dummy)
  readback,  // transfer destination the host reads; never bound as storage
};

// One role's buffers: the buffer shaders (or transfers) use, and a staging twin when that
// buffer is not host visible.
struct Slot {
  Buffer device;
  Buffer staging;  // empty unless the device buffer is unmapped and the host needs access
  [[nodiscard]] void* host() const noexcept {
    return staging.mapped != nullptr ? staging.mapped : device.mapped;
  }
  [[nodiscard]] bool staged() const noexcept { return staging.size != 0; }
};

// The smaller of the device's known single-buffer limits (maxBufferSize,
// maxMemoryAllocationSize); 0 when it reports neither. What Memory's constructor takes.
[[nodiscard]] vk::DeviceSize largest_buffer(const DeviceInfo& info) noexcept;

class Memory {
 public:
  // `largest_buffer`: the most bytes one buffer may hold (the smaller of maxBufferSize and
  // maxMemoryAllocationSize, 0 when neither is known); rounding sizes up never passes it.
  Memory(const vk::raii::PhysicalDevice& physical, const vk::raii::Device& device,
         vk::DeviceSize largest_buffer);

  // The slot for `role`, at least `bytes` large. Reuses the cached buffers when they are big
  // enough; otherwise allocates new ones first and only then frees the old (so a failed
  // allocation leaves the cache intact). Throws vk::SystemError (out of memory) on failure.
  Slot& get(Role role, vk::DeviceSize bytes, Access access);

  // True when device buffers are host visible and mapped (no staging copies).
  [[nodiscard]] bool direct() const noexcept { return direct_; }

  // Where create() puts a buffer's memory.
  enum class Place : std::uint8_t { mapped_device, device_only, host };
  // One buffer outside the role cache (KV caches own theirs). Returns an empty Buffer when
  // no memory type fits `place`; throws vk::SystemError when allocation fails.
  [[nodiscard]] Buffer create(vk::DeviceSize bytes, vk::BufferUsageFlags usage, Place place) const;

 private:
  [[nodiscard]] std::int64_t find_type(std::uint32_t allowed, vk::MemoryPropertyFlags required,
                                       vk::MemoryPropertyFlags preferred) const;

  const vk::raii::Device* device_;
  vk::PhysicalDeviceMemoryProperties props_{};
  bool direct_ = false;
  vk::DeviceSize largest_buffer_ = 0;
  std::array<Slot, static_cast<std::size_t>(Role::count)> slots_;
};

// Test hook: the next `count` buffer allocations throw vk::OutOfDeviceMemoryError, as a full
// device heap would, so tests reach the out-of-memory path on any driver. Thread-safe.
void fail_next_allocations(int count) noexcept;

}  // namespace vkattn::vulkan
