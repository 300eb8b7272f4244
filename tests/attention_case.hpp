// SPDX-License-Identifier: MIT
#pragma once

// One attention case (shape, dtype, every semantic option), run through a Context and
// compared with the double-precision reference; shared by the tests of every kernel so each
// is held to the same cases and the same tolerances.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "cpu/reference.hpp"
#include "testutil.hpp"

namespace vkattn::test {

enum class MaskMode { none, boolean, additive };

struct Case {
  std::int64_t batch = 1, heads_q = 1, heads_kv = 1, len_q = 1, len_kv = 1, dim = 8, dim_v = 0;
  DType dtype = DType::f32;
  float magnitude = 1.0f;
  Causal causal = Causal::none;
  std::int64_t window_left = -1, window_right = -1;
  float softcap = 0.0f;
  MaskMode mask = MaskMode::none;
  DType mask_dtype = DType::f32;
  Dims4 mask_shape{1, 1, 1, 1};  // broadcast shape; 0 entries are filled with the full dim
  bool kv_lens = false;
  bool blhd = false;
  bool lse = true;
  bool probs = false;
  std::uint64_t seed = 1;

  [[nodiscard]] std::int64_t dv() const { return dim_v > 0 ? dim_v : dim; }
  [[nodiscard]] std::string str() const {
    std::ostringstream s;
    s << "B=" << batch << " Hq=" << heads_q << " Hkv=" << heads_kv << " Lq=" << len_q
      << " Lkv=" << len_kv << " Dk=" << dim << " Dv=" << dv() << " dtype=" << to_string(dtype)
      << " mag=" << magnitude << " causal=" << to_string(causal) << " window=(" << window_left
      << "," << window_right << ")"
      << " softcap=" << softcap << " mask=" << static_cast<int>(mask) << "/"
      << to_string(mask_dtype) << "[" << mask_shape[0] << "," << mask_shape[1] << ","
      << mask_shape[2] << "," << mask_shape[3] << "]"
      << " kv_lens=" << kv_lens << " blhd=" << blhd << " probs=" << probs << " seed=" << seed;
    return s.str();
  }
};

// A case of the given sizes, every option at its default.
inline Case shape(std::int64_t b, std::int64_t hq, std::int64_t hkv, std::int64_t lq,
                  std::int64_t lkv, std::int64_t dk, std::int64_t dv, std::uint64_t seed) {
  Case c;
  c.batch = b;
  c.heads_q = hq;
  c.heads_kv = hkv;
  c.len_q = lq;
  c.len_kv = lkv;
  c.dim = dk;
  c.dim_v = dv;
  c.seed = seed;
  return c;
}

// Logical BHLD index `i` of a view -> its element offset.
template <class View>
inline std::size_t element(const View& v, std::size_t i) {
  const auto& s = v.shape;
  const auto d = static_cast<std::int64_t>(i) % s[3];
  const auto l = static_cast<std::int64_t>(i) / s[3] % s[2];
  const auto h = static_cast<std::int64_t>(i) / (s[3] * s[2]) % s[1];
  const auto b = static_cast<std::int64_t>(i) / (s[3] * s[2] * s[1]);
  return detail::offset_of(v, b, h, l, d);
}

template <class View>
View make_view(void* data, DType t, bool blhd, std::int64_t b, std::int64_t h, std::int64_t l,
               std::int64_t d) {
  using P = decltype(View::data);
  return blhd ? View::blhd(static_cast<P>(data), t, b, h, l, d)
              : View::bhld(static_cast<P>(data), t, b, h, l, d);
}

struct Outcome {
  Comparison out, lse, probs;
  Plan plan;
};

// The description of `c`'s problem (sizes, dtype, causal, window, softcap).
inline AttentionDesc desc_of(const Case& c) {
  AttentionDesc desc;
  desc.batch = c.batch;
  desc.heads_q = c.heads_q;
  desc.heads_kv = c.heads_kv;
  desc.len_q = c.len_q;
  desc.len_kv = c.len_kv;
  desc.head_dim = c.dim;
  desc.head_dim_v = c.dv();
  desc.dtype = c.dtype;
  desc.causal = c.causal;
  desc.window_left = c.window_left;
  desc.window_right = c.window_right;
  desc.softcap = c.softcap;
  return desc;
}

// Runs `c` on `ctx` and compares every requested output with the reference.
inline Outcome run_case(Context& ctx, const Case& c) {
  const AttentionDesc desc = desc_of(c);

  const auto n = [](std::int64_t a, std::int64_t b, std::int64_t l, std::int64_t d) {
    return static_cast<std::size_t>(a * b * l * d);
  };
  HostTensor q = random_tensor(c.dtype, n(c.batch, c.heads_q, c.len_q, c.dim), c.seed, c.magnitude);
  HostTensor k =
      random_tensor(c.dtype, n(c.batch, c.heads_kv, c.len_kv, c.dim), c.seed + 1, c.magnitude);
  HostTensor v =
      random_tensor(c.dtype, n(c.batch, c.heads_kv, c.len_kv, c.dv()), c.seed + 2, c.magnitude);
  HostTensor o(c.dtype, n(c.batch, c.heads_q, c.len_q, c.dv()));

  AttentionInputs in;
  in.q = make_view<TensorView>(q.data(), c.dtype, c.blhd, c.batch, c.heads_q, c.len_q, c.dim);
  in.k = make_view<TensorView>(k.data(), c.dtype, c.blhd, c.batch, c.heads_kv, c.len_kv, c.dim);
  in.v = make_view<TensorView>(v.data(), c.dtype, c.blhd, c.batch, c.heads_kv, c.len_kv, c.dv());

  const Dims4 full{c.batch, c.heads_q, c.len_q, c.len_kv};
  Dims4 ms = c.mask_shape;
  for (int d = 0; d < 4; ++d)
    if (ms[d] == 0) ms[d] = full[d];
  std::mt19937_64 rng(c.seed + 3);
  std::optional<HostTensor> mask;
  double max_mask = 0.0;
  if (c.mask != MaskMode::none) {
    const DType t = c.mask == MaskMode::boolean ? DType::boolean : c.mask_dtype;
    mask.emplace(t, n(ms[0], ms[1], ms[2], ms[3]));
    std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
    for (std::size_t i = 0; i < mask->count; ++i) {
      const bool attend = rng() % 5 != 0;  // ~20% masked
      if (t == DType::boolean) {
        mask->bytes[i] = attend ? 1 : 0;
      } else {
        mask->set(i, attend ? dist(rng) : -std::numeric_limits<float>::infinity());
        if (attend) max_mask = std::max(max_mask, std::abs(static_cast<double>(mask->get(i))));
      }
    }
    in.mask = TensorView::bhld(mask->data(), t, ms[0], ms[1], ms[2], ms[3]);
  }
  std::vector<std::int32_t> lens;
  if (c.kv_lens) {
    for (std::int64_t b = 0; b < c.batch; ++b)
      lens.push_back(static_cast<std::int32_t>(
          b == 0 ? c.len_kv
                 : static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(c.len_kv + 1))));
    in.kv_lens = lens;
  }

