// SPDX-License-Identifier: MIT
#pragma once

// The three-pass kernel: S = scale·QKᵀ (+ masks) -> row softmax (P, LSE) -> O = P·V, over
// chunks of (batch·head, query rows) so the S/P workspace stays under a fixed budget.

#include <cstdint>

#include "core/problem.hpp"
#include "vulkan/device.hpp"
#include "vulkan/pipelines.hpp"
#include "vulkan/vk.hpp"

namespace vkattn::vulkan {

// Workgroup size and tile sizes of one pass (the values of its specialization constants).
struct TileConfig {
  std::uint32_t wg = 0;
  std::uint32_t tile_m = 0;
  std::uint32_t tile_n = 0;
  std::uint32_t tile_k = 0;
};

struct ThreePassShape {
  TileConfig qk;
  TileConfig softmax;
  TileConfig weighted;
  std::int64_t bh_per_chunk = 0;    // (batch·head) pairs per chunk
  std::int64_t rows_per_chunk = 0;  // query rows per chunk
  std::uint64_t workspace_bytes = 0;
};

// Tile sizes from the device limits and the chunking for `problem`.
// Throws Error{unsupported} when one score row exceeds the workspace budget or a device
// limit (workgroup counts, llvmpipe's loop limit) rules the problem out.
[[nodiscard]] ThreePassShape plan_three_pass(const detail::Problem& problem, const Device& device);

struct ThreePassIo {
  Binding q, k, v, mask, kv_lens, out, lse, workspace;  // mask/kv_lens: dummy when absent
  vk::Buffer probs;  // host-visible [B, Hq, Lq, Lkv] readback, or null when not requested
};

// Records every chunk's three passes (and the probabilities copies) into `cmd`. The
// returned descriptor sets must live until the command buffer has completed.
[[nodiscard]] vk::raii::DescriptorSets record_three_pass(
    const vk::raii::Device& device, const vk::raii::DescriptorPool& pool, Pipelines& pipelines,
    const vk::raii::CommandBuffer& cmd, const detail::Problem& problem, const ThreePassShape& shape,
    const ThreePassIo& io);

}  // namespace vkattn::vulkan
