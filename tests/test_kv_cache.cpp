// SPDX-License-Identifier: MIT
// KvCache: decode loops (prefill, one-token steps, a chunked-prefill step) whose every call
// reads K/V from the cache and is checked against the double reference over the same K/V
// accumulated on the host; on Vulkan through forced flash, forced split-kv, the planner's
// choice and the staging-copy path, and on the CPU backend. Then every error path.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "cpu/reference.hpp"
#include "testutil.hpp"
#include "vulkan/tuning.hpp"

// Test hook in src/vulkan/memory.cpp (declared here: memory.hpp pulls in Vulkan-Hpp).
namespace vkattn::vulkan {
void fail_next_allocations(int count) noexcept;
}

namespace vkattn::test {
namespace {

// Runs `expr`, which must throw vkattn::Error with `code` and a message containing each of
// the following strings (as in test_validate.cpp).
#define EXPECT_VKATTN_ERROR(expr, expected_code, ...)                                     \
  do {                                                                                    \
    try {                                                                                 \
      (void)(expr);                                                                       \
      ADD_FAILURE() << "expected vkattn::Error from " #expr;                              \
    } catch (const ::vkattn::Error& e) {                                                  \
      EXPECT_EQ(e.code(), expected_code) << e.what();                                     \
      for (const char* s : {__VA_ARGS__}) EXPECT_THAT(e.what(), ::testing::HasSubstr(s)); \
    }                                                                                     \
  } while (0)

Options cpu_options() {
  Options o;
  o.backend = Backend::cpu;
  return o;
}

struct Shape {
  std::int64_t batch = 1, heads_q = 8, heads_kv = 2, dim = 64, dim_v = 0, capacity = 64;
  DType kv_dtype = DType::f32;     // dtype of the appended tensors
  bool blhd_appends = false;       // append strided BLHD views instead of BHLD
  DType cache_dtype = DType::f32;  // KvCacheDesc::dtype
  [[nodiscard]] std::int64_t dv() const { return dim_v > 0 ? dim_v : dim; }
  [[nodiscard]] std::string str() const {
    return "B=" + std::to_string(batch) + " Hq=" + std::to_string(heads_q) +
           " Hkv=" + std::to_string(heads_kv) + " Dk=" + std::to_string(dim) +
           " Dv=" + std::to_string(dv()) + " cap=" + std::to_string(capacity) +
           " kv_dtype=" + to_string(kv_dtype) + " blhd=" + std::to_string(blhd_appends) +
           " cache_dtype=" + to_string(cache_dtype);
  }
};

// A cache plus the same K/V on the host ([B, Hkv, capacity, D] f32, values rounded to the
// appended dtype and then to the cache's, as the cache stores them), which the reference reads.
class Decode {
 public:
  Decode(Context& ctx, const Shape& s)
      : ctx_(&ctx),
        s_(s),
        cache_(ctx.create_kv_cache(
            {s.batch, s.heads_kv, s.capacity, s.dim, s.dv(), s.cache_dtype})),
        k_(static_cast<std::size_t>(s.batch * s.heads_kv * s.capacity * s.dim)),
        v_(static_cast<std::size_t>(s.batch * s.heads_kv * s.capacity * s.dv())) {}

  KvCache& cache() { return cache_; }
  // Later checks run on `ctx` (the cache's Context after a move).
  void use(Context& ctx) { ctx_ = &ctx; }

  // Appends n random rows to the cache and to the host copy.
  void append(std::int64_t n, std::uint64_t seed) {
    const auto count = [&](std::int64_t d) {
      return static_cast<std::size_t>(s_.batch * s_.heads_kv * n * d);
    };
    const HostTensor k = random_tensor(s_.kv_dtype, count(s_.dim), seed);
    const HostTensor v = random_tensor(s_.kv_dtype, count(s_.dv()), seed + 1);
    const auto view = [&](const HostTensor& t, std::int64_t d) {
      return s_.blhd_appends ? TensorView::blhd(t.data(), s_.kv_dtype, s_.batch, s_.heads_kv, n, d)
                             : TensorView::bhld(t.data(), s_.kv_dtype, s_.batch, s_.heads_kv, n, d);
    };
    const TensorView kv = view(k, s_.dim), vv = view(v, s_.dv());
    cache_.append(kv, vv);
    for (std::int64_t b = 0; b < s_.batch; ++b)
      for (std::int64_t h = 0; h < s_.heads_kv; ++h)
        for (std::int64_t l = 0; l < n; ++l) {
          const std::int64_t row = (b * s_.heads_kv + h) * s_.capacity + length_ + l;
          for (std::int64_t d = 0; d < s_.dim; ++d)
            k_[static_cast<std::size_t>(row * s_.dim + d)] =
                detail::round_to(s_.cache_dtype, k.get(detail::offset_of(kv, b, h, l, d)));
          for (std::int64_t d = 0; d < s_.dv(); ++d)
            v_[static_cast<std::size_t>(row * s_.dv() + d)] =
                detail::round_to(s_.cache_dtype, v.get(detail::offset_of(vv, b, h, l, d)));
        }
    length_ += n;
    ASSERT_EQ(cache_.length(), length_);
  }

