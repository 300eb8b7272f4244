// SPDX-License-Identifier: MIT
// Memory-type choice, buffer creation and the grow-only per-role cache.
#include "vulkan/memory.hpp"

#include <algorithm>
#include <atomic>

#include "vulkan/tuning.hpp"

namespace vkattn::vulkan {
namespace {

using MP = vk::MemoryPropertyFlagBits;
using BU = vk::BufferUsageFlagBits;

// Rounding sizes up keeps slightly growing shapes (decode: Lkv + 1 each step) from
// reallocating every call.
constexpr vk::DeviceSize kGranule = 64 * 1024;

std::atomic<bool> g_force_staging{false};

std::atomic<int> injected_failures{0};  // see fail_next_allocations

vk::DeviceSize round_up(vk::DeviceSize n) {
  return (std::max<vk::DeviceSize>(n, 1) + kGranule - 1) / kGranule * kGranule;
}

}  // namespace

void set_force_staging(bool on) noexcept { g_force_staging.store(on); }
bool force_staging() noexcept { return g_force_staging.load(); }

vk::DeviceSize largest_buffer(const DeviceInfo& info) noexcept {
  const std::uint64_t a = info.max_buffer_size, b = info.max_allocation_size;
  if (a == 0 || b == 0) return a + b;
  return std::min(a, b);
}

Memory::Memory(const vk::raii::PhysicalDevice& physical, const vk::raii::Device& device,
               vk::DeviceSize largest_buffer)
    : device_(&device), props_(physical.getMemoryProperties()), largest_buffer_(largest_buffer) {
  // Map device buffers directly only when the host-visible device-local heap is as large as
  // the largest device-local heap (the whole of VRAM, not a 256 MiB BAR) and host-cached:
  // memory the CPU reads at full speed (UMA, lavapipe). Resizable BAR on a discrete GPU is
  // uncached across PCIe: unpacking a 512² D=64 result from it took 68 ms on an H100 (f16:
  // seconds), 1.5 ms through a staging copy (docs/performance.md).
  vk::DeviceSize largest_local = 0;
  for (std::uint32_t h = 0; h < props_.memoryHeapCount; ++h) {
    if (props_.memoryHeaps[h].flags & vk::MemoryHeapFlagBits::eDeviceLocal)
      largest_local = std::max(largest_local, props_.memoryHeaps[h].size);
  }
  const vk::MemoryPropertyFlags mapped =
      MP::eDeviceLocal | MP::eHostVisible | MP::eHostCoherent | MP::eHostCached;
  for (std::uint32_t t = 0; t < props_.memoryTypeCount; ++t) {
    const auto& type = props_.memoryTypes[t];
    if ((type.propertyFlags & mapped) == mapped &&
        props_.memoryHeaps[type.heapIndex].size >= largest_local)
      direct_ = true;
  }
  if (force_staging()) direct_ = false;
}

std::int64_t Memory::find_type(std::uint32_t allowed, vk::MemoryPropertyFlags required,
                               vk::MemoryPropertyFlags preferred) const {
  std::int64_t fallback = -1;
  for (std::uint32_t t = 0; t < props_.memoryTypeCount; ++t) {
    if ((allowed & (1u << t)) == 0) continue;
    const vk::MemoryPropertyFlags flags = props_.memoryTypes[t].propertyFlags;
    if ((flags & required) != required) continue;
    if ((flags & preferred) == preferred) return t;
    if (fallback < 0) fallback = t;
  }
  return fallback;
}

void fail_next_allocations(int count) noexcept { injected_failures.store(count); }

Buffer Memory::create(vk::DeviceSize bytes, vk::BufferUsageFlags usage, Place place) const {
  // Test hook: fail before any Vulkan call, exactly as a failing vkAllocateMemory reports.
  if (injected_failures.load() > 0 && injected_failures.fetch_sub(1) > 0)
    throw vk::OutOfDeviceMemoryError("vkAllocateMemory (injected by fail_next_allocations)");
  Buffer b;
  b.buffer = vk::raii::Buffer(
      *device_, vk::BufferCreateInfo{
                    .size = bytes, .usage = usage, .sharingMode = vk::SharingMode::eExclusive});
  const vk::MemoryRequirements req = b.buffer.getMemoryRequirements();
  vk::MemoryPropertyFlags required;
  vk::MemoryPropertyFlags preferred;
  switch (place) {
    case Place::mapped_device:
      required = MP::eDeviceLocal | MP::eHostVisible | MP::eHostCoherent;
      preferred = required | MP::eHostCached;
      break;
    case Place::device_only:
      required = {};
      preferred = MP::eDeviceLocal;
      break;
    case Place::host:
      required = MP::eHostVisible | MP::eHostCoherent;
      preferred = required | MP::eHostCached;  // the host reads results back
      break;
  }
  const std::int64_t type = find_type(req.memoryTypeBits, required, preferred);
  if (type < 0) return {};  // caller falls back (mapped_device) or reports
  b.memory = vk::raii::DeviceMemory(
      *device_, vk::MemoryAllocateInfo{.allocationSize = req.size,
                                       .memoryTypeIndex = static_cast<std::uint32_t>(type)});
  b.buffer.bindMemory(*b.memory, 0);
  b.size = bytes;
  if (place != Place::device_only) b.mapped = b.memory.mapMemory(0, VK_WHOLE_SIZE);
  return b;
}

Slot& Memory::get(Role role, vk::DeviceSize bytes, Access access) {
  Slot& slot = slots_[static_cast<std::size_t>(role)];
  if (slot.device.size >= bytes) return slot;
  vk::DeviceSize size = round_up(bytes);
  // A request that fits one buffer must not be rounded past the limit (invalid usage).
  if (largest_buffer_ != 0 && bytes <= largest_buffer_) size = std::min(size, largest_buffer_);
  Slot fresh;
  if (access == Access::readback) {
    fresh.device = create(size, BU::eTransferDst, Place::host);
  } else {
    // Transfer bits let staging copies and the probabilities readback use any device buffer.
    // Uniform texel: the fused kernel may read K/V through R32_SFLOAT buffer views.
    const vk::BufferUsageFlags usage =
        BU::eStorageBuffer | BU::eUniformTexelBuffer | BU::eTransferSrc | BU::eTransferDst;
    if (direct_) fresh.device = create(size, usage, Place::mapped_device);
    if (fresh.device.size == 0) {
      fresh.device = create(size, usage, Place::device_only);
      if (access == Access::upload || access == Access::download)
        fresh.staging = create(size, BU::eTransferSrc | BU::eTransferDst, Place::host);
    }
  }
  if (fresh.device.size == 0 ||
      (fresh.staging.size == 0 && fresh.host() == nullptr && access != Access::device)) {
    throw vk::OutOfDeviceMemoryError("vkattn: no suitable Vulkan memory type for a buffer");
  }
  slot = std::move(fresh);  // the old buffers go only after the new ones exist
  return slot;
}

}  // namespace vkattn::vulkan
