// SPDX-License-Identifier: MIT
// The oracle (src/cpu/reference.cpp) against hand-computed values, mathematical identities
// and independent re-derivations of every rule; plus the CPU backend that runs it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "core/backend.hpp"
#include "core/dtype.hpp"
#include "core/problem.hpp"
#include "cpu/reference.hpp"
#include "vkattn/vkattn.hpp"

namespace vkattn {
namespace {

using detail::Problem;
using detail::ReferenceResult;
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<float> random_values(std::size_t n, std::uint64_t seed, float magnitude = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-magnitude, magnitude);
  std::vector<float> out(n);
  for (float& x : out) x = dist(rng);
  return out;
}

std::size_t count_of(const AttentionDesc& d, bool kv, bool value) {
  const std::int64_t heads = kv ? d.heads_kv.value_or(d.heads_q) : d.heads_q;
  const std::int64_t len = kv ? d.len_kv : d.len_q;
  const std::int64_t dim = value ? d.head_dim_v.value_or(d.head_dim) : d.head_dim;
  return static_cast<std::size_t>(d.batch * heads * len * dim);
}

// f32 BHLD tensors for one problem, run through validate_call and the reference (asking for
// lse and probs), exactly as the CPU backend would.
struct Case {
  AttentionDesc desc;
  std::vector<float> q, k, v;
  std::optional<TensorView> mask;
  std::vector<std::int32_t> kv_lens;

  Case(const AttentionDesc& d, std::uint64_t seed) : desc(d) {
    q = random_values(count_of(d, false, false), seed);
    k = random_values(count_of(d, true, false), seed + 1);
    v = random_values(count_of(d, true, true), seed + 2);
  }

  [[nodiscard]] AttentionInputs inputs() const {
    const std::int64_t hkv = desc.heads_kv.value_or(desc.heads_q);
    const std::int64_t dv = desc.head_dim_v.value_or(desc.head_dim);
    AttentionInputs in;
    in.q =
        TensorView::bhld(q.data(), DType::f32, desc.batch, desc.heads_q, desc.len_q, desc.head_dim);
    in.k = TensorView::bhld(k.data(), DType::f32, desc.batch, hkv, desc.len_kv, desc.head_dim);
    in.v = TensorView::bhld(v.data(), DType::f32, desc.batch, hkv, desc.len_kv, dv);
    in.mask = mask;
    in.kv_lens = kv_lens;
    return in;
  }

  [[nodiscard]] Problem problem(const AttentionInputs& in) const {
    const std::size_t rows = static_cast<std::size_t>(desc.batch * desc.heads_q * desc.len_q);
    out_.assign(rows * static_cast<std::size_t>(desc.head_dim_v.value_or(desc.head_dim)), 0.0f);
    lse_.assign(rows, 0.0f);
    probs_.assign(rows * static_cast<std::size_t>(desc.len_kv), 0.0f);
    AttentionOutputs o;
    o.out = MutableTensorView::bhld(out_.data(), DType::f32, desc.batch, desc.heads_q, desc.len_q,
                                    desc.head_dim_v.value_or(desc.head_dim));
    o.lse = lse_;
    o.probs = probs_;
    return detail::validate_call(desc, in, o);
  }

  [[nodiscard]] ReferenceResult result() const {
    const AttentionInputs in = inputs();
    return detail::reference_attention(problem(in), in);
  }

 private:
  mutable std::vector<float> out_, lse_, probs_;
};

AttentionDesc shape(std::int64_t b, std::int64_t hq, std::int64_t lq, std::int64_t lkv,
                    std::int64_t dk, std::optional<std::int64_t> dv = std::nullopt) {
  AttentionDesc d;
  d.batch = b;
  d.heads_q = hq;
  d.len_q = lq;
  d.len_kv = lkv;
  d.head_dim = dk;
  d.head_dim_v = dv;
  return d;
}

// Number of keys with non-zero probability in each row.
std::vector<int> visible_counts(const ReferenceResult& r, std::int64_t len_kv) {
  std::vector<int> counts;
  for (std::size_t row = 0; row * static_cast<std::size_t>(len_kv) < r.probs.size(); ++row) {
    int n = 0;
    for (std::int64_t j = 0; j < len_kv; ++j)
      n += r.probs[row * static_cast<std::size_t>(len_kv) + static_cast<std::size_t>(j)] > 0.0;
    counts.push_back(n);
  }
  return counts;
}

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "index " << i;
}