  // One call of `len_q` query rows over the whole cache, checked against the reference over
  // the host copy. Returns the kernel that ran.
  Kernel check(std::int64_t len_q, Causal causal, const std::vector<std::int32_t>& kv_lens,
               std::uint64_t seed) {
    AttentionDesc desc;
    desc.batch = s_.batch;
    desc.heads_q = s_.heads_q;
    desc.heads_kv = s_.heads_kv;
    desc.len_q = len_q;
    desc.len_kv = cache_.length();
    desc.head_dim = s_.dim;
    desc.head_dim_v = s_.dv();
    desc.causal = causal;
    const auto rows = static_cast<std::size_t>(s_.batch * s_.heads_q * len_q);
    const HostTensor q = random_tensor(DType::f32, rows * static_cast<std::size_t>(s_.dim), seed);
    std::vector<float> out(rows * static_cast<std::size_t>(s_.dv()), -1.0f);
    std::vector<float> lse(rows, -1.0f);

    AttentionInputs in;
    in.q = TensorView::bhld(q.data(), DType::f32, s_.batch, s_.heads_q, len_q, s_.dim);
    in.kv_lens = kv_lens;
    in.kv_cache = &cache_;
    AttentionOutputs o;
    o.out = MutableTensorView::bhld(out.data(), DType::f32, s_.batch, s_.heads_q, len_q, s_.dv());
    o.lse = lse;
    ctx_->attention(desc, in, o);
    // What ran, planned with the cache: the family plan(desc) names; on Vulkan a bf16 cache
    // runs a bf16 variant, an f32 cache none of the 16-bit ones.
    const Plan plan = ctx_->last_call_stats().plan;
    EXPECT_EQ(plan.kernel, ctx_->plan(desc).kernel) << plan.reason;
    if (ctx_->device().backend == Backend::vulkan) {
      if (s_.cache_dtype == DType::bf16) {
        EXPECT_THAT(plan.reason, ::testing::HasSubstr("_kv_bf16"));
      }
      if (s_.cache_dtype == DType::f32) {
        EXPECT_THAT(plan.reason, ::testing::Not(::testing::HasSubstr("_kv_")));
      }
    }

    // The reference reads the host copy through views with the cache's strides.
    AttentionInputs host = in;
    host.kv_cache = nullptr;
    const std::int64_t cap = s_.capacity;
    host.k = {k_.data(),
              DType::f32,
              {s_.batch, s_.heads_kv, length_, s_.dim},
              {s_.heads_kv * cap * s_.dim, cap * s_.dim, s_.dim, 1},
              k_.size()};
    host.v = {v_.data(),
              DType::f32,
              {s_.batch, s_.heads_kv, length_, s_.dv()},
              {s_.heads_kv * cap * s_.dv(), cap * s_.dv(), s_.dv(), 1},
              v_.size()};
    const detail::Problem problem = detail::validate_call(desc, host, o);
    const detail::ReferenceResult ref = detail::reference_attention(problem, host);
    // |q|, |k|, |v| <= 1: |logit| <= scale·D = sqrt(D) bounds the tolerance's logit term.
    const double factor = logit_factor(std::sqrt(static_cast<double>(s_.dim)));
    const Comparison co = compare([&](std::size_t i) { return static_cast<double>(out[i]); },
                                  ref.out, tolerance_for(DType::f32), factor);
    const Comparison cl = compare([&](std::size_t i) { return static_cast<double>(lse[i]); },
                                  ref.lse, tolerance_for(DType::f32), factor);
    const std::string what = s_.str() + " Lq=" + std::to_string(len_q) +
                             " Lkv=" + std::to_string(length_) + " causal=" + to_string(causal) +
                             " kv_lens=" + std::to_string(kv_lens.size()) +
                             " seed=" + std::to_string(seed) + " plan: " + plan.reason;
    std::printf("[%s] %s out rel=%.3g lse rel=%.3g\n", to_string(plan.kernel), what.c_str(),
                co.max_rel_err, cl.max_rel_err);
    EXPECT_TRUE(co.ok) << "out mismatch: " << what << " max_abs_err=" << co.max_abs_err
                       << " worst=" << co.worst;
    EXPECT_TRUE(cl.ok) << "lse mismatch: " << what << " max_abs_err=" << cl.max_abs_err
                       << " worst=" << cl.worst;
    return plan.kernel;
  }

