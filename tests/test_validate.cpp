// SPDX-License-Identifier: MIT
// Validation (src/core/validate.cpp): one test per class of invalid input, each asserting the
// error code and that the message names the field and its value; plus the valid layouts and
// the defaults resolved into Problem.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "core/problem.hpp"
#include "vkattn/error.hpp"
#include "vkattn/types.hpp"

namespace vkattn {
namespace {

using detail::MaskKind;
using detail::Problem;
using detail::validate_call;
using detail::validate_desc;
using ::testing::HasSubstr;

// Runs `expr`, which must throw vkattn::Error with `code` and a message containing each
// of the following strings.
#define EXPECT_VKATTN_ERROR(expr, expected_code, ...)                          \
  do {                                                                         \
    try {                                                                      \
      (void)(expr);                                                            \
      ADD_FAILURE() << "expected vkattn::Error from " #expr;                   \
    } catch (const ::vkattn::Error& e) {                                       \
      EXPECT_EQ(e.code(), expected_code) << e.what();                          \
      for (const char* s : {__VA_ARGS__}) EXPECT_THAT(e.what(), HasSubstr(s)); \
    }                                                                          \
  } while (0)

// A valid f32 call (contiguous BHLD) that each test breaks in one place.
struct Call {
  AttentionDesc desc;
  std::vector<float> q, k, v, o;
  AttentionInputs in;
  AttentionOutputs out;

  Call(std::int64_t b, std::int64_t hq, std::int64_t hkv, std::int64_t lq, std::int64_t lkv,
       std::int64_t dk, std::int64_t dv) {
    desc.batch = b;
    desc.heads_q = hq;
    desc.heads_kv = hkv;
    desc.len_q = lq;
    desc.len_kv = lkv;
    desc.head_dim = dk;
    desc.head_dim_v = dv;
    q.resize(static_cast<std::size_t>(b * hq * lq * dk));
    k.resize(static_cast<std::size_t>(b * hkv * lkv * dk));
    v.resize(static_cast<std::size_t>(b * hkv * lkv * dv));
    o.resize(static_cast<std::size_t>(b * hq * lq * dv));
    in.q = TensorView::bhld(q.data(), DType::f32, b, hq, lq, dk);
    in.k = TensorView::bhld(k.data(), DType::f32, b, hkv, lkv, dk);
    in.v = TensorView::bhld(v.data(), DType::f32, b, hkv, lkv, dv);
    out.out = MutableTensorView::bhld(o.data(), DType::f32, b, hq, lq, dv);
  }
  Call() : Call(2, 8, 4, 5, 7, 16, 12) {}
  Call(const Call&) = delete;

