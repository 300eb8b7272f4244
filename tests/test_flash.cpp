// SPDX-License-Identifier: MIT
// The fused kernels (shaders/flash_attn.comp, flash_decode.comp, flash_tiled.comp +
// combine.comp, src/vulkan/flash.cpp), forced as flash (one pass over the keys) and as
// split-KV (key slices merged by LSE), against the double-precision reference with the
// validation layer on. One list of cases serves all; the tiled kernel (the GPUs') runs on
// lavapipe through a test hook.
#include <string>
#include <tuple>
#include <vector>

#include "attention_case.hpp"
#include "testutil.hpp"
#include "vulkan/tuning.hpp"

namespace vkattn::test {
namespace {

struct Named {
  const char* name;
  Case c;
};

// Lengths straddle the tiles (8-key blocks, 2·8 or 64 rows per workgroup); head dims cover the
// padding buckets (16, 32, 48, 64, 96, 128, 160, 256) and odd values that need padding.
std::vector<Named> cases() {
  std::vector<Named> v;
  const auto add = [&](const char* name, Case c) { v.push_back({name, c}); };
  add("tiny", shape(1, 1, 1, 1, 1, 8, 8, 1));
  add("odd_dims", shape(2, 3, 3, 17, 63, 5, 33, 2));
  add("dim1", shape(1, 2, 2, 2, 65, 1, 1, 3));
  add("dim80_len129", shape(2, 1, 1, 129, 127, 80, 80, 4));
  add("dim96_len64", shape(1, 2, 2, 64, 64, 96, 96, 5));
  add("dim128_len65", shape(1, 2, 2, 65, 129, 128, 128, 6));
  add("dim255_256", shape(1, 1, 1, 33, 70, 255, 256, 7));
  add("long_1000", shape(1, 1, 1, 1000, 1000, 64, 64, 8));
  add("decode_1x4096", shape(1, 8, 2, 1, 4096, 128, 128, 9));
  add("gqa_4to1", shape(2, 8, 2, 37, 91, 64, 64, 10));
  add("mqa_8to1", shape(1, 8, 1, 5, 300, 32, 32, 11));
  add("dk_ne_dv", shape(1, 4, 2, 40, 50, 64, 32, 12));
  Case c = shape(2, 2, 2, 100, 100, 64, 64, 13);
  c.magnitude = 30.0f;
  add("magnitude30", c);
  c = shape(2, 4, 2, 17, 65, 64, 64, 14);
  c.causal = Causal::top_left;
  add("causal_top_left_cross", c);
  c.causal = Causal::bottom_right;
  add("causal_bottom_right_cross", c);
  c = shape(1, 2, 2, 65, 17, 32, 32, 15);
  c.causal = Causal::bottom_right;  // Lq > Lkv: the first rows see nothing
  add("causal_bottom_right_empty_rows", c);
  c = shape(1, 2, 1, 80, 80, 64, 64, 16);
  c.causal = Causal::bottom_right;
  c.window_left = 7;
  c.window_right = 0;
  add("window_causal", c);
  c.causal = Causal::none;
  c.window_left = 5;
  c.window_right = 3;
  add("window_two_sided", c);
  c = shape(2, 4, 4, 33, 47, 32, 32, 17);
  c.mask = MaskMode::boolean;
  c.mask_shape = {0, 1, 0, 0};
  add("bool_mask_broadcast_heads", c);
  c.mask = MaskMode::additive;
  c.mask_shape = {1, 1, 0, 0};
  add("additive_mask_2d", c);
  c.mask_dtype = DType::f16;
  c.mask_shape = {0, 0, 1, 0};
  add("f16_mask_broadcast_rows", c);
  c = shape(3, 4, 2, 9, 70, 64, 64, 18);
  c.kv_lens = true;
  add("kv_lens", c);
  c.causal = Causal::bottom_right;
  add("kv_lens_bottom_right", c);
  c.causal = Causal::none;
  c.mask = MaskMode::boolean;
  c.mask_shape = {0, 1, 1, 0};  // per-batch key padding mask, as in BERT-style batches
  add("bool_mask_with_kv_lens", c);
  c = shape(1, 2, 2, 50, 60, 64, 64, 19);
  c.softcap = 5.0f;
  c.magnitude = 4.0f;
  c.causal = Causal::top_left;
  add("softcap_causal", c);
  c = shape(2, 2, 1, 31, 45, 64, 64, 20);
  c.dtype = DType::f16;
  add("f16", c);
  c.dtype = DType::bf16;
  add("bf16", c);
  c = shape(1, 8, 2, 1, 777, 128, 128, 21);
  c.dtype = DType::f16;
  c.causal = Causal::bottom_right;
  add("f16_decode_bottom_right", c);
  c = shape(1, 8, 2, 1, 3000, 64, 64, 23);  // caught by an independent numpy check of `vkattn run`
  c.dtype = DType::f16;
  c.causal = Causal::bottom_right;
  add("f16_decode_3000_bottom_right", c);
  c = shape(2, 3, 3, 19, 23, 48, 48, 22);
  c.blhd = true;
  add("blhd", c);
  // Decode shapes with fewer rows per KV head than half the lanes. Head dims of R32F texels
  // (padded to 48) run flash_attn.comp with the lanes splitting the head dim into 2, 4 and 8
  // groups; whole RGBA chunks run flash_decode.comp (every lane on all rows): 1 row, 3 rows
  // padded to 4, 2 query positions with Dk != Dv. Every per-score feature on each.
  c = shape(2, 4, 2, 1, 300, 80, 48, 31);
  c.causal = Causal::bottom_right;
  c.kv_lens = true;
  c.mask = MaskMode::boolean;
  c.mask_shape = {0, 1, 0, 0};
  add("decode_split_dims_mask_kv_lens", c);
  c = shape(1, 3, 3, 2, 200, 40, 40, 32);
  c.softcap = 5.0f;
  c.magnitude = 4.0f;
  c.causal = Causal::bottom_right;
  c.window_left = 50;
  add("decode_split_dims_softcap_window", c);
  // One MHA decode row per KV head with an additive mask: 8 head-dim groups (R32F), or the
  // decode kernel with a single row (RGBA).
  const auto mha_additive_mask = [](std::int64_t dim, std::uint64_t seed) {
    Case m = shape(1, 2, 2, 1, 129, dim, dim, seed);
    m.mask = MaskMode::additive;
    m.mask_shape = {1, 0, 1, 0};
    return m;
  };
  add("decode_mha_split_dims_additive_mask", mha_additive_mask(40, 33));
  add("decode_kernel_mha_additive_mask", mha_additive_mask(64, 37));
  c = shape(1, 8, 2, 1, 100, 48, 48, 36);
  c.causal = Causal::bottom_right;
  add("decode_gqa_split_dims", c);
  c = shape(2, 6, 2, 1, 300, 64, 64, 34);
  c.causal = Causal::bottom_right;
  c.kv_lens = true;
  c.softcap = 5.0f;
  c.magnitude = 4.0f;
  c.window_left = 100;
  add("decode_kernel_padding_row_kv_lens_softcap_window", c);
  c = shape(1, 4, 2, 2, 150, 96, 64, 35);
  c.mask = MaskMode::boolean;
  c.mask_shape = {1, 0, 0, 0};
  add("decode_kernel_two_queries_dk_ne_dv_bool_mask", c);
  return v;
}

// (kernel, tiled, case): `tiled` plans flash_tiled.comp, the GPUs' kernel, on any device
// (vulkan::set_force_tiled), so that lavapipe checks it too; GPUs run it either way.
using FusedParam = std::tuple<Kernel, bool, int>;

class FusedKernel : public VulkanTest, public ::testing::WithParamInterface<FusedParam> {
 protected:
  void TearDown() override {
    vulkan::set_force_tiled(false);
    VulkanTest::TearDown();
  }
};

TEST_P(FusedKernel, MatchesReference) {
  if (ctx_ == nullptr) return;
  const auto [kernel, tiled, index] = GetParam();
  const Named n = cases()[static_cast<std::size_t>(index)];
  Context* ctx = shared_context(kernel);
  vulkan::set_force_tiled(tiled);
  const Outcome r = run_case(*ctx, n.c);
  expect_ok(n.c, r, kernel);
  EXPECT_EQ(r.plan.workspace_bytes == 0,
            kernel == Kernel::flash || r.plan.reason.find("one key slice") != std::string::npos)
      << r.plan.reason;
  if (tiled) {
    EXPECT_NE(r.plan.reason.find("(tiled kernel)"), std::string::npos) << r.plan.reason;
  }
}

std::string case_name(const ::testing::TestParamInfo<FusedParam>& info) {
  const auto [kernel, tiled, index] = info.param;
  return std::string(tiled ? "tiled_" : "") + (kernel == Kernel::flash ? "flash_" : "split_kv_") +
         cases()[static_cast<std::size_t>(index)].name;
}

// Every case through flash and split-kv, and through the tiled kernel as flash; the tiled
// kernel's key slices (split-kv) on the decode and long cases, where they are many.
// Grouped by kernel, not by case: flash and split-kv run the same pipelines on a case, and
// ctest -j runs neighbouring tests at once, so neighbours would both compile them on a cold
// driver cache (llvmpipe: seconds each) where, apart, the second finds them cached.
std::vector<FusedParam> params() {
  std::vector<FusedParam> v;
  const std::vector<Named> all = cases();
  const auto each_case = [&](Kernel kernel, bool tiled) {
    for (int i = 0; i < static_cast<int>(all.size()); ++i) {
      const std::string& name = all[static_cast<std::size_t>(i)].name;
      const bool many_slices =
          name.find("decode") != std::string::npos || name.find("long") != std::string::npos ||
          name.find("kv_lens") != std::string::npos || name.find("window") != std::string::npos;
      if (kernel == Kernel::flash || !tiled || many_slices) v.emplace_back(kernel, tiled, i);
    }
  };
  each_case(Kernel::flash, false);
  each_case(Kernel::flash, true);
  each_case(Kernel::split_kv, false);
  each_case(Kernel::split_kv, true);
  return v;
}

INSTANTIATE_TEST_SUITE_P(Kernels, FusedKernel, ::testing::ValuesIn(params()), case_name);

// f16 calls upload K and V as f16. CPU drivers read them through RGBA16F/R16F texel views (the
// cases above); GPUs through flash_attn_kv_half or flash_tiled_kv_half (the tiled cases above).
// Here flash_attn.comp's storage-buffer path, forced on this device, on small f16 calls
// (lavapipe compiles each variant anew and reads storage buffers lane by lane): GQA with
// causal rows, and a decode that splits its keys.
TEST_F(VulkanTest, HalfCallsThroughStorageBuffers) {
  if (ctx_ == nullptr) return;
  Case prefill = shape(2, 4, 2, 9, 40, 16, 16, 31);
  prefill.causal = Causal::bottom_right;
  Case decode = shape(1, 4, 2, 1, 600, 16, 16, 32);
  for (Case* c : {&prefill, &decode}) c->dtype = DType::f16;
  vulkan::set_force_storage_buffers(true);
  for (const Case& c : {prefill, decode})
    for (Kernel kernel : {Kernel::flash, Kernel::split_kv}) {
      SCOPED_TRACE(to_string(kernel));
      expect_ok(c, run_case(*shared_context(kernel), c), kernel);
    }
  vulkan::set_force_storage_buffers(false);
}

// CPU drivers run flash_attn.comp from a work queue: workgroups take tiles (row block, KV
// head, key slice) in whatever order they come. Here each workgroup may take only 1 or 3, so
// most stop at that cap while others take the rest: GQA rows with causal bounds over row
// blocks and heads, and key slices merged by split-KV.
TEST_F(VulkanTest, WorkQueueWorkgroupsStopAtTheirCap) {
  if (ctx_ == nullptr) return;
  Case prefill = shape(2, 8, 2, 37, 91, 32, 32, 51);
  prefill.causal = Causal::bottom_right;
  const Case slices = shape(1, 1, 1, 20, 600, 16, 16, 52);
  const bool cpu_driver = ctx_->device().type == "cpu";
  for (const std::uint32_t take : {1u, 3u}) {
    vulkan::set_work_queue_take(take);
    for (const auto& [c, kernel] :
         {std::pair{prefill, Kernel::flash}, {slices, Kernel::split_kv}}) {
      SCOPED_TRACE(std::to_string(take) + " " + to_string(kernel));
      const Outcome r = run_case(*shared_context(kernel), c);
      expect_ok(c, r, kernel);
      EXPECT_EQ(r.plan.reason.find("from a queue") != std::string::npos, cpu_driver)
          << r.plan.reason;
    }
  }
  vulkan::set_work_queue_take(0);
  if (cpu_driver) {
    // The second case's tiles are key slices.
    const Plan plan = shared_context(Kernel::split_kv)->plan(desc_of(slices));
    EXPECT_NE(plan.reason.find("key slices to fill"), std::string::npos) << plan.reason;
  }
}

TEST_F(VulkanTest, PlannerPicksSplitKvForDecodeAndFlashForPrefill) {
  if (ctx_ == nullptr) return;
  AttentionDesc decode;
  decode.heads_q = 32;
  decode.heads_kv = 8;
  decode.len_q = 1;
  decode.len_kv = 8192;
  decode.head_dim = 128;
  const Plan d = ctx_->plan(decode);
  EXPECT_EQ(d.kernel, Kernel::split_kv) << d.reason;
  EXPECT_NE(d.reason.find("Lkv=8192"), std::string::npos) << d.reason;
  AttentionDesc prefill = decode;
  prefill.len_q = 512;
  prefill.len_kv = 512;
  const Plan p = ctx_->plan(prefill);
  EXPECT_EQ(p.kernel, Kernel::flash) << p.reason;
  EXPECT_EQ(p.workspace_bytes, 0u);
  // Probabilities need the three-pass kernel; forcing a fused one is an error naming why.
  EXPECT_EQ(ctx_->plan(prefill, true).kernel, Kernel::three_pass);
  try {
    (void)shared_context(Kernel::flash)->plan(prefill, true);
    ADD_FAILURE() << "expected Error{unsupported}";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
    EXPECT_NE(std::string(e.what()).find("probabilities"), std::string::npos) << e.what();
  }
}

// A decode over 131072 keys runs, and its workspace holds partial rows only (no Lq·Lkv term).
TEST_F(VulkanTest, LongDecodeHasNoQuadraticWorkspace) {
  if (ctx_ == nullptr) return;
  Case c = shape(1, 4, 1, 1, 131072, 64, 64, 30);
  c.causal = Causal::bottom_right;
  const Outcome r = run_case(*shared_context(Kernel::split_kv), c);
  expect_ok(c, r, Kernel::split_kv);
  EXPECT_LE(r.plan.workspace_bytes, 64u * 4 * (64 + 1) * 4) << r.plan.reason;
}

}  // namespace
}  // namespace vkattn::test