 private:
  Context* ctx_;
  Shape s_;
  KvCache cache_;
  std::vector<float> k_, v_;
  std::int64_t length_ = 0;
};

// The loop a server runs: prefill P tokens (one causal call over them), decode steps of one
// token, a chunked-prefill step (Lq > 1, bottom-right causal), more decode. Every call must
// run `kernel` (automatic: any).
void decode_loop(Context& ctx, const Shape& s, std::int64_t prefill, Kernel kernel,
                 std::uint64_t seed = 1) {
  SCOPED_TRACE(s.str());
  Decode d(ctx, s);
  const auto expect_kernel = [&](Kernel ran) {
    if (kernel != Kernel::automatic) {
      EXPECT_EQ(ran, kernel);
    }
  };
  d.append(prefill, seed);
  expect_kernel(d.check(prefill, Causal::bottom_right, {}, seed + 10));
  for (int step = 0; step < 2; ++step) {
    d.append(1, seed + 20 + static_cast<std::uint64_t>(step));
    expect_kernel(d.check(1, Causal::none, {}, seed + 30 + static_cast<std::uint64_t>(step)));
  }
  d.append(5, seed + 40);
  expect_kernel(d.check(5, Causal::bottom_right, {}, seed + 41));
  d.append(1, seed + 50);
  expect_kernel(d.check(1, Causal::bottom_right, {}, seed + 51));
}

// One-row steps only (Lq=1 after a 30-row prompt): the decode kernel's pipelines, not the
// prefill ones, which take llvmpipe longer to compile.
void decode_steps(Context& ctx, const Shape& s, std::uint64_t seed) {
  SCOPED_TRACE(s.str());
  Decode d(ctx, s);
  d.append(30, seed);
  for (std::uint64_t step = 0; step < 3; ++step) {
    d.append(1, seed + 1 + step);
    d.check(1, Causal::bottom_right, {}, seed + 10 + step);
  }
}

class KvCacheVulkan : public VulkanTest {};

TEST_F(KvCacheVulkan, DecodeLoopForcedFlash) {
  decode_loop(*shared_context(Kernel::flash), Shape{}, 37, Kernel::flash);
}

TEST_F(KvCacheVulkan, DecodeLoopForcedSplitKv) {
  decode_loop(*shared_context(Kernel::split_kv), Shape{}, 37, Kernel::split_kv);
}

// 8:2 GQA, Dk=80 / Dv=48 (both padded in the cache), appends from strided BLHD views.
// One test per kernel (the split-kv one further down): the pipelines are slow to compile on
// a cold cache, and the second test finds them cached.
const Shape kGqaShape{.batch = 2,
                      .heads_q = 8,
                      .heads_kv = 2,
                      .dim = 80,
                      .dim_v = 48,
                      .capacity = 50,
                      .blhd_appends = true};

TEST_F(KvCacheVulkan, DecodeLoopGqaDkNeDvBlhdAppendsFlash) {
  decode_loop(*shared_context(Kernel::flash), kGqaShape, 20, Kernel::flash, 7);
}

TEST_F(KvCacheVulkan, DecodeLoopHalfAppends) {
  decode_loop(*ctx_, Shape{.kv_dtype = DType::f16}, 30, Kernel::automatic, 11);
}

TEST_F(KvCacheVulkan, DecodeLoopBfloatAppends) {
  decode_loop(*ctx_, Shape{.heads_q = 2, .kv_dtype = DType::bf16}, 30, Kernel::automatic, 12);
}

// A half-precision cache: appended f32 rows are rounded to f16 (bf16) and the kernels see
// exactly the rounded values. f16 stays f16 on the device; CPU drivers read it through texel
// views, here: RGBA32UI (8 halves a texel, Dk=64: flash_decode_kv_packed and
// flash_attn_texel4_kv_packed) and RGBA16F/R16F (Dk=32, Dk=20/Dv=12).
// bf16: see DecodeLoopBf16Cache.
TEST_F(KvCacheVulkan, DecodeLoopHalfCache) {
  decode_loop(*ctx_, Shape{.cache_dtype = DType::f16}, 30, Kernel::automatic, 13);
  decode_steps(*ctx_, Shape{.dim = 32, .cache_dtype = DType::f16}, 19);
  decode_loop(*ctx_, Shape{.dim = 20, .dim_v = 12, .capacity = 40, .cache_dtype = DType::f16}, 20,
              Kernel::automatic, 15);  // head dims padded to 32/16: R16F views
}

// A process-wide test hook, on for one scope.
class HookOn {
 public:
  explicit HookOn(void (*set)(bool) noexcept) : set_(set) { set_(true); }
  ~HookOn() { set_(false); }
  HookOn(const HookOn&) = delete;
  HookOn& operator=(const HookOn&) = delete;