TEST(Reference, HandComputedOneQueryTwoKeys) {
  // q = 2, k = (1, -1), v = (10, 20), scale 1/sqrt(1) = 1: scores (2, -2),
  // p0 = e^2 / (e^2 + e^-2), out = 10 p0 + 20 (1 - p0), lse = log(e^2 + e^-2).
  Case r(shape(1, 1, 1, 2, 1), 0);
  r.q = {2.0f};
  r.k = {1.0f, -1.0f};
  r.v = {10.0f, 20.0f};
  const ReferenceResult res = r.result();
  ASSERT_EQ(res.out.size(), 1u);
  EXPECT_NEAR(res.out[0], 10.179862099620916, 1e-13);
  EXPECT_NEAR(res.lse[0], 2.01814992791781, 1e-13);
  EXPECT_NEAR(res.probs[0], 0.9820137900379085, 1e-15);
  EXPECT_NEAR(res.probs[1], 1.0 - 0.9820137900379085, 1e-15);
}

TEST(Reference, HandComputedExplicitScaleTwoDims) {
  // q = (1, 2), keys (1,0), (0,1), (1,1), scale 0.5: scores (0.5, 1, 1.5).
  AttentionDesc d = shape(1, 1, 1, 3, 2);
  d.scale = 0.5f;
  Case r(d, 0);
  r.q = {1, 2};
  r.k = {1, 0, 0, 1, 1, 1};
  r.v = {1, 0, 0, 1, 2, 2};
  const ReferenceResult res = r.result();
  expect_near_all(res.probs, {0.1863237232258476, 0.30719588571849843, 0.506480391055654}, 1e-15);
  expect_near_all(res.out, {1.1992845053371557, 1.3201566678298065}, 1e-14);
  EXPECT_NEAR(res.lse[0], 2.1802696706417346, 1e-14);
}

TEST(Reference, UniformKeysGiveTheMeanOfV) {
  const AttentionDesc d = shape(2, 3, 4, 9, 8, 5);
  Case r(d, 11);
  // Every key of a head equal: all scores of a row are equal.
  for (std::size_t bh = 0; bh < 6; ++bh)
    for (std::size_t j = 0; j < 9; ++j)
      for (std::size_t c = 0; c < 8; ++c) r.k[(bh * 9 + j) * 8 + c] = r.k[bh * 9 * 8 + c];
  const ReferenceResult res = r.result();
  for (std::size_t bh = 0; bh < 6; ++bh)
    for (std::size_t i = 0; i < 4; ++i)
      for (std::size_t c = 0; c < 5; ++c) {
        double mean = 0.0;
        for (std::size_t j = 0; j < 9; ++j) mean += r.v[(bh * 9 + j) * 5 + c];
        mean /= 9.0;
        EXPECT_NEAR(res.out[(bh * 4 + i) * 5 + c], mean, 1e-14);
      }
  for (double p : res.probs) EXPECT_NEAR(p, 1.0 / 9.0, 1e-15);
}

TEST(Reference, OneDominantKeyGivesItsValueRow) {
  Case r(shape(1, 1, 2, 6, 4), 3);
  for (float& x : r.k) x *= 0.01f;
  for (std::size_t c = 0; c < 4; ++c) r.k[3 * 4 + c] = 100.0f;  // key 3 dominates
  for (float& x : r.q) x = 1.0f;
  const ReferenceResult res = r.result();
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t c = 0; c < 4; ++c) EXPECT_NEAR(res.out[i * 4 + c], r.v[3 * 4 + c], 1e-15);
}

TEST(Reference, ScaleInvariance) {
  // scale·(c·q)·k == (scale·c)·q·k: multiplying q by 4 and dividing the scale by 4 changes
  // nothing (powers of two keep every float product exact).
  AttentionDesc d = shape(1, 2, 5, 7, 16);
  Case a(d, 5);
  d.scale = 0.25f * 0.25f;
  Case b(d, 5);
  for (float& x : b.q) x *= 4.0f;
  const ReferenceResult ra = a.result(), rb = b.result();
  expect_near_all(rb.out, ra.out, 1e-14);
  expect_near_all(rb.lse, ra.lse, 1e-14);
  // And a larger scale sharpens the distribution: the max probability of every row grows.
  d.scale = 2.0f;
  Case c(d, 5);
  const ReferenceResult rc = c.result();
  for (std::size_t row = 0; row < 10; ++row) {
    const auto max_in = [&](const ReferenceResult& x) {
      return *std::max_element(x.probs.begin() + static_cast<std::ptrdiff_t>(row * 7),
                               x.probs.begin() + static_cast<std::ptrdiff_t>(row * 7 + 7));
    };
    EXPECT_GT(max_in(rc), max_in(ra)) << "row " << row;
  }
}

