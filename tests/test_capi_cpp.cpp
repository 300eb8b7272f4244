// SPDX-License-Identifier: MIT
// The C API (vkattn.h) against the C++ API: the C half (test_capi.c, compiled as C99) runs
// a problem through vkattn_attention on a CPU context; this half runs the same problem through
// vkattn::Context on Backend::cpu and requires the same numbers, then reports the C half's
// error-path checks one by one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "test_capi.h"
#include "testutil.hpp"
#include "vkattn/vkattn.h"
#include "vkattn/vkattn.hpp"

namespace {

std::vector<float> values(std::size_t n, std::uint32_t seed) {
  std::vector<float> v(n);
  for (float& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
  }
  return v;
}

// The C++ view of what capi_run() builds from `c`, C sentinels turned into std::optional.
std::vector<float> run_cpp(const capi_case& c, const std::vector<float>& q,
                           const std::vector<float>& k, const std::vector<float>& v,
                           const std::vector<std::int32_t>& kv_lens, std::vector<float>& lse) {
  using vkattn::DType;
  vkattn::AttentionDesc desc;
  desc.batch = c.b;
  desc.heads_q = c.hq;
  if (c.hkv != 0) desc.heads_kv = c.hkv;
  desc.len_q = c.lq;
  desc.len_kv = c.lkv;
  desc.head_dim = c.dk;
  if (c.dv != 0) desc.head_dim_v = c.dv;
  if (!std::isnan(c.scale)) desc.scale = c.scale;
  desc.causal = static_cast<vkattn::Causal>(c.causal);
  const std::int64_t hkv = c.hkv != 0 ? c.hkv : c.hq;
  const std::int64_t dv = c.dv != 0 ? c.dv : c.dk;
  auto view = [&](const std::vector<float>& x, std::int64_t h, std::int64_t l, std::int64_t d) {
    return c.blhd ? vkattn::TensorView::blhd(x.data(), DType::f32, c.b, h, l, d)
                  : vkattn::TensorView::bhld(x.data(), DType::f32, c.b, h, l, d);
  };
  std::vector<float> out(static_cast<std::size_t>(c.b * c.hq * c.lq * dv));
  vkattn::AttentionInputs in;
  in.q = view(q, c.hq, c.lq, c.dk);
  in.k = view(k, hkv, c.lkv, c.dk);
  in.v = view(v, hkv, c.lkv, dv);
  if (c.use_kv_lens != 0) in.kv_lens = kv_lens;
  vkattn::AttentionOutputs outs;
  outs.out = c.blhd ? vkattn::MutableTensorView::blhd(out.data(), DType::f32, c.b, c.hq, c.lq, dv)
                    : vkattn::MutableTensorView::bhld(out.data(), DType::f32, c.b, c.hq, c.lq, dv);
  outs.lse = lse;
  vkattn::Options options;
  options.backend = vkattn::Backend::cpu;
  vkattn::Context::create(options).attention(desc, in, outs);
  return out;
}

void expect_same_as_cpp(const capi_case& c) {
  const std::int64_t hkv = c.hkv != 0 ? c.hkv : c.hq;
  const std::int64_t dv = c.dv != 0 ? c.dv : c.dk;
  const auto q = values(static_cast<std::size_t>(c.b * c.hq * c.lq * c.dk), 11);
  const auto k = values(static_cast<std::size_t>(c.b * hkv * c.lkv * c.dk), 12);
  const auto v = values(static_cast<std::size_t>(c.b * hkv * c.lkv * dv), 13);
  std::vector<std::int32_t> kv_lens;
  for (std::int64_t b = 0; b < c.b; ++b) kv_lens.push_back(static_cast<std::int32_t>(c.lkv - b));
  const auto rows = static_cast<std::size_t>(c.b * c.hq * c.lq);

  std::vector<float> got(rows * static_cast<std::size_t>(dv)), got_lse(rows);
  ASSERT_EQ(capi_run(&c, q.data(), k.data(), v.data(), kv_lens.data(), got.data(), got_lse.data()),
            VKATTN_OK)
      << vkattn_last_error_message();
  std::vector<float> want_lse(rows);
  const auto want = run_cpp(c, q, k, v, kv_lens, want_lse);

  // Same backend, same inputs: any difference is a field the C layer mapped wrongly.
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 1e-6) << "out[" << i << "]";
  }
  for (std::size_t i = 0; i < rows; ++i) {
    ASSERT_NEAR(got_lse[i], want_lse[i], 1e-5) << "lse[" << i << "]";
  }
}

TEST(CApi, DefaultsMatchCppNullopt) {
  // hkv 0, dv 0, scale NaN: the C sentinels for "not given".
  expect_same_as_cpp(
      {2, 3, 0, 5, 7, 8, 0, std::numeric_limits<float>::quiet_NaN(), VKATTN_CAUSAL_NONE, 0, 0});
}