  [[nodiscard]] Problem validate() const { return validate_call(desc, in, out); }
};

constexpr auto kInvalid = ErrorCode::invalid_argument;
constexpr auto kUnsupported = ErrorCode::unsupported;

TEST(ValidateDesc, ZeroAndNegativeSizes) {
  const auto with = [](auto edit) {
    AttentionDesc d;
    d.batch = 1;
    d.heads_q = 2;
    d.len_q = 3;
    d.len_kv = 4;
    d.head_dim = 8;
    edit(d);
    return d;
  };
  EXPECT_VKATTN_ERROR(validate_desc(with([](auto& d) { d.batch = 0; })), kInvalid, "batch=0");
  EXPECT_VKATTN_ERROR(validate_desc(with([](auto& d) { d.heads_q = -3; })), kInvalid, "heads_q=-3");
  EXPECT_VKATTN_ERROR(validate_desc(with([](auto& d) { d.heads_kv = 0; })), kInvalid, "heads_kv=0");
  EXPECT_VKATTN_ERROR(validate_desc(with([](auto& d) { d.len_q = 0; })), kInvalid, "len_q=0");
  EXPECT_VKATTN_ERROR(validate_desc(with([](auto& d) { d.len_kv = -1; })), kInvalid, "len_kv=-1");
  EXPECT_VKATTN_ERROR(validate_desc(with([](auto& d) { d.head_dim = 0; })), kInvalid, "head_dim=0");
  EXPECT_VKATTN_ERROR(validate_desc(with([](auto& d) { d.head_dim_v = 0; })), kInvalid,
                      "head_dim_v=0");
  // The default AttentionDesc has no lengths: it must not validate silently.
  EXPECT_VKATTN_ERROR(validate_desc(AttentionDesc{}), kInvalid, "len_q=0");
}

TEST(ValidateDesc, HeadsQMustBeAMultipleOfHeadsKv) {
  AttentionDesc d;
  d.heads_q = 6;
  d.heads_kv = 4;
  d.len_q = 1;
  d.len_kv = 1;
  d.head_dim = 8;
  EXPECT_VKATTN_ERROR(validate_desc(d), kInvalid, "heads_q=6 is not a multiple of heads_kv=4");
  d.heads_kv = 8;  // more KV heads than query heads
  EXPECT_VKATTN_ERROR(validate_desc(d), kInvalid, "heads_q=6", "heads_kv=8");
  d.heads_kv = 3;
  EXPECT_EQ(validate_desc(d).group(), 2);
}

TEST(ValidateDesc, HeadDimAboveTheLimitIsUnsupported) {
  AttentionDesc d;
  d.len_q = 1;
  d.len_kv = 1;
  d.head_dim = detail::kMaxHeadDim;
  d.head_dim_v = detail::kMaxHeadDim;
  EXPECT_NO_THROW((void)validate_desc(d));
  d.head_dim = 257;
  EXPECT_VKATTN_ERROR(validate_desc(d), kUnsupported, "head_dim=257", "256");
  d.head_dim = 64;
  d.head_dim_v = 512;
  EXPECT_VKATTN_ERROR(validate_desc(d), kUnsupported, "head_dim_v=512");
}

TEST(ValidateDesc, ScaleMustBeFinite) {
  AttentionDesc d;
  d.len_q = 1;
  d.len_kv = 1;
  d.head_dim = 4;
  d.scale = std::numeric_limits<float>::quiet_NaN();
  EXPECT_VKATTN_ERROR(validate_desc(d), kInvalid, "scale=", "not finite");
  d.scale = std::numeric_limits<float>::infinity();
  EXPECT_VKATTN_ERROR(validate_desc(d), kInvalid, "scale=inf");
  d.scale = -0.25f;  // negative scales are unusual but well defined
  EXPECT_EQ(validate_desc(d).scale, -0.25f);
}

TEST(ValidateDesc, SoftcapMustBeFiniteAndNonNegative) {
  AttentionDesc d;
  d.len_q = 1;
  d.len_kv = 1;
  d.head_dim = 4;
  d.softcap = -1.0f;
  EXPECT_VKATTN_ERROR(validate_desc(d), kInvalid, "softcap=-1");
  d.softcap = std::numeric_limits<float>::infinity();
  EXPECT_VKATTN_ERROR(validate_desc(d), kInvalid, "softcap=inf");
  d.softcap = std::numeric_limits<float>::quiet_NaN();
  EXPECT_VKATTN_ERROR(validate_desc(d), kInvalid, "softcap=");
  d.softcap = 30.0f;
  EXPECT_EQ(validate_desc(d).softcap, 30.0f);
}

TEST(ValidateDesc, WindowValuesBelowMinusOne) {
  AttentionDesc d;
  d.len_q = 1;
  d.len_kv = 1;
  d.head_dim = 4;
  d.window_left = -2;
  EXPECT_VKATTN_ERROR(validate_desc(d), kInvalid, "window_left=-2");
  d.window_left = 0;
  d.window_right = -5;
  EXPECT_VKATTN_ERROR(validate_desc(d), kInvalid, "window_right=-5");
}

TEST(ValidateDesc, CausalAllowsOnlyWindowRightMinusOneOrZero) {
  AttentionDesc d;
  d.len_q = 4;
  d.len_kv = 4;
  d.head_dim = 4;
  d.window_right = 3;
  EXPECT_NO_THROW((void)validate_desc(d));  // fine without causal
  for (Causal c : {Causal::top_left, Causal::bottom_right}) {
    d.causal = c;
    d.window_right = 1;
    EXPECT_VKATTN_ERROR(validate_desc(d), kInvalid, "window_right=1",
                        "window_right must be -1 or 0 with causal");
    d.window_right = 0;
    EXPECT_NO_THROW((void)validate_desc(d));
    d.window_right = -1;
    EXPECT_NO_THROW((void)validate_desc(d));
  }
}

TEST(ValidateDesc, BooleanIsNotADataType) {
  AttentionDesc d;
  d.len_q = 1;
  d.len_kv = 1;
  d.head_dim = 4;
  d.dtype = DType::boolean;
  EXPECT_VKATTN_ERROR(validate_desc(d), kInvalid, "dtype=bool");
}

TEST(ValidateDesc, AbsurdSizesAreUnsupportedNotOverflowed) {
  AttentionDesc d;
  d.batch = 1 << 20;
  d.heads_q = 1 << 10;
  d.len_q = 1 << 20;
  d.len_kv = 1;
  d.head_dim = 64;
  EXPECT_VKATTN_ERROR(validate_desc(d), kUnsupported, "q [1048576, 1024, 1048576, 64]");
  // Products that would overflow int64 are caught, not wrapped.
  d.batch = std::numeric_limits<std::int64_t>::max() / 2;
  d.heads_q = 1;
  d.len_q = 1;
  d.len_kv = 1 << 20;
  d.head_dim = 8;
  EXPECT_VKATTN_ERROR(validate_desc(d), kUnsupported, "q [");
  d.batch = 1;
  d.len_q = std::int64_t{1} << 35;
  d.len_kv = std::int64_t{1} << 35;
  d.head_dim = 1;
  EXPECT_VKATTN_ERROR(validate_desc(d), kUnsupported, "score matrix");
  // Large scores alone are fine: flash never materialises them.
  d.len_q = std::int64_t{1} << 25;
  d.len_kv = std::int64_t{1} << 25;
  EXPECT_NO_THROW((void)validate_desc(d));
}

TEST(ValidateDesc, DefaultsAreResolved) {
  AttentionDesc d;
  d.batch = 3;
  d.heads_q = 8;
  d.len_q = 5;
  d.len_kv = 9;
  d.head_dim = 64;
  const Problem p = validate_desc(d);
  EXPECT_EQ(p.batch, 3);
  EXPECT_EQ(p.heads_q, 8);
  EXPECT_EQ(p.heads_kv, 8);
  EXPECT_EQ(p.group(), 1);
  EXPECT_EQ(p.len_q, 5);
  EXPECT_EQ(p.len_kv, 9);
  EXPECT_EQ(p.dim_qk, 64);
  EXPECT_EQ(p.dim_v, 64);
  EXPECT_EQ(p.scale, 0.125f);
  EXPECT_EQ(p.softcap, 0.0f);
  EXPECT_EQ(p.causal, Causal::none);
  EXPECT_EQ(p.window_left, -1);
  EXPECT_EQ(p.window_right, -1);
  EXPECT_EQ(p.mask, MaskKind::none);
  EXPECT_FALSE(p.has_kv_lens);
  EXPECT_FALSE(p.want_lse);
  EXPECT_FALSE(p.want_probs);

  d.head_dim = 80;
  EXPECT_FLOAT_EQ(validate_desc(d).scale, static_cast<float>(1.0 / std::sqrt(80.0)));
  d.heads_kv = 2;
  d.head_dim_v = 32;
  d.scale = 0.5f;
  d.causal = Causal::bottom_right;
  d.window_left = 7;
  d.dtype = DType::bf16;
  const Problem e = validate_desc(d);
  EXPECT_EQ(e.heads_kv, 2);
  EXPECT_EQ(e.group(), 4);
  EXPECT_EQ(e.dim_v, 32);
  EXPECT_EQ(e.scale, 0.5f);
  EXPECT_EQ(e.causal, Causal::bottom_right);
  EXPECT_EQ(e.window_left, 7);
  EXPECT_EQ(e.dtype, DType::bf16);
}

TEST(ValidateCall, ValidContiguousCallPasses) {
  Call c;
  const Problem p = c.validate();
  EXPECT_EQ(p.heads_kv, 4);
  EXPECT_EQ(p.dim_v, 12);
  EXPECT_EQ(p.mask, MaskKind::none);
}

TEST(ValidateCall, NullData) {
  {
    Call c;
    c.in.q.data = nullptr;
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "q.data is null");
  }
  {
    Call c;
    c.in.k.data = nullptr;
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "k.data is null");
  }
  {
    Call c;
    c.in.v.data = nullptr;
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "v.data is null");
  }
  {
    Call c;
    c.out.out.data = nullptr;
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "out.data is null");
  }
}