TEST(Reference, KeyVisibleRule) {
  Problem p;
  p.len_q = 3;
  p.len_kv = 5;
  p.causal = Causal::top_left;
  EXPECT_TRUE(detail::key_visible(p, 5, 0, 0));
  EXPECT_FALSE(detail::key_visible(p, 5, 0, 1));
  EXPECT_TRUE(detail::key_visible(p, 5, 2, 2));
  EXPECT_FALSE(detail::key_visible(p, 5, 2, 3));
  p.causal = Causal::bottom_right;  // diag(i) = i + 2
  EXPECT_TRUE(detail::key_visible(p, 5, 0, 2));
  EXPECT_FALSE(detail::key_visible(p, 5, 0, 3));
  EXPECT_TRUE(detail::key_visible(p, 5, 2, 4));
  EXPECT_FALSE(detail::key_visible(p, 4, 2, 4));  // kv_len bounds first, and moves diag
  EXPECT_TRUE(detail::key_visible(p, 4, 2, 3));
  p.causal = Causal::none;
  EXPECT_TRUE(detail::key_visible(p, 5, 0, 4));
  EXPECT_FALSE(detail::key_visible(p, 4, 0, 4));  // kv_len alone hides key 4
  EXPECT_FALSE(detail::key_visible(p, 0, 0, 0));
  p.window_left = 1;
  p.window_right = 0;  // diag(i) = i + kv_len - len_q even without causal
  EXPECT_TRUE(detail::key_visible(p, 5, 0, 1));
  EXPECT_TRUE(detail::key_visible(p, 5, 0, 2));
  EXPECT_FALSE(detail::key_visible(p, 5, 0, 0));
  EXPECT_FALSE(detail::key_visible(p, 5, 0, 3));
}

TEST(Reference, CausalTopLeftVersusBottomRight) {
  AttentionDesc d = shape(1, 1, 3, 5, 4);
  d.causal = Causal::top_left;
  EXPECT_EQ(visible_counts(Case(d, 1).result(), 5), (std::vector<int>{1, 2, 3}));
  d.causal = Causal::bottom_right;
  EXPECT_EQ(visible_counts(Case(d, 1).result(), 5), (std::vector<int>{3, 4, 5}));
  // More queries than keys: bottom-right leaves the first rows with nothing to attend to.
  d = shape(1, 1, 5, 3, 4);
  d.causal = Causal::top_left;
  EXPECT_EQ(visible_counts(Case(d, 2).result(), 3), (std::vector<int>{1, 2, 3, 3, 3}));
  d.causal = Causal::bottom_right;
  const ReferenceResult br = Case(d, 2).result();
  EXPECT_EQ(visible_counts(br, 3), (std::vector<int>{0, 0, 1, 2, 3}));
  EXPECT_EQ(br.lse[0], -kInf);
  EXPECT_EQ(br.lse[1], -kInf);
  EXPECT_TRUE(std::isfinite(br.lse[2]));
  // Square: the two alignments agree.
  d = shape(1, 2, 6, 6, 4);
  d.causal = Causal::top_left;
  const ReferenceResult tl = Case(d, 3).result();
  d.causal = Causal::bottom_right;
  EXPECT_EQ(Case(d, 3).result().out, tl.out);
}

TEST(Reference, SlidingWindow) {
  AttentionDesc d = shape(1, 1, 6, 6, 4);
  d.window_left = 1;
  d.window_right = 1;
  EXPECT_EQ(visible_counts(Case(d, 4).result(), 6), (std::vector<int>{2, 3, 3, 3, 3, 2}));
  d.window_right = -1;  // unbounded right
  EXPECT_EQ(visible_counts(Case(d, 4).result(), 6), (std::vector<int>{6, 6, 5, 4, 3, 2}));
  d.causal = Causal::top_left;
  d.window_left = 2;
  EXPECT_EQ(visible_counts(Case(d, 4).result(), 6), (std::vector<int>{1, 2, 3, 3, 3, 3}));
  // Without causal the window is centred on the bottom-right diagonal: row i sees key i+3.
  d = shape(1, 1, 2, 5, 4);
  d.window_left = 0;
  d.window_right = 0;
  const ReferenceResult r = Case(d, 5).result();
  EXPECT_EQ(r.probs, (std::vector<double>{0, 0, 0, 1, 0, 0, 0, 0, 0, 1}));
}

