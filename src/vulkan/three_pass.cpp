// SPDX-License-Identifier: MIT
// Three-pass kernel: tile choice from device limits, chunking under the workspace budget,
// and the recording of each chunk's passes with the barriers between them.
#include "vulkan/three_pass.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <optional>
#include <string>

#include "interface.h"
#include "vkattn/error.hpp"
#include "vulkan/transfer.hpp"
#include "vulkan/tuning.hpp"

namespace vkattn::vulkan {
namespace {

std::atomic<std::uint64_t> g_workspace_budget{0};

// qk_scores and weighted_sum give each invocation 4 query rows (ROWS in the shaders).
constexpr std::uint32_t kRowsPerInvocation = 4;
// llvmpipe ends shader loops after this many iterations per invocation (all loops together).
constexpr std::uint64_t kLoopLimit = 65535;

struct DeviceLimits {
  std::uint32_t subgroup;
  std::uint32_t max_invocations;
  std::uint32_t max_wg_x;
  std::uint32_t max_shared;
};

DeviceLimits limits_of(const Device& d) {
  return {std::max<std::uint32_t>(d.info.subgroup_size, 1), d.limits.maxComputeWorkGroupInvocations,
          d.limits.maxComputeWorkGroupSize[0], d.limits.maxComputeSharedMemorySize};
}

bool fits(std::uint32_t wg, std::uint64_t shared_bytes, const DeviceLimits& l) {
  // A workgroup that is a whole number of subgroups leaves no lane idle.
  return wg % l.subgroup == 0 && wg <= l.max_invocations && wg <= l.max_wg_x &&
         shared_bytes <= l.max_shared;
}

std::uint64_t qk_shared(const TileConfig& t) {
  return 4ull * (t.tile_m * t.tile_k + t.tile_n * (t.tile_k + 1));
}
std::uint64_t weighted_shared(const TileConfig& t) {
  return 4ull * (t.tile_m * (t.tile_k + 1) + t.tile_k * t.tile_n);
}

// The largest candidate (wg, tile_n, tile_k) that fits the device, with tile_m implied by
// the shaders' 4 rows per invocation. Candidates go from big tiles (fewer redundant loads)
// to the smallest that any Vulkan device holds (16 KiB shared, 128 invocations).
template <class SharedBytes>
TileConfig pick_tiles(const DeviceLimits& l, std::uint32_t tile_k, SharedBytes shared) {
  constexpr std::array<std::array<std::uint32_t, 2>, 4> candidates{
      {{256, 32}, {128, 32}, {64, 16}, {32, 8}}};
  for (const auto& [wg, tn] : candidates) {
    for (std::uint32_t tk = tile_k; tk >= 4; tk /= 2) {
      const TileConfig t{wg, kRowsPerInvocation * wg / tn, tn, tk};
      if (fits(wg, shared(t), l)) return t;
    }
  }
  // Subgroups wider than every candidate: one subgroup per workgroup.
  const std::uint32_t wg = l.subgroup;
  return {wg, kRowsPerInvocation * wg / 16, 16, 4};
}

TileConfig pick_softmax(const DeviceLimits& l) {
  // Power of two for the tree reduction.
  for (std::uint32_t wg = 256; wg >= 1; wg /= 2) {
    if (fits(wg, 4ull * wg, l)) return {wg, 0, 0, 0};
  }
  return {l.subgroup, 0, 0, 0};
}

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; }

[[noreturn]] void unsupported(const std::string& what) {
  throw Error(ErrorCode::unsupported, "three-pass: " + what);
}

}  // namespace

void set_three_pass_workspace_budget(std::uint64_t bytes) noexcept {
  g_workspace_budget.store(bytes);
}
std::uint64_t three_pass_workspace_budget() noexcept {
  const std::uint64_t b = g_workspace_budget.load();
  return b != 0 ? b : kDefaultWorkspaceBudget;
}