TEST(ValidateCall, DTypeMismatch) {
  Call c;
  c.in.k.dtype = DType::f16;
  EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "k.dtype=f16 does not match dtype=f32");
  c.in.k.dtype = DType::f32;
  c.out.out.dtype = DType::bf16;
  EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "out.dtype=bf16");
}

TEST(ValidateCall, ShapeMismatchNamesDimAndField) {
  {
    Call c;
    c.in.q.shape[1] = 4;
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "q.shape[1]=4 does not match heads_q=8");
  }
  {
    Call c;
    c.in.k.shape[2] = 6;
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "k.shape[2]=6 does not match len_kv=7");
  }
  {
    Call c;
    c.in.v.shape[3] = 16;  // V uses Dv, not Dk
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "v.shape[3]=16 does not match head_dim_v=12");
  }
  {
    Call c;
    c.in.k.shape[1] = 8;  // K uses Hkv
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "k.shape[1]=8 does not match heads_kv=4");
  }
  {
    Call c;
    c.out.out.shape[0] = 1;
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "out.shape[0]=1 does not match batch=2");
  }
}

TEST(ValidateCall, NegativeStrides) {
  Call c;
  c.in.q.strides[2] = -16;
  EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "q.strides[2]=-16", "negative");
}

TEST(ValidateCall, ZeroStrideOnARealDim) {
  Call c;
  c.in.k.strides[3] = 0;
  EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "k.strides[3]=0", "k.shape[3]=16");
}