TEST(Reference, KvLensEqualTruncatedKeys) {
  // Without causal the length alone hides keys; with bottom-right causal the diagonal also
  // follows each sequence's own length.
  for (Causal causal : {Causal::none, Causal::bottom_right}) {
    SCOPED_TRACE(to_string(causal));
    AttentionDesc d = shape(2, 2, 3, 6, 4, 3);
    d.causal = causal;
    Case full(d, 6);
    full.kv_lens = {4, 6};
    const ReferenceResult rf = full.result();

    AttentionDesc d4 = shape(1, 2, 3, 4, 4, 3);
    d4.causal = causal;
    Case cut(d4, 0);
    cut.q.assign(full.q.begin(), full.q.begin() + 24);
    cut.k.clear();
    cut.v.clear();
    for (std::size_t h = 0; h < 2; ++h) {  // the first 4 keys of batch 0, each head
      cut.k.insert(cut.k.end(), full.k.begin() + static_cast<std::ptrdiff_t>(h * 24),
                   full.k.begin() + static_cast<std::ptrdiff_t>(h * 24 + 16));
      cut.v.insert(cut.v.end(), full.v.begin() + static_cast<std::ptrdiff_t>(h * 18),
                   full.v.begin() + static_cast<std::ptrdiff_t>(h * 18 + 12));
    }
    const ReferenceResult rc = cut.result();
    for (std::size_t i = 0; i < rc.out.size(); ++i) EXPECT_EQ(rf.out[i], rc.out[i]) << i;
    for (std::size_t i = 0; i < rc.lse.size(); ++i) EXPECT_EQ(rf.lse[i], rc.lse[i]) << i;
    if (causal == Causal::none) {
      for (std::size_t row = 0; row < 6; ++row)  // batch 0 rows see exactly keys 0..3
        for (std::size_t j = 0; j < 6; ++j) EXPECT_EQ(rf.probs[row * 6 + j] > 0.0, j < 4);
    }

    // Batch 1 uses every key; kv_len 0 masks every row of batch 0.
    full.kv_lens = {0, 6};
    const ReferenceResult rz = full.result();
    for (std::size_t i = 0; i < 2 * 3 * 3; ++i) EXPECT_EQ(rz.out[i], 0.0);
    for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(rz.lse[i], -kInf);
    for (std::size_t i = 18; i < rz.out.size(); ++i) EXPECT_EQ(rz.out[i], rf.out[i]);
  }
}

TEST(Reference, BooleanMaskEqualsAdditiveMinusInfinity) {
  const AttentionDesc d = shape(2, 2, 4, 7, 8);
  std::mt19937 rng(9);
  std::vector<std::uint8_t> keep(2 * 2 * 4 * 7);
  std::vector<float> add(keep.size());
  for (std::size_t i = 0; i < keep.size(); ++i) {
    keep[i] = (rng() % 3 != 0) || (i % 7 == 0);  // at least key 0 kept in every row
    add[i] = keep[i] ? 0.0f : -std::numeric_limits<float>::infinity();
  }
  Case a(d, 10), b(d, 10);
  a.mask = TensorView::bhld(keep.data(), DType::boolean, 2, 2, 4, 7);
  b.mask = TensorView::bhld(add.data(), DType::f32, 2, 2, 4, 7);
  const ReferenceResult ra = a.result(), rb = b.result();
  EXPECT_EQ(ra.out, rb.out);
  EXPECT_EQ(ra.lse, rb.lse);
  EXPECT_EQ(ra.probs, rb.probs);
  for (std::size_t i = 0; i < keep.size(); ++i)
    EXPECT_EQ(ra.probs[i] > 0.0, keep[i] != 0) << "cell " << i;
}