TEST(CApi, EveryFieldMatchesCpp) {
  // GQA 4:2, Dk != Dv, explicit scale, bottom-right causal with Lq != Lkv, kv_lens.
  expect_same_as_cpp({2, 4, 2, 5, 9, 16, 8, 0.3f, VKATTN_CAUSAL_BOTTOM_RIGHT, 1, 0});
}

TEST(CApi, BlhdLayoutMatchesCpp) {
  expect_same_as_cpp({2, 4, 1, 6, 6, 8, 4, 0.5f, VKATTN_CAUSAL_TOP_LEFT, 0, 1});
}

TEST(CApi, EnumValuesMirrorCpp) {
  // The C enums are documented as mirrors; the casts in capi.cpp and in this test rely on it.
  EXPECT_EQ(VKATTN_CAUSAL_TOP_LEFT, static_cast<int>(vkattn::Causal::top_left));
  EXPECT_EQ(VKATTN_CAUSAL_BOTTOM_RIGHT, static_cast<int>(vkattn::Causal::bottom_right));
  EXPECT_EQ(VKATTN_DTYPE_BF16, static_cast<int>(vkattn::DType::bf16));
  EXPECT_EQ(VKATTN_KERNEL_SPLIT_KV, static_cast<int>(vkattn::Kernel::split_kv));
}

#define VKATTN_C_CHECK(name, fn)                                        \
  TEST(CApi, name) {                                                    \
    const char* failure = fn();                                         \
    EXPECT_EQ(failure, nullptr) << failure << "\n  last message: \""    \
                                << vkattn_last_error_message() << "\""; \
  }

VKATTN_C_CHECK(NullArguments, capi_check_null_arguments)
VKATTN_C_CHECK(BadShapesNameTheField, capi_check_bad_shape)
VKATTN_C_CHECK(BadEnumsAndStructSizes, capi_check_bad_enums_and_sizes)
VKATTN_C_CHECK(MessageClearedOnSuccess, capi_check_message_cleared_on_success)
VKATTN_C_CHECK(ContextQueries, capi_check_context_queries)
VKATTN_C_CHECK(KvCacheMatchesHostCallAndReportsErrors, capi_check_kv_cache)
VKATTN_C_CHECK(InputsVersion1StillAccepted, capi_check_inputs_version_1)
VKATTN_C_CHECK(PlanAndStatsErrorsNameTheArgument, capi_check_plan_and_stats_errors)

// The problem capi_check_plan_and_stats plans and runs (make_valid in test_capi.c, GQA 2:1).
vkattn::AttentionDesc plan_check_desc() {
  vkattn::AttentionDesc desc;
  desc.heads_q = 2;
  desc.heads_kv = 1;
  desc.len_q = 3;
  desc.len_kv = 3;
  desc.head_dim = 4;
  return desc;
}

TEST(CApi, PlanAndStatsMatchCppOnCpu) {
  capi_plan_report report;
  const char* failure = capi_check_plan_and_stats(VKATTN_BACKEND_CPU, &report);
  ASSERT_EQ(failure, nullptr) << failure << "\n  last message: " << vkattn_last_error_message();
  vkattn::Options options;
  options.backend = vkattn::Backend::cpu;
  const vkattn::Context ctx = vkattn::Context::create(options);
  const vkattn::Plan want = ctx.plan(plan_check_desc());
  EXPECT_EQ(report.kernel, static_cast<int>(want.kernel));
  EXPECT_STREQ(report.reason, want.reason.c_str());
  EXPECT_EQ(report.probs_kernel, VKATTN_KERNEL_THREE_PASS);  // only the reference returns P
  EXPECT_LT(report.gpu_seconds, 0.0);                        // no device time on the CPU
}

TEST(CApi, PlanAndStatsMatchCppOnVulkan) {
  capi_plan_report report;
  const char* failure = capi_check_plan_and_stats(VKATTN_BACKEND_VULKAN, &report);
  if (report.create_status == VKATTN_UNSUPPORTED && vkattn::test::no_vulkan_allowed())
    GTEST_SKIP() << "no Vulkan device (VKATTN_TESTS_ALLOW_NO_VULKAN=1)";
  ASSERT_EQ(failure, nullptr) << failure << "\n  last message: " << vkattn_last_error_message();
  EXPECT_EQ(report.validation_messages, 0);
  const vkattn::Context ctx = vkattn::Context::create(vkattn::test::vulkan_test_options());
  const vkattn::Plan want = ctx.plan(plan_check_desc());
  EXPECT_EQ(report.kernel, static_cast<int>(want.kernel));
  EXPECT_STREQ(report.reason, want.reason.c_str());
  EXPECT_EQ(report.probs_kernel, VKATTN_KERNEL_THREE_PASS);
  // Device time exactly where the queue has timestamps, and never more than the call took.
  if (ctx.device().timestamps) {
    EXPECT_GT(report.gpu_seconds, 0.0);
    EXPECT_LE(report.gpu_seconds, report.host_seconds);
  } else {
    EXPECT_LT(report.gpu_seconds, 0.0);
  }
}

}  // namespace