TEST(ValidateCall, AnyStrideOnAnExtentOneDim) {
  Call c(1, 2, 2, 1, 3, 4, 4);
  c.in.q.strides = {0, 4, 0, 1};  // batch and length have extent 1: strides irrelevant
  EXPECT_NO_THROW((void)c.validate());
}

TEST(ValidateCall, OverlappingStrides) {
  Call c;
  c.in.k.strides[2] = 8;  // rows of 16 elements, 8 apart: rows share elements
  EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "k.strides overlap", "strides[2]=8");
  Call d;
  d.out.out.strides[1] = d.out.out.strides[2];  // two dims with one stride
  EXPECT_VKATTN_ERROR(d.validate(), kInvalid, "out.strides overlap");
}

TEST(ValidateCall, StridesPastTheExtent) {
  Call c;
  c.in.v.extent = 100;
  EXPECT_VKATTN_ERROR(c.validate(), kInvalid,
                      "v.extent=100 elements but strides reach element 671");
  Call d;
  d.in.q.strides[0] *= 2;  // padded batch stride with the original allocation
  EXPECT_VKATTN_ERROR(d.validate(), kInvalid, "q.extent=1280");
}

TEST(ValidateCall, OutputMustNotAliasInputs) {
  {
    Call c(1, 2, 2, 4, 4, 8, 8);  // q, k, v and out all have 64 elements
    c.out.out.data = c.q.data();
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "out overlaps q");
  }
  {
    Call c(1, 2, 2, 4, 4, 8, 8);
    c.out.out.data = c.v.data() + 63;  // last element shared
    c.out.out.extent = 64;
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "out overlaps v");
  }
  {
    Call c;
    std::vector<float> lse(2 * 8 * 5);
    c.out.lse = std::span<float>(c.o.data(), lse.size());  // lse written over out
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "lse");
  }
}

TEST(ValidateCall, ValidBlhdStridesAccepted) {
  Call c(2, 8, 2, 5, 7, 16, 24);
  c.in.q = TensorView::blhd(c.q.data(), DType::f32, 2, 8, 5, 16);
  c.in.k = TensorView::blhd(c.k.data(), DType::f32, 2, 2, 7, 16);
  c.in.v = TensorView::blhd(c.v.data(), DType::f32, 2, 2, 7, 24);
  c.out.out = MutableTensorView::blhd(c.o.data(), DType::f32, 2, 8, 5, 24);
  EXPECT_NO_THROW((void)c.validate());
  // Padded rows (stride 20 for 16 values) within a large enough allocation are fine too.
  std::vector<float> padded(2 * 8 * 5 * 20);
  c.in.q = {padded.data(), DType::f32, {2, 8, 5, 16}, {8 * 5 * 20, 5 * 20, 20, 1}, padded.size()};
  EXPECT_NO_THROW((void)c.validate());
}

TEST(ValidateCall, MaskShapesBroadcast) {
  Call c;  // target [2, 8, 5, 7]
  std::vector<float> mask(2 * 8 * 5 * 7);
  const std::vector<Dims4> shapes{{2, 8, 5, 7}, {1, 1, 5, 7}, {2, 1, 1, 7},
                                  {1, 8, 1, 1}, {1, 1, 1, 1}, {2, 8, 5, 1}};
  for (const Dims4& s : shapes) {
    TensorView m{
        mask.data(), DType::f32, s, {s[1] * s[2] * s[3], s[2] * s[3], s[3], 1}, mask.size()};
    c.in.mask = m;
    const Problem p = c.validate();
    EXPECT_EQ(p.mask, MaskKind::additive);
    EXPECT_EQ(p.mask_shape, s);
  }
}