TEST(Reference, AdditiveMaskIsAddedAndBroadcast) {
  const AttentionDesc d = shape(2, 3, 2, 5, 4);
  const std::vector<float> bias = random_values(2 * 5, 12, 3.0f);  // [1, 1, 2, 5]
  std::vector<float> full(2 * 3 * 2 * 5);
  for (std::size_t bh = 0; bh < 6; ++bh)
    for (std::size_t c = 0; c < 10; ++c) full[bh * 10 + c] = bias[c];
  Case a(d, 13), b(d, 13), none(d, 13);
  a.mask = TensorView::bhld(bias.data(), DType::f32, 1, 1, 2, 5);
  b.mask = TensorView::bhld(full.data(), DType::f32, 2, 3, 2, 5);
  const ReferenceResult ra = a.result(), rb = b.result(), rn = none.result();
  EXPECT_EQ(ra.out, rb.out);
  // p_ij ∝ p0_ij·exp(bias_ij): check the ratio against key 0 in every row.
  for (std::size_t row = 0; row < 12; ++row)
    for (std::size_t j = 1; j < 5; ++j) {
      const std::size_t cell = row * 5 + j, first = row * 5;
      const double want = rn.probs[cell] / rn.probs[first] *
                          std::exp(double(bias[(row % 2) * 5 + j]) - double(bias[(row % 2) * 5]));
      EXPECT_NEAR(ra.probs[cell] / ra.probs[first], want, 1e-12 * want);
    }
  // An f16 mask holding the same (f16-representable) values gives the same result.
  std::vector<std::uint16_t> half(bias.size());
  std::vector<float> rounded(bias.size());
  for (std::size_t i = 0; i < bias.size(); ++i) {
    half[i] = detail::float_to_half(bias[i]);
    rounded[i] = detail::half_to_float(half[i]);
  }
  Case h(d, 13), f(d, 13);
  h.mask = TensorView::bhld(half.data(), DType::f16, 1, 1, 2, 5);
  f.mask = TensorView::bhld(rounded.data(), DType::f32, 1, 1, 2, 5);
  EXPECT_EQ(h.result().out, f.result().out);
}

// Softmax of given scores, straight from the definition (no max subtraction: callers keep
// scores moderate), for checks that must not share code with the reference.
std::vector<double> plain_softmax(const std::vector<double>& s) {
  double z = 0.0;
  for (double x : s) z += std::exp(x);
  std::vector<double> p;
  p.reserve(s.size());
  for (double x : s) p.push_back(std::exp(x) / z);
  return p;
}

TEST(Reference, SoftcapMatchesManualTanh) {
  AttentionDesc d = shape(1, 1, 3, 4, 2);
  d.scale = 1.0f;
  d.softcap = 5.0f;
  Case r(d, 14);
  for (float& x : r.q) x *= 6.0f;  // logits up to ~70: the cap matters
  for (float& x : r.k) x *= 6.0f;
  const ReferenceResult res = r.result();
  for (std::size_t i = 0; i < 3; ++i) {
    std::vector<double> s;
    for (std::size_t j = 0; j < 4; ++j) {
      const double dot = double(r.q[i * 2]) * r.k[j * 2] + double(r.q[i * 2 + 1]) * r.k[j * 2 + 1];
      s.push_back(5.0 * std::tanh(dot / 5.0));
    }
    const std::vector<double> p = plain_softmax(s);
    double z = 0.0;
    for (double x : s) z += std::exp(x);
    EXPECT_NEAR(res.lse[i], std::log(z), 1e-13);
    for (std::size_t j = 0; j < 4; ++j) EXPECT_NEAR(res.probs[i * 4 + j], p[j], 1e-14);
    for (std::size_t c = 0; c < 2; ++c) {
      double o = 0.0;
      for (std::size_t j = 0; j < 4; ++j) o += p[j] * r.v[j * 2 + c];
      EXPECT_NEAR(res.out[i * 2 + c], o, 1e-14);
    }
    // Capped logits lie in (-5, 5), so no probability ratio exceeds e^10.
    for (std::size_t j = 0; j < 4; ++j) EXPECT_GT(res.probs[i * 4 + j], std::exp(-10.0) / 4.0);
  }
}

