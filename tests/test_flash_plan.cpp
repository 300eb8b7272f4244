// SPDX-License-Identifier: MIT
// The fused kernels' planner (src/vulkan/flash.cpp) on GPUs that CI does not have: device
// descriptions with the limits of NVIDIA, AMD and Intel GPUs and of a minimal Vulkan device,
// and the shapes flash_tiled.comp relies on (lanes of a row inside the smallest subgroup,
// whole RGBA chunks per lane, a tile within the shared memory, whole subgroups per workgroup,
// 128 floats of registers per thread). The kernel itself runs against the reference in
// test_flash.cpp, forced onto lavapipe.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/problem.hpp"
#include "vkattn/types.hpp"
#include "vulkan/flash.hpp"

namespace vkattn::vulkan {
namespace {

struct Gpu {
  const char* name;
  std::uint32_t subgroup, min_subgroup, shared_bytes, invocations;
};

// Limits as their drivers report them (NVIDIA: H100/H200 with driver 580; AMD RDNA: wave32
// or wave64 per pipeline; Intel Xe: SIMD8-32 per pipeline; the spec's minimum shared memory).
const Gpu kGpus[] = {
    {"nvidia", 32, 32, 48 * 1024, 1024},
    {"amd", 64, 32, 64 * 1024, 1024},
    {"intel", 32, 8, 64 * 1024, 1024},
    {"minimal", 32, 32, 16 * 1024, 128},
};

// A Device with `gpu`'s limits; no Vulkan objects beyond the loaded loader.
std::unique_ptr<Device> fake_device(const Gpu& gpu) {
  auto dev = std::make_unique<Device>(vk::raii::Context());
  dev->info.type = "discrete";
  dev->info.subgroup_size = gpu.subgroup;
  dev->min_subgroup_size = gpu.min_subgroup;
  dev->limits.maxComputeSharedMemorySize = gpu.shared_bytes;
  dev->limits.maxComputeWorkGroupInvocations = gpu.invocations;
  dev->limits.maxComputeWorkGroupCount[0] = 65535;
  dev->limits.maxComputeWorkGroupCount[1] = 65535;
  dev->limits.maxComputeWorkGroupCount[2] = 65535;
  dev->limits.maxTexelBufferElements = 1u << 27;
  return dev;
}

detail::Problem problem(std::int64_t hq, std::int64_t hkv, std::int64_t lq, std::int64_t lkv,
                        std::int64_t dk, std::int64_t dv) {
  AttentionDesc d;
  d.batch = 1;
  d.heads_q = hq;
  d.heads_kv = hkv;
  d.len_q = lq;
  d.len_kv = lkv;
  d.head_dim = dk;
  d.head_dim_v = dv;
  detail::Problem p = detail::validate_desc(d);
  p.kv_stride = lkv;
  return p;
}

TEST(FlashPlanGpu, TiledShapesFitEveryDevice) {
  const std::vector<detail::Problem> problems = {
      problem(32, 8, 512, 512, 64, 64),    problem(32, 8, 2048, 2048, 128, 128),
      problem(8, 8, 300, 300, 80, 80),     problem(4, 2, 100, 100, 96, 64),
      problem(8, 8, 200, 200, 256, 256),   problem(32, 8, 1, 8192, 128, 128),
      problem(32, 32, 1, 4096, 128, 128),  problem(8, 1, 2, 1000, 64, 64),
      problem(16, 2, 3, 700, 48, 48),      problem(1, 1, 17, 33, 5, 7),
  };
  for (const Gpu& gpu : kGpus) {
    const auto dev = fake_device(gpu);
    for (const detail::Problem& p : problems) {
      for (const bool split : {false, true}) {
        const FlashShape s = plan_flash(p, *dev, split);
        const std::string where = std::string(gpu.name) + " Hq=" + std::to_string(p.heads_q) +
                                  " Hkv=" + std::to_string(p.heads_kv) + " Lq=" +
                                  std::to_string(p.len_q) + " D=" + std::to_string(p.dim_qk) +
                                  "/" + std::to_string(p.dim_v) + " split=" + std::to_string(split);
        const std::uint64_t tile_bytes = std::uint64_t{s.key_block} * (s.dk + s.dv) * 4;
        if (!s.tiled) {
          // Only where one tile of 8 keys does not fit: D=256 in 16 KiB.
          EXPECT_GT(8 * std::uint64_t{s.dk + s.dv} * 4 + 64, gpu.shared_bytes) << where;
          continue;
        }
        EXPECT_EQ(s.tpr & (s.tpr - 1), 0u) << where;
        EXPECT_LE(s.tpr, gpu.min_subgroup) << where;
        EXPECT_EQ(s.dk % (4 * s.tpr), 0u) << where;
        EXPECT_EQ(s.dv % (4 * s.tpr), 0u) << where;
        EXPECT_EQ(s.key_block % 8, 0u) << where;
        EXPECT_LE(tile_bytes + 64, gpu.shared_bytes) << where;
        EXPECT_LE(s.wg, gpu.invocations) << where;
        EXPECT_EQ(s.wg % gpu.subgroup, 0u) << where;
        EXPECT_LE(s.rows * (s.dk + s.dv) / s.tpr, 128u) << where;
        EXPECT_EQ(rows_per_workgroup(s), s.wg / s.tpr * s.rows) << where;
        EXPECT_NE(s.why_splits.find("(tiled kernel)"), std::string::npos) << where;
        if (!split) {
          EXPECT_EQ(s.splits, 1u) << where;
        }
      }
    }
  }
}

// The shapes the H200 sweep chose (docs/performance.md): prefill D=128 8 lanes × 4 rows over
// 16-key tiles, D=64 4 × 2 over 16 keys, GQA decode a subgroup of 32 per row over 8-key tiles
// with key slices that keep the GPU busy.
TEST(FlashPlanGpu, MeasuredDefaultsOnAnH200) {
  const auto dev = fake_device(kGpus[0]);
  const FlashShape prefill128 = plan_flash(problem(32, 8, 2048, 2048, 128, 128), *dev, false);
  EXPECT_EQ(prefill128.tpr, 8u);
  EXPECT_EQ(prefill128.rows, 4u);
  EXPECT_EQ(prefill128.key_block, 16u);
  const FlashShape prefill64 = plan_flash(problem(32, 8, 2048, 2048, 64, 64), *dev, false);
  EXPECT_EQ(prefill64.tpr, 4u);
  EXPECT_EQ(prefill64.rows, 2u);
  EXPECT_EQ(prefill64.key_block, 16u);
  const FlashShape decode = plan_flash(problem(32, 8, 1, 8192, 128, 128), *dev, true);
  EXPECT_EQ(decode.tpr, 32u);
  EXPECT_EQ(decode.rows, 1u);
  EXPECT_EQ(decode.key_block, 8u);
  EXPECT_EQ(rows_per_workgroup(decode), 4u);  // the 4 query heads of one KV head
  EXPECT_EQ(decode.splits, 64u) << decode.why_splits;
}

// CPU drivers keep flash_attn.comp / flash_decode.comp: barriers and shared memory run as
// coroutines there (the tiled kernel ran at 1.6 GFLOP/s on lavapipe where flash_attn.comp
// ran at 31).
TEST(FlashPlanGpu, CpuDevicesKeepTheShuffleKernels) {
  auto dev = fake_device({"llvmpipe", 8, 8, 32 * 1024, 1024});
  dev->info.type = "cpu";
  const FlashShape s = plan_flash(problem(32, 8, 512, 512, 128, 128), *dev, false);
  EXPECT_FALSE(s.tiled);
  EXPECT_TRUE(s.shuffle_loads);
}

// On CPU drivers flash_attn.comp's workgroups take tiles from a queue (llvmpipe hands each
// thread its share of workgroups up front). Every tile must be taken: the workgroups can take
// 4 times the tiles (or there is one per tile). No workgroup may pass llvmpipe's 65,535 loop
// iterations: the key blocks of its tiles plus one per tile taken, the longest slice each.
TEST(FlashPlanCpu, WorkQueueTakesEveryTileWithinTheLoopBudget) {
  auto dev = fake_device({"llvmpipe", 8, 8, 32 * 1024, 1024});
  dev->info.type = "cpu";
  dev->loop_limited = true;
  const std::vector<detail::Problem> problems = {
      problem(32, 8, 512, 512, 128, 128),
      problem(32, 8, 4096, 4096, 128, 128),
      problem(8, 8, 300, 300, 80, 80),
      problem(1, 1, 64, 1 << 20, 16, 16),
      problem(4, 4, 2000, 500000, 32, 32),
      problem(1, 1, 20, 600, 64, 64),
      problem(2, 2, 1, 1, 8, 8),
      problem(32, 8, 1, 8192, 128, 128),
      // More tiles than a grid dimension holds: the workgroups take several each.
      problem(32, 8, 131072, 131072, 128, 128),
  };
  for (const detail::Problem& p : problems) {
    for (const bool split : {false, true}) {
      const FlashShape s = plan_flash(p, *dev, split);
      const std::string where = "Hq=" + std::to_string(p.heads_q) +
                                " Lq=" + std::to_string(p.len_q) +
                                " Lkv=" + std::to_string(p.len_kv) +
                                " split=" + std::to_string(split) + ": " + s.why_splits;
      const std::uint64_t rows = static_cast<std::uint64_t>(p.group() * p.len_q);
      const std::uint64_t tiles = (rows + rows_per_workgroup(s) - 1) / rows_per_workgroup(s) *
                                  static_cast<std::uint64_t>(p.batch * p.heads_kv) * s.splits;
      const std::uint64_t key_blocks =
          (static_cast<std::uint64_t>(p.len_kv) + s.key_block - 1) / s.key_block;
      const std::uint64_t slice_blocks = (key_blocks + s.splits - 1) / s.splits;
      EXPECT_EQ(s.work_queue, tiles > 1) << where;
      if (!s.work_queue) continue;
      EXPECT_GE(s.queue_take, 1u) << where;
      EXPECT_LE(s.queue_take * (slice_blocks + 1) + 1, 65535u) << where;
      EXPECT_LE(s.queue_groups, std::min<std::uint64_t>(tiles, 65535)) << where;
      const std::uint64_t capacity = std::uint64_t{s.queue_groups} * s.queue_take;
      EXPECT_GE(capacity, tiles) << where;
      EXPECT_TRUE(s.queue_groups == tiles || s.queue_groups == 65535 || capacity >= 4 * tiles)
          << where;
      EXPECT_GE(s.queue_groups, std::min<std::uint64_t>(tiles, 64)) << where;
    }
  }
  // GPUs schedule workgroups as they free up: no queue there.
  for (const Gpu& gpu : kGpus) {
    EXPECT_FALSE(
        plan_flash(problem(32, 8, 512, 512, 128, 128), *fake_device(gpu), false).work_queue)
        << gpu.name;
  }
}

}  // namespace
}  // namespace vkattn::vulkan