ThreePassShape plan_three_pass(const detail::Problem& p, const Device& device) {
  const DeviceLimits l = limits_of(device);
  ThreePassShape s;
  s.qk = pick_tiles(l, 16, qk_shared);
  s.weighted = pick_tiles(l, 32, weighted_shared);
  s.softmax = pick_softmax(l);

  const auto lkv = static_cast<std::uint64_t>(p.len_kv);
  const auto lq = static_cast<std::uint64_t>(p.len_q);
  const auto bh = static_cast<std::uint64_t>(p.batch * p.heads_q);
  const auto& count = device.limits.maxComputeWorkGroupCount;

  // The workspace is bound as one storage buffer, so it also obeys maxStorageBufferRange.
  const std::uint64_t budget =
      std::min<std::uint64_t>(three_pass_workspace_budget(), device.limits.maxStorageBufferRange);
  const std::uint64_t row_bytes = std::max<std::uint64_t>(lkv, 1) * 4;
  if (row_bytes > budget) {
    unsupported("one score row of len_kv=" + std::to_string(lkv) + " needs " +
                std::to_string(row_bytes) + " bytes, above the workspace budget of " +
                std::to_string(budget) + " bytes");
  }
  // Rows are the softmax grid's x dimension; a chunk never exceeds it.
  const std::uint64_t rows = std::min({lq, budget / row_bytes, std::uint64_t{count[0]}});
  // Whole heads per chunk only when a head's rows all fit; z of the grid bounds the count.
  const std::uint64_t heads =
      rows == lq ? std::min({bh, budget / (rows * row_bytes), std::uint64_t{count[2]}}) : 1;
  s.rows_per_chunk = static_cast<std::int64_t>(rows);
  s.bh_per_chunk = static_cast<std::int64_t>(std::max<std::uint64_t>(heads, 1));
  s.workspace_bytes = static_cast<std::uint64_t>(s.bh_per_chunk) * rows * row_bytes;

  if (ceil_div(lkv, s.qk.tile_n) > count[0]) {
    unsupported("len_kv=" + std::to_string(lkv) + " needs more than maxComputeWorkGroupCount[0]=" +
                std::to_string(count[0]) + " workgroups");
  }
  if (device.loop_limited) {
    // Conservative iteration counts per invocation (as if no loop were unrolled).
    const TileConfig& w = s.weighted;
    const std::uint64_t weighted =
        ceil_div(lkv, w.tile_k) *
        (2 + ceil_div(w.tile_m * w.tile_k, w.wg) + ceil_div(w.tile_k * w.tile_n, w.wg) + w.tile_k);
    const std::uint64_t softmax = 3 * ceil_div(lkv, s.softmax.wg) + 64;
    if (std::max(weighted, softmax) >= kLoopLimit) {
      unsupported("len_kv=" + std::to_string(lkv) + " needs ~" +
                  std::to_string(std::max(weighted, softmax)) +
                  " loop iterations per shader invocation, above llvmpipe's limit of 65535");
    }
  }
  return s;
}