TEST(Reference, GqaEqualsRepeatedKvHeads) {
  AttentionDesc d = shape(2, 6, 3, 5, 4, 3);
  d.heads_kv = 2;  // query heads 0-2 read kv head 0, 3-5 read kv head 1
  Case g(d, 15);
  AttentionDesc m = shape(2, 6, 3, 5, 4, 3);
  Case rep(m, 0);
  rep.q = g.q;
  rep.k.clear();
  rep.v.clear();
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t h = 0; h < 6; ++h) {
      const std::size_t src = b * 2 + h / 3;
      rep.k.insert(rep.k.end(), g.k.begin() + static_cast<std::ptrdiff_t>(src * 20),
                   g.k.begin() + static_cast<std::ptrdiff_t>(src * 20 + 20));
      rep.v.insert(rep.v.end(), g.v.begin() + static_cast<std::ptrdiff_t>(src * 15),
                   g.v.begin() + static_cast<std::ptrdiff_t>(src * 15 + 15));
    }
  const ReferenceResult rg = g.result(), rr = rep.result();
  EXPECT_EQ(rg.out, rr.out);
  EXPECT_EQ(rg.lse, rr.lse);
  // And a head reads its own group's kv head, not head 0: heads 0 and 3 differ.
  EXPECT_NE(rg.out[0], rg.out[3 * 3 * 3]);
}

TEST(Reference, DkDiffersFromDv) {
  AttentionDesc d = shape(1, 1, 2, 3, 3, 5);
  Case r(d, 16);
  const ReferenceResult res = r.result();
  ASSERT_EQ(res.out.size(), 10u);
  const double scale = 1.0 / std::sqrt(3.0);
  for (std::size_t i = 0; i < 2; ++i) {
    std::vector<double> s;
    for (std::size_t j = 0; j < 3; ++j) {
      double dot = 0.0;
      for (std::size_t c = 0; c < 3; ++c) dot += double(r.q[i * 3 + c]) * r.k[j * 3 + c];
      s.push_back(double(static_cast<float>(scale)) * dot);
    }
    const std::vector<double> p = plain_softmax(s);
    for (std::size_t c = 0; c < 5; ++c) {
      double o = 0.0;
      for (std::size_t j = 0; j < 3; ++j) o += p[j] * r.v[j * 5 + c];
      EXPECT_NEAR(res.out[i * 5 + c], o, 1e-14);
    }
  }
}

TEST(Reference, FullyMaskedRowGivesZeroAndMinusInfinity) {
  const AttentionDesc d = shape(1, 1, 3, 4, 2);
  std::vector<std::uint8_t> keep{1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0};  // row 1 sees nothing
  const float ninf = -std::numeric_limits<float>::infinity();
  std::vector<float> add{0, 0, 0, 0, ninf, ninf, ninf, ninf, ninf, 0, ninf, ninf};
  for (int kind = 0; kind < 2; ++kind) {
    Case r(d, 17);
    r.mask = kind == 0 ? TensorView::bhld(keep.data(), DType::boolean, 1, 1, 3, 4)
                       : TensorView::bhld(add.data(), DType::f32, 1, 1, 3, 4);
    const ReferenceResult res = r.result();
    EXPECT_EQ(res.out[2], 0.0);
    EXPECT_EQ(res.out[3], 0.0);
    EXPECT_EQ(res.lse[1], -kInf);
    for (std::size_t j = 4; j < 8; ++j) EXPECT_EQ(res.probs[j], 0.0);
    for (double x : res.out) EXPECT_FALSE(std::isnan(x));
    for (double x : res.probs) EXPECT_FALSE(std::isnan(x));
    // Row 2 sees only key 1: its V row exactly.
    EXPECT_EQ(res.out[4], double(r.v[2]));
    EXPECT_EQ(res.out[5], double(r.v[3]));
    EXPECT_EQ(res.probs[9], 1.0);
  }
}

TEST(Reference, LargeLogitsAreStable) {
  // Scores 10000 + (0, 0.5, -1) and -10000 + the same: shift invariance says both equal the
  // softmax of (0, 0.5, -1); a naive exp would overflow or underflow to 0/0.
  for (float base : {10000.0f, -10000.0f}) {
    AttentionDesc d = shape(1, 1, 1, 3, 1);
    d.scale = 1.0f;
    Case r(d, 0);
    r.q = {1.0f};
    r.k = {base, base + 0.5f, base - 1.0f};
    r.v = {1.0f, 2.0f, 3.0f};
    const ReferenceResult res = r.result();
    const std::vector<double> p = plain_softmax({0.0, 0.5, -1.0});
    expect_near_all(res.probs, p, 1e-15);
    EXPECT_NEAR(res.out[0], p[0] + 2 * p[1] + 3 * p[2], 1e-14);
    EXPECT_NEAR(res.lse[0], base + std::log(1.0 + std::exp(0.5) + std::exp(-1.0)), 1e-11);
  }
}

