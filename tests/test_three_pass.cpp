// SPDX-License-Identifier: MIT
// The three-pass Vulkan kernel (src/vulkan/three_pass.cpp, shaders/{qk_scores,softmax,
// weighted_sum}.comp) against the double-precision reference, with the validation layer on.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "attention_case.hpp"
#include "core/problem.hpp"
#include "cpu/reference.hpp"
#include "testutil.hpp"
#include "vulkan/tuning.hpp"

namespace vkattn::test {
namespace {

// Every test here pins the three-pass kernel (the planner would pick flash for most).
class ThreePass : public VulkanTest {
 protected:
  void SetUp() override {
    VulkanTest::SetUp();
    if (ctx_ != nullptr) ctx_ = shared_context(Kernel::three_pass);
  }
  void check(const Case& c) {
    if (ctx_ == nullptr) return;
    expect_ok(c, run_case(*ctx_, c), Kernel::three_pass);
  }
};

// --- The sweep: a covering set of lengths, head dims, batch/heads and magnitudes. -------------

struct SweepShape {
  std::int64_t lq, lkv, dim;
};
// Every length in {1, 2, 17, 63, 64, 65, 129, 1000} appears as Lq and as Lkv (tile-relative:
// 63/64/65 straddle the 32- and 64-wide tiles), every head dim in {8, 32, 64, 80, 128, 256}.
constexpr SweepShape kSweep[] = {
    {1, 1, 8},        {1, 1000, 64},   {1000, 1, 32},   {2, 17, 80},
    {17, 2, 128},     {63, 64, 256},   {64, 65, 32},    {65, 63, 64},
    {129, 129, 80},   {64, 64, 128},   {17, 129, 256},  {129, 17, 8},
    {1000, 1000, 64}, {63, 1000, 128}, {1000, 65, 256}, {2, 63, 32},
};

class ThreePassSweep : public ThreePass,
                       public ::testing::WithParamInterface<std::tuple<int, float>> {};

TEST_P(ThreePassSweep, MatchesReference) {
  const auto [index, magnitude] = GetParam();
  const SweepShape& s = kSweep[index];
  Case c;
  c.len_q = s.lq;
  c.len_kv = s.lkv;
  c.dim = s.dim;
  // Big shapes stay at one (batch, head); the rest cycle B in {1, 2} and H in {1, 3}.
  const bool big = s.lq * s.lkv * s.dim > 2'000'000;
  c.batch = big ? 1 : 1 + index % 2;
  c.heads_q = c.heads_kv = big ? 1 : (index / 2 % 2 == 0 ? 1 : 3);
  c.magnitude = magnitude;
  c.seed = 1000 + static_cast<std::uint64_t>(index) * 7 + (magnitude > 1.0f ? 1 : 0);
  check(c);
}

INSTANTIATE_TEST_SUITE_P(Shapes, ThreePassSweep,
                         ::testing::Combine(::testing::Range(0,
                                                             static_cast<int>(std::size(kSweep))),
                                            ::testing::Values(1.0f, 30.0f)),
                         [](const auto& param_info) {
                           const SweepShape& s = kSweep[std::get<0>(param_info.param)];
                           return "Lq" + std::to_string(s.lq) + "_Lkv" + std::to_string(s.lkv) +
                                  "_D" + std::to_string(s.dim) +
                                  (std::get<1>(param_info.param) > 1.0f ? "_mag30" : "_mag1");
                         });

// --- Semantics the kernel supports. ----------------------------------------------------------

Case base(std::int64_t lq, std::int64_t lkv, std::int64_t dim, std::uint64_t seed) {
  Case c;
  c.batch = 2;
  c.heads_q = c.heads_kv = 2;
  c.len_q = lq;
  c.len_kv = lkv;
  c.dim = dim;
  c.seed = seed;
  return c;
}

TEST_F(ThreePass, CausalTopLeftCrossLengths) {
  for (auto [lq, lkv] : {std::pair{17, 65}, {65, 17}}) {
    Case c = base(lq, lkv, 32, 11);
    c.causal = Causal::top_left;
    check(c);
  }
}

TEST_F(ThreePass, CausalBottomRightCrossLengths) {
  for (auto [lq, lkv] : {std::pair{17, 65}, {65, 17}}) {
    Case c = base(lq, lkv, 32, 12);
    c.causal = Causal::bottom_right;
    check(c);
  }
}

TEST_F(ThreePass, SlidingWindow) {
  Case c = base(40, 70, 64, 13);
  c.window_left = 5;
  c.window_right = 3;
  check(c);
  c.causal = Causal::bottom_right;
  c.window_left = 8;
  c.window_right = 0;
  check(c);
}

TEST_F(ThreePass, BooleanMaskBroadcast) {
  Case c = base(33, 47, 32, 14);
  c.mask = MaskMode::boolean;
  for (Dims4 shape : {Dims4{0, 0, 0, 0}, Dims4{1, 1, 0, 0}, Dims4{0, 1, 1, 0}}) {
    c.mask_shape = shape;
    check(c);
  }
}

TEST_F(ThreePass, AdditiveMaskBroadcast) {
  Case c = base(33, 47, 32, 15);
  c.mask = MaskMode::additive;
  c.mask_shape = {0, 0, 0, 0};
  check(c);
  c.mask_dtype = DType::f16;
  c.mask_shape = {1, 0, 1, 0};
  check(c);
}

TEST_F(ThreePass, KvLens) {
  Case c = base(20, 90, 32, 16);
  c.batch = 4;
  c.kv_lens = true;
  check(c);
  c.causal = Causal::bottom_right;
  check(c);
  // Realistic pair: a per-batch key padding mask together with kv_lens.
  c.causal = Causal::none;
  c.mask = MaskMode::boolean;
  c.mask_shape = {0, 1, 1, 0};
  check(c);
}

TEST_F(ThreePass, Softcap) {
  Case c = base(30, 50, 64, 17);
  c.softcap = 5.0f;
  check(c);
  c.magnitude = 30.0f;
  c.softcap = 30.0f;
  check(c);
}

TEST_F(ThreePass, GroupedQueryAttention) {
  for (auto [hq, hkv] : {std::pair{4, 1}, {8, 2}}) {
    Case c = base(17, 65, 64, 18);
    c.heads_q = hq;
    c.heads_kv = hkv;
    check(c);
  }
}

TEST_F(ThreePass, DifferentValueDim) {
  Case c = base(33, 40, 64, 19);
  c.dim_v = 32;
  check(c);
  c.dim = 32;
  c.dim_v = 128;
  check(c);
}

TEST_F(ThreePass, HalfAndBfloatStorage) {
  for (DType t : {DType::f16, DType::bf16}) {
    Case c = base(65, 129, 64, 20);
    c.dtype = t;
    check(c);
    c.magnitude = 30.0f;
    c.causal = Causal::top_left;
    check(c);
  }
}

TEST_F(ThreePass, BlhdStrides) {
  Case c = base(37, 51, 80, 21);
  c.heads_q = 4;
  c.heads_kv = 2;
  c.blhd = true;
  check(c);
  c.dtype = DType::f16;
  check(c);
}

TEST_F(ThreePass, ProbabilitiesAndPlanReason) {
  Case c = base(40, 77, 32, 22);
  c.probs = true;
  c.causal = Causal::bottom_right;
  const Outcome r = run_case(*ctx_, c);
  expect_ok(c, r, Kernel::three_pass);
  EXPECT_NE(r.plan.reason.find("probabilities"), std::string::npos) << r.plan.reason;
  AttentionDesc desc;
  desc.len_q = 4;
  desc.len_kv = 4;
  desc.head_dim = 8;
  const Plan plain = ctx_->plan(desc);
  EXPECT_EQ(plain.kernel, Kernel::three_pass);
  EXPECT_FALSE(plain.reason.empty());
  EXPECT_GT(plain.workspace_bytes, 0u);
}

TEST_F(ThreePass, FullyMaskedRowGivesZeroAndMinusInfinity) {
  // Bottom-right with Lq > Lkv: the first Lq - Lkv rows see no key.
  Case c = base(20, 8, 32, 23);
  c.causal = Causal::bottom_right;
  c.probs = true;
  check(c);
  // And a row masked out entirely by kv_lens = 0 (the reference gives out 0, lse -inf).
  AttentionDesc desc;
  desc.len_q = 3;
  desc.len_kv = 6;
  desc.head_dim = 8;
  std::vector<float> q(3 * 8, 0.5f), k(6 * 8, 0.25f), v(6 * 8, 1.0f), o(3 * 8, 7.0f), lse(3, 0.0f);
  const std::int32_t lens[] = {0};
  AttentionInputs in;
  in.q = TensorView::bhld(q.data(), DType::f32, 1, 1, 3, 8);
  in.k = TensorView::bhld(k.data(), DType::f32, 1, 1, 6, 8);
  in.v = TensorView::bhld(v.data(), DType::f32, 1, 1, 6, 8);
  in.kv_lens = lens;
  AttentionOutputs out;
  out.out = MutableTensorView::bhld(o.data(), DType::f32, 1, 1, 3, 8);
  out.lse = lse;
  ctx_->attention(desc, in, out);
  for (float x : o) EXPECT_EQ(x, 0.0f);
  for (float x : lse) EXPECT_EQ(x, -std::numeric_limits<float>::infinity());
}

// Restores the default workspace budget when a test ends.
struct BudgetGuard {
  explicit BudgetGuard(std::uint64_t bytes) { vulkan::set_three_pass_workspace_budget(bytes); }
  ~BudgetGuard() { vulkan::set_three_pass_workspace_budget(0); }
  BudgetGuard(const BudgetGuard&) = delete;
  BudgetGuard& operator=(const BudgetGuard&) = delete;
};

TEST_F(ThreePass, ChunkedOverRows) {
  Case c = base(129, 100, 32, 25);
  c.probs = true;
  c.causal = Causal::top_left;
  const BudgetGuard guard(16 * 100 * 4);  // 16 rows of 100 keys per chunk
  const Outcome r = run_case(*ctx_, c);
  expect_ok(c, r, Kernel::three_pass);
  EXPECT_EQ(r.plan.rows_per_chunk, 16);
  EXPECT_EQ(r.plan.workspace_bytes, 16u * 100 * 4);
}

TEST_F(ThreePass, ChunkedOverHeads) {
  Case c = base(30, 70, 64, 26);
  c.heads_q = c.heads_kv = 3;  // 6 (batch, head) pairs, 2 per chunk
  c.probs = true;
  const BudgetGuard guard(2 * 30 * 70 * 4 + 100);
  const Outcome r = run_case(*ctx_, c);
  expect_ok(c, r, Kernel::three_pass);
  EXPECT_EQ(r.plan.rows_per_chunk, 30);
  EXPECT_EQ(r.plan.workspace_bytes, 2u * 30 * 70 * 4);
}

TEST_F(ThreePass, StagingCopiesWhenMemoryIsNotMapped) {
  vulkan::set_force_staging(true);
  Context staged = Context::create(vulkan_test_options(Kernel::three_pass));
  vulkan::set_force_staging(false);
  Case c = base(40, 77, 64, 29);
  c.probs = true;
  c.kv_lens = true;
  c.mask = MaskMode::additive;
  c.mask_shape = {0, 1, 0, 0};
  expect_ok(c, run_case(staged, c), Kernel::three_pass);
}

TEST_F(ThreePass, ReusesBuffersAcrossGrowingCalls) {
  // A decode-like loop: Lq = 1, Lkv growing, then a bigger prefill, then small again.
  for (std::int64_t lkv : {5, 6, 7, 300, 8}) {
    Case c = base(lkv == 300 ? 64 : 1, lkv, 64, 27 + static_cast<std::uint64_t>(lkv));
    check(c);
  }
}

TEST_F(ThreePass, TensorAboveMaxStorageBufferRangeIsUnsupported) {
  const std::uint64_t range = ctx_->device().max_storage_buffer_range;
  if (range > (1ull << 30))
    GTEST_SKIP() << "maxStorageBufferRange " << range << " needs too much host memory";
  // K and V as f16 views of one host buffer; on the device K is f32 and one element too big.
  const std::int64_t dim = 256;
  const std::int64_t lkv = static_cast<std::int64_t>(range / (dim * 4)) + 1;
  std::vector<std::uint16_t> kv(static_cast<std::size_t>(lkv * dim), 0);
  std::vector<std::uint16_t> q(dim, 0), o(dim, 0);
  AttentionDesc desc;
  desc.len_q = 1;
  desc.len_kv = lkv;
  desc.head_dim = dim;
  desc.dtype = DType::f16;
  AttentionInputs in;
  in.q = TensorView::bhld(q.data(), DType::f16, 1, 1, 1, dim);
  in.k = TensorView::bhld(kv.data(), DType::f16, 1, 1, lkv, dim);
  in.v = in.k;
  AttentionOutputs out;
  out.out = MutableTensorView::bhld(o.data(), DType::f16, 1, 1, 1, dim);
  try {
    ctx_->attention(desc, in, out);
    FAIL() << "expected Error{unsupported}";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported) << e.what();
    EXPECT_NE(std::string(e.what()).find("maxStorageBufferRange"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("k needs"), std::string::npos) << e.what();
  }
  // The context stays usable after the rejection.
  check(base(3, 5, 8, 28));
}

}  // namespace
}  // namespace vkattn::test