 private:
  void (*set_)(bool) noexcept;
};

// The f16 storage-buffer variants GPUs run (flash_attn_kv_half, flash_tiled_kv_half), forced
// on this device, split-KV included. Small head dims: each shape compiles its own pipelines.
TEST_F(KvCacheVulkan, DecodeLoopHalfCacheStorageBufferKernels) {
  {
    const HookOn storage(&vulkan::set_force_storage_buffers);
    decode_loop(*ctx_, Shape{.dim = 16, .cache_dtype = DType::f16}, 30, Kernel::automatic, 16);
    decode_loop(*shared_context(Kernel::split_kv),
                {.heads_q = 4, .dim = 16, .dim_v = 8, .cache_dtype = DType::f16}, 20,
                Kernel::split_kv, 17);
  }
  const HookOn tiled(&vulkan::set_force_tiled);
  decode_loop(*ctx_, Shape{.dim = 16, .cache_dtype = DType::f16}, 30, Kernel::automatic, 18);
  decode_loop(*shared_context(Kernel::split_kv),
              {.batch = 2, .dim = 24, .dim_v = 12, .capacity = 50, .cache_dtype = DType::f16}, 20,
              Kernel::split_kv, 19);
}

// bf16 caches stay bf16 on the device. No texel format widens bf16, so CPU drivers read it
// through RGBA32UI views where each lane's share of a row is whole 8-value texels (Dk=64:
// flash_decode_kv_bf16 here; flash_attn_texel4_kv_bf16 in test_flash's bf16 calls) and from
// storage buffers otherwise (flash_attn_kv_bf16, small head dims: cheap to compile); GPUs
// run flash_tiled_kv_bf16, forced here.
TEST_F(KvCacheVulkan, DecodeLoopBf16Cache) {
  decode_steps(*ctx_, Shape{.cache_dtype = DType::bf16}, 20);
  decode_loop(*ctx_, Shape{.dim = 20, .dim_v = 12, .capacity = 40, .cache_dtype = DType::bf16},
              20, Kernel::automatic, 21);
  // f16 rows appended to a bf16 cache: rounded once more, to bf16.
  decode_loop(*ctx_,
              Shape{.heads_q = 2, .dim = 16, .kv_dtype = DType::f16, .cache_dtype = DType::bf16}, 9,
              Kernel::automatic, 14);
  decode_loop(*shared_context(Kernel::split_kv),
              {.heads_q = 4, .dim = 16, .dim_v = 8, .cache_dtype = DType::bf16}, 20,
              Kernel::split_kv, 22);
  const HookOn tiled(&vulkan::set_force_tiled);
  decode_loop(*ctx_, Shape{.dim = 16, .cache_dtype = DType::bf16}, 30, Kernel::automatic, 23);
}

TEST_F(KvCacheVulkan, LongCacheDecodeRunsSplitKvByDefault) {
  // Lkv >= 512 and Lq = 1: the planner's split-kv rule; capacity well past the length, so
  // kv_stride != len_kv is what the kernels must honour.
  Decode d(*ctx_, Shape{.heads_q = 8, .heads_kv = 2, .dim = 128, .capacity = 1500});
  d.append(700, 21);
  EXPECT_EQ(d.check(1, Causal::none, {}, 22), Kernel::split_kv);
  d.append(1, 23);
  EXPECT_EQ(d.check(1, Causal::bottom_right, {}, 24), Kernel::split_kv);
  EXPECT_EQ(d.check(3, Causal::bottom_right, {}, 25), Kernel::split_kv);
}

TEST_F(KvCacheVulkan, KvLensBelowTheCacheLength) {
  // Ragged batch: sequences 1 and 2 use fewer rows than the cache holds (2 sees none).
  Decode d(*shared_context(Kernel::split_kv), Shape{.batch = 3, .heads_q = 2, .capacity = 40});
  d.append(33, 31);
  EXPECT_EQ(d.check(1, Causal::none, {33, 17, 0}, 32), Kernel::split_kv);
  Decode f(*shared_context(Kernel::flash), Shape{.batch = 3, .heads_q = 2, .capacity = 40});
  f.append(33, 33);
  EXPECT_EQ(f.check(4, Causal::bottom_right, {20, 33, 1}, 34), Kernel::flash);
}

TEST_F(KvCacheVulkan, StagedAppendsWhereMemoryIsNotMapped) {
  // Discrete GPUs without ReBAR: the cache lives in unmapped memory and appends go through a
  // staging buffer and a copy submission (forced here on any device).
  vulkan::set_force_staging(true);
  Context staged = Context::create(vulkan_test_options());
  vulkan::set_force_staging(false);
  decode_loop(staged, Shape{.heads_q = 8, .heads_kv = 2, .kv_dtype = DType::f16}, 25,
              Kernel::automatic, 41);
  // An f16 cache: halves staged, copied per (batch, KV head) at half the byte offsets.
  decode_loop(staged, Shape{.batch = 2, .heads_q = 8, .heads_kv = 2, .cache_dtype = DType::f16},
              25, Kernel::automatic, 44);
  Decode d(staged, Shape{.dim = 128, .capacity = 700});
  d.append(600, 42);
  EXPECT_EQ(d.check(1, Causal::none, {}, 43), Kernel::split_kv);
}

TEST_F(KvCacheVulkan, CacheSurvivesItsContextBeingMovedAndDestroyed) {
  auto first = std::make_unique<Context>(Context::create(vulkan_test_options()));
  Decode d(*first, Shape{.capacity = 16});
  d.append(5, 51);
  Context moved = std::move(*first);
  first.reset();  // the moved-from shell goes; the backend now lives in `moved`
  d.use(moved);
  d.append(1, 52);
  d.check(2, Causal::bottom_right, {}, 53);
  EXPECT_EQ(d.cache().length(), 6);
  EXPECT_EQ(d.cache().capacity(), 16);
  EXPECT_EQ(d.cache().desc().head_dim_v, 64);
  // And a cache whose Context is gone entirely can still be appended to and destroyed.
  {
    auto doomed = std::make_unique<Context>(Context::create(vulkan_test_options()));
    KvCache orphan = doomed->create_kv_cache({1, 1, 8, 16, std::nullopt});
    doomed.reset();
    const std::vector<float> row(16, 0.5f);
    orphan.append(TensorView::bhld(row.data(), DType::f32, 1, 1, 1, 16),
                  TensorView::bhld(row.data(), DType::f32, 1, 1, 1, 16));
    EXPECT_EQ(orphan.length(), 1);
  }
}

TEST_F(KvCacheVulkan, ProbabilitiesOrThreePassWithACacheAreUnsupported) {
  KvCache cache = ctx_->create_kv_cache({1, 1, 8, 16, std::nullopt});
  const std::vector<float> kv(16 * 4, 0.25f), q(16, 1.0f);
  cache.append(TensorView::bhld(kv.data(), DType::f32, 1, 1, 4, 16),
               TensorView::bhld(kv.data(), DType::f32, 1, 1, 4, 16));
  std::vector<float> out(16), probs(4);
  AttentionDesc desc;
  desc.len_q = 1;
  desc.len_kv = 4;
  desc.head_dim = 16;
  AttentionInputs in;
  in.q = TensorView::bhld(q.data(), DType::f32, 1, 1, 1, 16);
  in.kv_cache = &cache;
  AttentionOutputs o;
  o.out = MutableTensorView::bhld(out.data(), DType::f32, 1, 1, 1, 16);
  o.probs = probs;
  EXPECT_VKATTN_ERROR(ctx_->attention(desc, in, o), ErrorCode::unsupported, "probabilities");
  o.probs = {};
  KvCache forced = shared_context(Kernel::three_pass)->create_kv_cache({1, 1, 8, 16, {}});
  forced.append(TensorView::bhld(kv.data(), DType::f32, 1, 1, 4, 16),
                TensorView::bhld(kv.data(), DType::f32, 1, 1, 4, 16));
  in.kv_cache = &forced;
  EXPECT_VKATTN_ERROR(shared_context(Kernel::three_pass)->attention(desc, in, o),
                      ErrorCode::unsupported, "three-pass was forced");
  // Without probabilities the automatic context reads the cache: every value of V is 0.25.
  in.kv_cache = &cache;
  ctx_->attention(desc, in, o);
  for (float x : out) EXPECT_FLOAT_EQ(x, 0.25f);
}

TEST_F(KvCacheVulkan, CapacityPastMaxStorageBufferRangeIsUnsupported) {
  // Sized from the device's limit: D=64 pads to 64 floats = 256 bytes per row.
  const auto range = static_cast<std::int64_t>(ctx_->device().max_storage_buffer_range);
  EXPECT_VKATTN_ERROR(ctx_->create_kv_cache({1, 1, range / 256 + 1, 64, std::nullopt}),
                      ErrorCode::unsupported, "maxStorageBufferRange", "kv_cache k");
  // 16-bit caches store 128 bytes a row on the device: that capacity fits, and serves calls
  // (its buffers are not re-checked as f32); twice it does not fit.
  const std::vector<float> kv(64, 0.25f), q(64, 1.0f);
  std::vector<float> out(64);
  AttentionDesc desc;
  desc.len_q = 1;
  desc.len_kv = 1;
  desc.head_dim = 64;
  for (DType t : {DType::f16, DType::bf16}) {
    KvCacheDesc d{1, 1, range / 256 + 1, 64, std::nullopt};
    d.dtype = t;
    KvCache cache = ctx_->create_kv_cache(d);
    cache.append(TensorView::bhld(kv.data(), DType::f32, 1, 1, 1, 64),
                 TensorView::bhld(kv.data(), DType::f32, 1, 1, 1, 64));
    AttentionInputs in;
    in.q = TensorView::bhld(q.data(), DType::f32, 1, 1, 1, 64);
    in.kv_cache = &cache;
    AttentionOutputs o;
    o.out = MutableTensorView::bhld(out.data(), DType::f32, 1, 1, 1, 64);
    ctx_->attention(desc, in, o);
    for (float x : out) EXPECT_FLOAT_EQ(x, 0.25f) << to_string(t);
    d.capacity = range / 128 + 1;
    EXPECT_VKATTN_ERROR(ctx_->create_kv_cache(d), ErrorCode::unsupported, "maxStorageBufferRange",
                        "kv_cache k");
  }
}

TEST_F(KvCacheVulkan, DeviceAllocationFailureIsOutOfMemory) {
  vulkan::fail_next_allocations(1);
  EXPECT_VKATTN_ERROR(ctx_->create_kv_cache({1, 2, 32, 64, std::nullopt}), ErrorCode::out_of_memory,
                      "vkAllocateMemory");
  vulkan::fail_next_allocations(0);
  Decode d(*ctx_, Shape{.capacity = 48});  // the context is still usable
  d.append(9, 61);
  d.check(1, Causal::none, {}, 62);
}

// The split-kv twin of DecodeLoopGqaDkNeDvBlhdAppendsFlash, defined away from it: both
// compile the same pipelines (on lavapipe 35 s from a cold cache, 1.5 s after the other), and
// ctest -j runs neighbours at once.
TEST_F(KvCacheVulkan, DecodeLoopGqaDkNeDvBlhdAppendsSplitKv) {
  decode_loop(*shared_context(Kernel::split_kv), kGqaShape, 20, Kernel::split_kv, 8);
}

TEST(KvCacheCpu, DecodeLoopMatchesReference) {
  Context ctx = Context::create(cpu_options());
  decode_loop(ctx, Shape{}, 37, Kernel::flash);
  decode_loop(ctx,
              Shape{.batch = 2,
                    .heads_q = 8,
                    .heads_kv = 2,
                    .dim = 40,
                    .dim_v = 24,
                    .kv_dtype = DType::bf16,
                    .blhd_appends = true},
              21, Kernel::flash, 5);
  Decode d(ctx, Shape{.batch = 2, .heads_q = 2, .capacity = 40});
  d.append(30, 71);
  d.check(2, Causal::bottom_right, {30, 9}, 72);
}

// Half-precision caches on the CPU are stored as such: f16 K/V are read in place by the
// decode path (whole-vector head dims) or widened per block (Dk=13, Dv=20), bf16 widened.
TEST(KvCacheCpu, HalfPrecisionCachesMatchTheReference) {
  Context ctx = Context::create(cpu_options());
  decode_loop(ctx, Shape{.capacity = 150, .cache_dtype = DType::f16}, 137, Kernel::flash, 21);
  decode_loop(ctx, Shape{.dim = 13, .dim_v = 20, .kv_dtype = DType::bf16,
                         .cache_dtype = DType::f16},
              40, Kernel::flash, 22);
  decode_loop(ctx, Shape{.heads_q = 4, .dim = 24, .capacity = 80, .blhd_appends = true,
                         .cache_dtype = DType::bf16},
              70, Kernel::flash, 23);
  Decode d(ctx, Shape{.batch = 2, .heads_q = 2, .capacity = 140, .cache_dtype = DType::f16});
  d.append(130, 81);
  d.check(1, Causal::none, {130, 65}, 82);
}

TEST(KvCacheCpu, ProbabilitiesWithACacheComeFromTheReference) {
  Context ctx = Context::create(cpu_options());
  KvCache cache = ctx.create_kv_cache({1, 1, 8, 4, std::nullopt});
  const std::vector<float> k{1, 0, 0, 0, 0, 1, 0, 0}, v{1, 2, 3, 4, 5, 6, 7, 8}, q{2, 0, 0, 0};
  cache.append(TensorView::bhld(k.data(), DType::f32, 1, 1, 2, 4),
               TensorView::bhld(v.data(), DType::f32, 1, 1, 2, 4));
  std::vector<float> out(4), probs(2);
  AttentionDesc desc;
  desc.len_q = 1;
  desc.len_kv = 2;
  desc.head_dim = 4;
  desc.scale = 1.0f;
  AttentionInputs in;
  in.q = TensorView::bhld(q.data(), DType::f32, 1, 1, 1, 4);
  in.kv_cache = &cache;
  AttentionOutputs o;
  o.out = MutableTensorView::bhld(out.data(), DType::f32, 1, 1, 1, 4);
  o.probs = probs;
  ctx.attention(desc, in, o);
  // Scores 2 and 0: p = (e^2, 1) / (e^2 + 1).
  const double p0 = std::exp(2.0) / (std::exp(2.0) + 1.0);
  EXPECT_NEAR(probs[0], p0, 1e-6);
  EXPECT_NEAR(probs[1], 1.0 - p0, 1e-6);
  for (int d = 0; d < 4; ++d) EXPECT_NEAR(out[d], p0 * v[d] + (1.0 - p0) * v[4 + d], 1e-5);
}

// --- error paths (CPU backend: validation is backend-independent) -------------------------

class KvCacheErrors : public ::testing::Test {
 protected:
  static constexpr std::int64_t kB = 1, kH = 2, kCap = 4, kD = 8;
  Context ctx_ = Context::create(cpu_options());
  KvCache cache_ = ctx_.create_kv_cache({kB, kH, kCap, kD, std::nullopt});
  std::vector<float> rows_ = std::vector<float>(std::size_t{kB * kH * kCap * kD}, 0.5f);
  std::vector<float> q_ = std::vector<float>(std::size_t{kB * kH * kD}, 1.0f);
  std::vector<float> out_ = std::vector<float>(std::size_t{kB * kH * kD}, -1.0f);