TEST(Reference, LseEqualsLogSumExpComputedIndependently) {
  AttentionDesc d = shape(2, 2, 3, 5, 4);
  d.causal = Causal::top_left;
  Case r(d, 18);
  const ReferenceResult res = r.result();
  const double scale = double(1.0f / 2.0f);
  for (std::size_t bh = 0; bh < 4; ++bh)
    for (std::size_t i = 0; i < 3; ++i) {
      double z = 0.0;
      for (std::size_t j = 0; j <= i; ++j) {  // top-left causal: keys 0..i
        double dot = 0.0;
        for (std::size_t c = 0; c < 4; ++c)
          dot += double(r.q[(bh * 3 + i) * 4 + c]) * r.k[(bh * 5 + j) * 4 + c];
        z += std::exp(scale * dot);
      }
      EXPECT_NEAR(res.lse[bh * 3 + i], std::log(z), 1e-14);
    }
}

TEST(Reference, ProbabilityRowsSumToOne) {
  AttentionDesc d = shape(2, 4, 9, 13, 8, 6);
  d.heads_kv = 2;
  d.causal = Causal::bottom_right;
  d.window_left = 5;
  d.softcap = 3.0f;
  Case r(d, 19);
  r.kv_lens = {11, 13};
  const ReferenceResult res = r.result();
  for (std::size_t row = 0; row < 2 * 4 * 9; ++row) {
    double sum = 0.0;
    for (std::size_t j = 0; j < 13; ++j) sum += res.probs[row * 13 + j];
    EXPECT_NEAR(sum, 1.0, 1e-14) << "row " << row;
    EXPECT_TRUE(std::isfinite(res.lse[row]));
  }
}

TEST(Reference, StridedAndReducedPrecisionInputs) {
  // The same values through BLHD views give the same result as BHLD.
  const AttentionDesc d = shape(2, 3, 4, 5, 6);
  Case a(d, 20);
  const ReferenceResult ra = a.result();
  std::vector<float> q2(a.q.size()), k2(a.k.size()), v2(a.v.size());
  const auto to_blhd = [](const std::vector<float>& src, std::vector<float>& dst, std::int64_t h,
                          std::int64_t l, std::int64_t dd) {
    const auto view = TensorView::blhd(dst.data(), DType::f32, 2, h, l, dd);
    for (std::int64_t b = 0; b < 2; ++b)
      for (std::int64_t hh = 0; hh < h; ++hh)
        for (std::int64_t i = 0; i < l; ++i)
          for (std::int64_t c = 0; c < dd; ++c)
            dst[detail::offset_of(view, b, hh, i, c)] =
                src[static_cast<std::size_t>(((b * h + hh) * l + i) * dd + c)];
  };
  to_blhd(a.q, q2, 3, 4, 6);
  to_blhd(a.k, k2, 3, 5, 6);
  to_blhd(a.v, v2, 3, 5, 6);
  AttentionInputs in = a.inputs();
  in.q = TensorView::blhd(q2.data(), DType::f32, 2, 3, 4, 6);
  in.k = TensorView::blhd(k2.data(), DType::f32, 2, 3, 5, 6);
  in.v = TensorView::blhd(v2.data(), DType::f32, 2, 3, 5, 6);
  EXPECT_EQ(detail::reference_attention(a.problem(in), in).out, ra.out);

  // f16 storage is read as its exact values: equal to f32 holding the rounded values.
  AttentionDesc dh = d;
  dh.dtype = DType::f16;
  std::vector<std::uint16_t> qh(a.q.size()), kh(a.k.size()), vh(a.v.size());
  Case rounded(d, 20);
  const auto to_half = [](std::vector<float>& src, std::vector<std::uint16_t>& dst) {
    for (std::size_t i = 0; i < src.size(); ++i) {
      dst[i] = detail::float_to_half(src[i]);
      src[i] = detail::half_to_float(dst[i]);
    }
  };
  to_half(rounded.q, qh);
  to_half(rounded.k, kh);
  to_half(rounded.v, vh);
  AttentionInputs hin;
  hin.q = TensorView::bhld(qh.data(), DType::f16, 2, 3, 4, 6);
  hin.k = TensorView::bhld(kh.data(), DType::f16, 2, 3, 5, 6);
  hin.v = TensorView::bhld(vh.data(), DType::f16, 2, 3, 5, 6);
  std::vector<std::uint16_t> oh(2 * 3 * 4 * 6);
  AttentionOutputs hout;
  hout.out = MutableTensorView::bhld(oh.data(), DType::f16, 2, 3, 4, 6);
  const Problem ph = detail::validate_call(dh, hin, hout);
  EXPECT_EQ(detail::reference_attention(ph, hin).out, rounded.result().out);
}