  std::vector<float> lse(c.lse ? n(c.batch, c.heads_q, c.len_q, 1) : 0, -1.0f);
  std::vector<float> probs(c.probs ? n(c.batch, c.heads_q, c.len_q, c.len_kv) : 0, -1.0f);
  AttentionOutputs out;
  out.out =
      make_view<MutableTensorView>(o.data(), c.dtype, c.blhd, c.batch, c.heads_q, c.len_q, c.dv());
  out.lse = lse;
  out.probs = probs;

  const detail::Problem problem = detail::validate_call(desc, in, out);
  Outcome r;
  r.plan = ctx.plan(desc, c.probs);
  ctx.attention(desc, in, out);
  const detail::ReferenceResult ref = detail::reference_attention(problem, in);

  // Largest |logit| entering exp (scale·q·k after softcap, plus the mask), for the tolerance.
  double max_logit = 0.0;
  const std::int64_t group = c.heads_q / c.heads_kv;
  for (std::int64_t b = 0; b < c.batch; ++b)
    for (std::int64_t h = 0; h < c.heads_q; ++h)
      for (std::int64_t i = 0; i < c.len_q; ++i)
        for (std::int64_t j = 0; j < c.len_kv; ++j) {
          double dot = 0.0;
          for (std::int64_t d = 0; d < c.dim; ++d)
            dot += static_cast<double>(q.get(detail::offset_of(in.q, b, h, i, d))) *
                   k.get(detail::offset_of(in.k, b, h / group, j, d));
          double s = dot * problem.scale;
          if (c.softcap > 0.0f) s = c.softcap * std::tanh(s / c.softcap);
          max_logit = std::max(max_logit, std::abs(s) + max_mask);
        }
  double max_v = 0.0;
  for (std::size_t i = 0; i < v.count; ++i)
    max_v = std::max(max_v, std::abs(static_cast<double>(v.get(i))));

  const double factor = logit_factor(max_logit);
  r.out = compare([&](std::size_t i) { return static_cast<double>(o.get(element(out.out, i))); },
                  ref.out, tolerance_for(c.dtype), std::max(max_v, 1e-30) * factor);
  // LSE and P are f32 whatever the storage type: their error is the kernel's f32 error.
  if (c.lse)
    r.lse = compare([&](std::size_t i) { return static_cast<double>(lse[i]); }, ref.lse,
                    tolerance_for(DType::f32), factor);
  if (c.probs)
    r.probs = compare([&](std::size_t i) { return static_cast<double>(probs[i]); }, ref.probs,
                      tolerance_for(DType::f32), factor);
  std::printf("[%s] %s | max_logit=%.3g out: abs=%.3g rel=%.3g lse: rel=%.3g probs: rel=%.3g\n",
              to_string(r.plan.kernel), c.str().c_str(), max_logit, r.out.max_abs_err,
              r.out.max_rel_err, r.lse.max_rel_err, r.probs.max_rel_err);
  return r;
}

inline void expect_ok(const Case& c, const Outcome& r, Kernel kernel) {
  const auto msg = [&](const char* what, const Comparison& x) {
    std::ostringstream s;
    s << what << " mismatch for " << c.str() << ": max_abs_err=" << x.max_abs_err
      << " max_rel_err (vs bound)=" << x.max_rel_err << " worst index=" << x.worst
      << " nan=" << x.nan_count;
    return s.str();
  };
  EXPECT_TRUE(r.out.ok) << msg("out", r.out);
  EXPECT_TRUE(r.lse.ok) << msg("lse", r.lse);
  EXPECT_TRUE(r.probs.ok) << msg("probs", r.probs);
  EXPECT_EQ(r.plan.kernel, kernel) << r.plan.reason;
}

}  // namespace vkattn::test
