// SPDX-License-Identifier: MIT
#pragma once

// Internal knobs of the Vulkan kernels that tests pin down. Free of Vulkan headers so tests
// can include it cheaply.

#include <cstdint>

namespace vkattn::vulkan {

// Default cap on the three-pass S/P workspace; also capped by maxStorageBufferRange.
inline constexpr std::uint64_t kDefaultWorkspaceBudget = 64ull << 20;

// Test hook: overrides the three-pass workspace budget in bytes (0 restores the default), so
// a small problem can be forced through several chunks. Process-wide; thread-safe.
void set_three_pass_workspace_budget(std::uint64_t bytes) noexcept;
[[nodiscard]] std::uint64_t three_pass_workspace_budget() noexcept;

// Test hook: Contexts created while set never map device buffers, even where memory allows
// it, so the staging-copy path (discrete GPUs) runs on any device.
void set_force_staging(bool on) noexcept;
[[nodiscard]] bool force_staging() noexcept;

// Test hook: the fused kernels plan flash_tiled.comp on every device (normally GPUs only),
// so that CPU drivers check it against the reference. Process-wide; off by default.
void set_force_tiled(bool on) noexcept;

// Test hook: the fused kernels read Q, K and V through storage buffers on every device
// (CPU drivers normally use texel buffers), so that CPU drivers check the storage-buffer
// variants against the reference. Process-wide; off by default.
void set_force_storage_buffers(bool on) noexcept;

// Test hook: caps the tiles each workgroup of the fused kernel's work queue takes (CPU
// drivers; 0 restores the planner's cap from the loop budget), so that small problems run
// workgroups that stop at the cap while others take the rest. Process-wide.
void set_work_queue_take(std::uint32_t tiles) noexcept;

}  // namespace vkattn::vulkan