  [[nodiscard]] TensorView rows(std::int64_t n, std::int64_t h = kH, std::int64_t d = kD) const {
    return TensorView::bhld(rows_.data(), DType::f32, kB, h, n, d);
  }
  [[nodiscard]] AttentionDesc desc() const {
    AttentionDesc d;
    d.batch = kB;
    d.heads_q = kH;
    d.len_q = 1;
    d.len_kv = cache_.length();
    d.head_dim = kD;
    return d;
  }
  [[nodiscard]] AttentionInputs inputs(const KvCache* cache) const {
    AttentionInputs in;
    in.q = TensorView::bhld(q_.data(), DType::f32, kB, kH, 1, kD);
    in.kv_cache = cache;
    return in;
  }
  [[nodiscard]] AttentionOutputs outputs() {
    AttentionOutputs o;
    o.out = MutableTensorView::bhld(out_.data(), DType::f32, kB, kH, 1, kD);
    return o;
  }
  void expect_out_untouched() const {
    for (float x : out_) EXPECT_EQ(x, -1.0f);
  }
};

TEST_F(KvCacheErrors, CreateRejectsBadDescriptions) {
  EXPECT_VKATTN_ERROR(ctx_.create_kv_cache({1, 1, 0, 8, std::nullopt}), ErrorCode::invalid_argument,
                      "kv_cache.capacity=0");
  EXPECT_VKATTN_ERROR(ctx_.create_kv_cache({0, 1, 4, 8, std::nullopt}), ErrorCode::invalid_argument,
                      "kv_cache.batch=0");
  EXPECT_VKATTN_ERROR(ctx_.create_kv_cache({1, -2, 4, 8, std::nullopt}),
                      ErrorCode::invalid_argument, "kv_cache.heads_kv=-2");
  EXPECT_VKATTN_ERROR(ctx_.create_kv_cache({1, 1, 4, 300, std::nullopt}), ErrorCode::unsupported,
                      "kv_cache.head_dim=300");
  EXPECT_VKATTN_ERROR(ctx_.create_kv_cache({1, 1, 4, 8, 0}), ErrorCode::invalid_argument,
                      "kv_cache.head_dim_v=0");
  EXPECT_VKATTN_ERROR(ctx_.create_kv_cache({1, 1, 4, 8, std::nullopt, DType::boolean}),
                      ErrorCode::invalid_argument, "kv_cache.dtype=bool");
}

TEST_F(KvCacheErrors, AppendPastCapacityLeavesTheCacheUnchanged) {
  cache_.append(rows(3), rows(3));
  EXPECT_VKATTN_ERROR(cache_.append(rows(2), rows(2)), ErrorCode::invalid_argument,
                      "appending 2 rows", "holding 3", "capacity=4");
  EXPECT_EQ(cache_.length(), 3);
  cache_.append(rows(1), rows(1));  // exactly full is fine
  EXPECT_EQ(cache_.length(), kCap);
  EXPECT_VKATTN_ERROR(cache_.append(rows(1), rows(1)), ErrorCode::invalid_argument, "capacity=4");
  cache_.clear();
  EXPECT_EQ(cache_.length(), 0);
  cache_.append(rows(4), rows(4));  // clear keeps the memory
  EXPECT_EQ(cache_.length(), kCap);
}

TEST_F(KvCacheErrors, AppendRejectsBadViews) {
  EXPECT_VKATTN_ERROR(cache_.append(rows(1, 3), rows(1)), ErrorCode::invalid_argument,
                      "k.shape[1]=3", "kv_cache.heads_kv=2");
  EXPECT_VKATTN_ERROR(cache_.append(rows(1), rows(1, kH, 4)), ErrorCode::invalid_argument,
                      "v.shape[3]=4", "kv_cache.head_dim_v=8");
  EXPECT_VKATTN_ERROR(cache_.append(rows(1), rows(2)), ErrorCode::invalid_argument, "v.shape[2]=2");
  TensorView null_k = rows(1);
  null_k.data = nullptr;
  EXPECT_VKATTN_ERROR(cache_.append(null_k, rows(1)), ErrorCode::invalid_argument,
                      "k.data is null");
  TensorView bool_v = rows(1);
  bool_v.dtype = DType::boolean;
  EXPECT_VKATTN_ERROR(cache_.append(rows(1), bool_v), ErrorCode::invalid_argument, "v.dtype=bool");
  TensorView short_k = rows(1);
  short_k.extent = 3;
  EXPECT_VKATTN_ERROR(cache_.append(short_k, rows(1)), ErrorCode::invalid_argument, "k.extent=3");
  EXPECT_EQ(cache_.length(), 0);
}

TEST_F(KvCacheErrors, CallsMustMatchTheCache) {
  cache_.append(rows(2), rows(2));
  AttentionDesc d = desc();
  d.len_kv = 3;
  EXPECT_VKATTN_ERROR(ctx_.attention(d, inputs(&cache_), outputs()), ErrorCode::invalid_argument,
                      "len_kv=3", "kv_cache's length=2");
  d = desc();
  d.heads_q = 4;
  d.heads_kv = 4;
  std::vector<float> q4(std::size_t{kB * 4 * kD}), out4(std::size_t{kB * 4 * kD});
  AttentionInputs in = inputs(&cache_);
  in.q = TensorView::bhld(q4.data(), DType::f32, kB, 4, 1, kD);
  AttentionOutputs o;
  o.out = MutableTensorView::bhld(out4.data(), DType::f32, kB, 4, 1, kD);
  EXPECT_VKATTN_ERROR(ctx_.attention(d, in, o), ErrorCode::invalid_argument, "heads_kv=4",
                      "kv_cache's heads_kv=2");
  d = desc();
  d.head_dim_v = 4;
  std::vector<float> out_dv(std::size_t{kB * kH * 4});
  o.out = MutableTensorView::bhld(out_dv.data(), DType::f32, kB, kH, 1, 4);
  EXPECT_VKATTN_ERROR(ctx_.attention(d, inputs(&cache_), o), ErrorCode::invalid_argument,
                      "head_dim_v=4", "kv_cache's head_dim_v=8");
  in = inputs(&cache_);
  in.k = rows(2);
  EXPECT_VKATTN_ERROR(ctx_.attention(desc(), in, outputs()), ErrorCode::invalid_argument,
                      "k.data is set although kv_cache is given");
  in = inputs(&cache_);
  const std::vector<std::int32_t> lens{3};
  in.kv_lens = lens;
  EXPECT_VKATTN_ERROR(ctx_.attention(desc(), in, outputs()), ErrorCode::invalid_argument,
                      "kv_lens[0]=3", "len_kv=2");
  expect_out_untouched();
}

TEST_F(KvCacheErrors, ACacheOfAnotherContextIsRefused) {
  Context other = Context::create(cpu_options());
  KvCache foreign = other.create_kv_cache({kB, kH, kCap, kD, std::nullopt});
  foreign.append(rows(2), rows(2));
  cache_.append(rows(2), rows(2));
  EXPECT_VKATTN_ERROR(ctx_.attention(desc(), inputs(&foreign), outputs()),
                      ErrorCode::invalid_argument, "another Context");
  expect_out_untouched();
  ctx_.attention(desc(), inputs(&cache_), outputs());  // its own cache works
  for (float x : out_) EXPECT_FLOAT_EQ(x, 0.5f);
}

}  // namespace
}  // namespace vkattn::test