vk::raii::DescriptorSets record_three_pass(const vk::raii::Device& device,
                                           const vk::raii::DescriptorPool& pool,
                                           Pipelines& pipelines, const vk::raii::CommandBuffer& cmd,
                                           const detail::Problem& p, const ThreePassShape& s,
                                           const ThreePassIo& io) {
  const auto spec = [](const TileConfig& t) {
    return SpecValues{t.wg, t.tile_m, t.tile_n, t.tile_k, 0, 0, 0};
  };
  const PipelineRef qk = pipelines.get({gpu::ShaderId::qk_scores, 5, spec(s.qk)});
  const PipelineRef sm = pipelines.get({gpu::ShaderId::softmax, 2, spec(s.softmax)});
  const PipelineRef ws = pipelines.get({gpu::ShaderId::weighted_sum, 3, spec(s.weighted)});

  const std::array<vk::DescriptorSetLayout, 3> layouts{qk.set_layout, sm.set_layout, ws.set_layout};
  vk::raii::DescriptorSets sets(
      device, vk::DescriptorSetAllocateInfo{
                  .descriptorPool = *pool, .descriptorSetCount = 3, .pSetLayouts = layouts.data()});
  // The same buffers serve every chunk; only push constants change per chunk.
  const std::array<std::vector<Binding>, 3> bindings{
      {{io.q, io.k, io.mask, io.kv_lens, io.workspace},
       {io.workspace, io.lse},
       {io.workspace, io.v, io.out}}};
  for (std::size_t set = 0; set < 3; ++set) write_bindings(device, *sets[set], bindings[set]);

  using Stage = vk::PipelineStageFlagBits;
  using Access = vk::AccessFlagBits;
  const auto barrier = [&](vk::PipelineStageFlags src, vk::PipelineStageFlags dst,
                           vk::AccessFlags src_access, vk::AccessFlags dst_access) {
    memory_barrier(cmd, src, dst, src_access, dst_access);
  };
  const auto run = [&](const PipelineRef& pipe, vk::DescriptorSet set,
                       const gpu::AttentionParams& params, std::uint64_t x, std::uint64_t y,
                       std::uint64_t z) { dispatch(cmd, pipe, set, params, x, y, z); };

  const gpu::AttentionParams base = base_params(p);
  const std::int64_t bh_total = p.batch * p.heads_q;
  const std::uint64_t lkv = static_cast<std::uint64_t>(p.len_kv);
  bool first = true;
  for (std::int64_t bh0 = 0; bh0 < bh_total; bh0 += s.bh_per_chunk) {
    const std::int64_t nbh = std::min(s.bh_per_chunk, bh_total - bh0);
    for (std::int64_t r0 = 0; r0 < p.len_q; r0 += s.rows_per_chunk) {
      const std::int64_t rows = std::min(s.rows_per_chunk, p.len_q - r0);
      gpu::AttentionParams params = base;
      params.bh_begin = static_cast<std::uint32_t>(bh0);
      params.row_begin = static_cast<std::uint32_t>(r0);
      params.row_count = static_cast<std::uint32_t>(rows);
      const auto urows = static_cast<std::uint64_t>(rows);
      const auto unbh = static_cast<std::uint64_t>(nbh);

      // The previous chunk's PV pass and probabilities copy read the workspace this chunk
      // overwrites (write-after-read: an execution dependency suffices).
      if (!first) barrier(Stage::eComputeShader | Stage::eTransfer, Stage::eComputeShader, {}, {});
      first = false;
      run(qk, *sets[0], params, ceil_div(lkv, s.qk.tile_n), ceil_div(urows, s.qk.tile_m), unbh);
      // Softmax reads and rewrites the scores pass 1 wrote.
      barrier(Stage::eComputeShader, Stage::eComputeShader, Access::eShaderWrite,
              Access::eShaderRead | Access::eShaderWrite);
      run(sm, *sets[1], params, urows, 1, unbh);
      // P is read by the PV pass and, when requested, copied out by a transfer.
      barrier(Stage::eComputeShader, Stage::eComputeShader | Stage::eTransfer, Access::eShaderWrite,
              Access::eShaderRead | Access::eTransferRead);
      if (io.probs) {
        std::vector<vk::BufferCopy> regions;
        const vk::DeviceSize bytes = urows * lkv * 4;
        for (std::uint64_t z = 0; z < unbh; ++z) {
          const auto dst_row =
              (static_cast<std::uint64_t>(bh0) + z) * static_cast<std::uint64_t>(p.len_q) +
              static_cast<std::uint64_t>(r0);
          regions.push_back(
              {.srcOffset = z * bytes, .dstOffset = dst_row * lkv * 4, .size = bytes});
        }
        cmd.copyBuffer(io.workspace.buffer, io.probs, regions);
      }
      run(ws, *sets[2], params, ceil_div(static_cast<std::uint64_t>(p.dim_v), s.weighted.tile_n),
          ceil_div(urows, s.weighted.tile_m), unbh);
    }
  }
  return sets;
}

}  // namespace vkattn::vulkan