TEST(ValidateCall, MaskKindFollowsDtype) {
  Call c;
  std::vector<std::uint8_t> bytes(2 * 8 * 5 * 7 * 4);
  auto m = TensorView::bhld(bytes.data(), DType::boolean, 2, 8, 5, 7);
  c.in.mask = m;
  EXPECT_EQ(c.validate().mask, MaskKind::boolean);
  EXPECT_EQ(c.validate().mask_dtype, DType::boolean);
  for (DType t : {DType::f16, DType::bf16, DType::f32}) {
    m.dtype = t;
    c.in.mask = m;
    EXPECT_EQ(c.validate().mask, MaskKind::additive);
    EXPECT_EQ(c.validate().mask_dtype, t);
  }
}

TEST(ValidateCall, BadMasks) {
  std::vector<float> mask(2 * 8 * 5 * 7);
  {
    Call c;
    c.in.mask = TensorView::bhld(mask.data(), DType::f32, 1, 1, 3, 7);
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "mask.shape[2]=3 must be len_q=5 or 1");
  }
  {
    Call c;
    c.in.mask = TensorView::bhld(nullptr, DType::f32, 1, 1, 5, 7);
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "mask.data is null");
  }
  {
    Call c;
    auto m = TensorView::bhld(mask.data(), DType::f32, 1, 1, 5, 7);
    m.extent = 34;
    c.in.mask = m;
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid,
                        "mask.extent=34 elements but strides reach element 34");
  }
  {
    Call c;
    auto m = TensorView::bhld(mask.data(), DType::f32, 1, 1, 5, 7);
    m.strides[2] = 3;
    c.in.mask = m;
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "mask.strides overlap");
  }
  {
    Call c;
    auto m = TensorView::bhld(mask.data(), DType::f32, 1, 1, 5, 7);
    m.strides[3] = -1;
    c.in.mask = m;
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "mask.strides[3]=-1");
  }
  {
    Call c;
    c.in.mask = TensorView::bhld(c.o.data(), DType::f32, 1, 1, 5, 7);  // mask inside out
    EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "out overlaps mask");
  }
}

TEST(ValidateCall, KvLens) {
  Call c;  // batch 2, len_kv 7
  const std::vector<std::int32_t> one{3};
  c.in.kv_lens = one;
  EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "kv_lens.size()=1 does not match batch=2");
  const std::vector<std::int32_t> too_long{3, 8};
  c.in.kv_lens = too_long;
  EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "kv_lens[1]=8", "len_kv=7");
  const std::vector<std::int32_t> negative{-1, 2};
  c.in.kv_lens = negative;
  EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "kv_lens[0]=-1");
  const std::vector<std::int32_t> ok{0, 7};
  c.in.kv_lens = ok;
  EXPECT_TRUE(c.validate().has_kv_lens);
}

TEST(ValidateCall, OptionalOutputSizes) {
  Call c;  // rows = 2·8·5 = 80, cells = 560
  std::vector<float> lse(81), probs(560);
  c.out.lse = std::span<float>(lse.data(), 79);
  EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "lse.size()=79", "80");
  c.out.lse = std::span<float>(lse.data(), 80);
  Problem p = c.validate();
  EXPECT_TRUE(p.want_lse);
  EXPECT_FALSE(p.want_probs);
  c.out.probs = std::span<float>(probs.data(), 561 - 2);
  EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "probs.size()=559", "560");
  c.out.probs = probs;
  p = c.validate();
  EXPECT_TRUE(p.want_lse);
  EXPECT_TRUE(p.want_probs);
  // lse and probs sharing memory is an alias between two outputs.
  c.out.lse = std::span<float>(probs.data() + 100, 80);
  EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "lse overlaps probs");
}

TEST(ValidateCall, DescriptionErrorsComeFirst) {
  Call c;
  c.desc.heads_kv = 3;
  c.in.q.data = nullptr;
  EXPECT_VKATTN_ERROR(c.validate(), kInvalid, "heads_q=8 is not a multiple of heads_kv=3");
}

}  // namespace
}  // namespace vkattn