TEST(Reference, WriteOutputsRoundsAndFollowsStrides) {
  Problem p;
  p.batch = 1;
  p.heads_q = 2;
  p.heads_kv = 2;
  p.len_q = 2;
  p.len_kv = 3;
  p.dim_qk = 2;
  p.dim_v = 2;
  p.dtype = DType::f16;
  p.want_lse = true;
  p.want_probs = true;
  ReferenceResult r;
  r.out = {1.0 + 0x1p-12, 2, 3, 4, 5, 6, 7, 8};  // first value rounds to 1 in f16
  r.lse = {0.5, -kInf, 1.5, 2.5};
  r.probs.assign(12, 0.25);
  std::vector<std::uint16_t> o(8, 0xFFFF);
  std::vector<float> lse(4), probs(12);
  AttentionOutputs out;
  out.out = MutableTensorView::blhd(o.data(), DType::f16, 1, 2, 2, 2);  // [B, L, H, D] memory
  out.lse = lse;
  out.probs = probs;
  detail::write_outputs(p, r, out);
  // BLHD memory order: (l0 h0), (l0 h1), (l1 h0), (l1 h1).
  const std::vector<float> want{1, 2, 5, 6, 3, 4, 7, 8};
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(detail::half_to_float(o[i]), want[i]) << i;
  EXPECT_EQ(lse[1], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(lse[3], 2.5f);
  for (float x : probs) EXPECT_EQ(x, 0.25f);
}

TEST(CpuBackend, InfoPlanAndRun) {
  const auto backend = detail::make_cpu_backend();
  EXPECT_EQ(backend->info().backend, Backend::cpu);
  EXPECT_EQ(backend->info().type, "cpu");
  EXPECT_FALSE(backend->info().name.empty());
  EXPECT_GE(backend->info().threads, 1u);

  Case r(shape(1, 2, 3, 4, 8), 21);
  const AttentionInputs in = r.inputs();
  std::vector<float> o(2 * 3 * 8), lse(6);
  AttentionOutputs out;
  out.out = MutableTensorView::bhld(o.data(), DType::f32, 1, 2, 3, 8);
  out.lse = lse;
  const Problem p = detail::validate_call(r.desc, in, out);
  // Forced kernels are ignored on the cpu: without P the blocked fallback runs.
  const Plan plan = backend->plan(p, Kernel::three_pass);
  EXPECT_EQ(plan.kernel, Kernel::flash);
  EXPECT_NE(plan.reason.find("cpu: blocked online softmax"), std::string::npos) << plan.reason;
  backend->run(p, plan, in, out);
  const ReferenceResult ref = detail::reference_attention(p, in);
  // f32 arithmetic in the fallback: within a few ulps of the double reference.
  for (std::size_t i = 0; i < o.size(); ++i)
    EXPECT_NEAR(o[i], ref.out[i], 1e-6 + 1e-5 * std::abs(ref.out[i])) << i;
  for (std::size_t i = 0; i < lse.size(); ++i)
    EXPECT_NEAR(lse[i], ref.lse[i], 1e-5 * (1 + std::abs(ref.lse[i]))) << i;

  // Asking for P routes to the reference, whose outputs are the rounded double results.
  std::vector<float> probs(2 * 3 * 4);
  out.probs = probs;
  Problem with_probs = detail::validate_call(r.desc, in, out);
  const Plan reference_plan = backend->plan(with_probs, Kernel::automatic);
  EXPECT_EQ(reference_plan.kernel, Kernel::three_pass);
  EXPECT_EQ(reference_plan.reason, "cpu: reference (double accumulation), probabilities requested");
  backend->run(with_probs, reference_plan, in, out);
  for (std::size_t i = 0; i < o.size(); ++i) EXPECT_EQ(o[i], static_cast<float>(ref.out[i]));
  for (std::size_t i = 0; i < lse.size(); ++i) EXPECT_EQ(lse[i], static_cast<float>(ref.lse[i]));
}

}  // namespace
}  // namespace vkattn
