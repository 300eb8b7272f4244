// SPDX-License-Identifier: MIT
// The fast CPU fallback (src/cpu/fallback.cpp) against the double-precision reference on
// the same (storage-rounded) inputs: lengths around the fallback's block sizes (64 keys per
// K/V block, 240 rows per task), head dims, GQA, every mask kind and broadcast, causal in
// both alignments, windows, kv_lens, softcap, f16/bf16, BLHD strides, empty rows, huge
// logits, 1 and 3 threads (3 forces split-KV on decode shapes), both kernel builds, and
// the half-precision conversions of both builds over every 16-bit pattern.
// Tolerances come from tests/tolerance.hpp only; a failure prints the case and its seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/dtype.hpp"
#include "core/problem.hpp"
#include "cpu/fallback.hpp"
#include "cpu/fallback_kernels.hpp"
#include "cpu/reference.hpp"
#include "testutil.hpp"
#include "tolerance.hpp"

namespace vkattn::test {
namespace {

using detail::CpuFallback;
using detail::CpuIsa;
using i64 = std::int64_t;
using detail::FallbackKernels;

struct MaskSpec {
  DType dtype = DType::boolean;  // boolean, or f32/f16/bf16 for an additive mask
  Dims4 shape{};                 // each dim the target extent or 1
  double neg_inf_share = 0.0;    // additive: share of -inf entries; boolean: share of false
  i64 empty_row = -1;            // query row to exclude entirely (all false / all -inf)
};

struct Case {
  i64 b = 1, hq = 1, hkv = 1, lq = 1, lkv = 1, dk = 32, dv = 32;
  DType dtype = DType::f32;
  Causal causal = Causal::none;
  i64 window_left = -1, window_right = -1;
  float softcap = 0.0f;
  std::optional<MaskSpec> mask;
  std::vector<std::int32_t> kv_lens;
  bool blhd = false;
  float magnitude = 1.0f;  // of Q and K (large for huge logits)
  unsigned threads = 1;
  CpuIsa isa = CpuIsa::automatic;
  std::size_t pack_bytes = detail::kSharedPackBytes;  // CpuFallback's cap on shared packs
  std::uint64_t seed = 1;

  [[nodiscard]] std::string describe() const {
    std::ostringstream s;
    s << "B=" << b << " Hq=" << hq << " Hkv=" << hkv << " Lq=" << lq << " Lkv=" << lkv
      << " Dk=" << dk << " Dv=" << dv << " dtype=" << to_string(dtype)
      << " causal=" << to_string(causal) << " window=(" << window_left << "," << window_right
      << ") softcap=" << softcap;
    if (mask) {
      s << " mask=" << to_string(mask->dtype) << "[" << mask->shape[0] << "," << mask->shape[1]
        << "," << mask->shape[2] << "," << mask->shape[3] << "] excl=" << mask->neg_inf_share
        << " empty_row=" << mask->empty_row;
    }
    if (!kv_lens.empty()) {
      s << " kv_lens=";
      for (auto l : kv_lens) s << l << ",";
    }
    s << " layout=" << (blhd ? "BLHD" : "BHLD") << " magnitude=" << magnitude
      << " threads=" << threads << " isa=" << (isa == CpuIsa::generic ? "generic" : "auto")
      << " seed=" << seed;
    return s.str();
  }
};

// One pool per (threads, isa) for the whole binary, as a backend would hold it: this also
// checks that state carried between calls of one CpuFallback does not leak into results.
CpuFallback& fallback_for(unsigned threads, CpuIsa isa, std::size_t pack_bytes) {
  static std::map<std::tuple<unsigned, CpuIsa, std::size_t>, std::unique_ptr<CpuFallback>> pools;
  auto& slot = pools[{threads, isa, pack_bytes}];
  if (!slot) slot = std::make_unique<CpuFallback>(threads, isa, pack_bytes);
  return *slot;
}

std::size_t count(const Dims4& d) { return static_cast<std::size_t>(d[0] * d[1] * d[2] * d[3]); }

template <class View>
View make_view(const Case& c, void* data, DType t, i64 h, i64 l, i64 d) {
  using Ptr = decltype(View::data);
  return c.blhd ? View::blhd(static_cast<Ptr>(data), t, c.b, h, l, d)
                : View::bhld(static_cast<Ptr>(data), t, c.b, h, l, d);
}

HostTensor make_mask(const MaskSpec& m, std::uint64_t seed) {
  const std::size_t n = count(m.shape);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  HostTensor t(m.dtype, n);
  for (std::size_t e = 0; e < n; ++e) {
    const bool excluded = u(rng) < m.neg_inf_share;
    const auto row = static_cast<i64>(e / static_cast<std::size_t>(m.shape[3])) % m.shape[2];
    const bool drop = excluded || row == m.empty_row;
    if (m.dtype == DType::boolean)
      t.bytes[e] = drop ? 0 : 1;
    else
      t.set(e, drop ? -std::numeric_limits<float>::infinity() : 2.0f * u(rng) - 1.0f);
  }
  return t;
}

void check(const Case& c) {
  SCOPED_TRACE(c.describe());
  const std::uint64_t seed = c.seed;
  HostTensor q = random_tensor(c.dtype, static_cast<std::size_t>(c.b * c.hq * c.lq * c.dk),
                               seed * 4 + 0, c.magnitude);
  HostTensor k = random_tensor(c.dtype, static_cast<std::size_t>(c.b * c.hkv * c.lkv * c.dk),
                               seed * 4 + 1, c.magnitude);
  HostTensor v = random_tensor(c.dtype, static_cast<std::size_t>(c.b * c.hkv * c.lkv * c.dv),
                               seed * 4 + 2, 1.0f);
  HostTensor o(c.dtype, static_cast<std::size_t>(c.b * c.hq * c.lq * c.dv));
  for (std::size_t e = 0; e < o.count; ++e) o.set(e, 12345.0f);  // catches rows never written
  std::vector<float> lse(static_cast<std::size_t>(c.b * c.hq * c.lq), 12345.0f);
  std::optional<HostTensor> mask;
  if (c.mask) mask = make_mask(*c.mask, seed * 4 + 3);

  AttentionDesc desc;
  desc.batch = c.b;
  desc.heads_q = c.hq;
  desc.heads_kv = c.hkv;
  desc.len_q = c.lq;
  desc.len_kv = c.lkv;
  desc.head_dim = c.dk;
  desc.head_dim_v = c.dv;
  desc.dtype = c.dtype;
  desc.causal = c.causal;
  desc.window_left = c.window_left;
  desc.window_right = c.window_right;
  desc.softcap = c.softcap;

  AttentionInputs in;
  in.q = make_view<TensorView>(c, q.data(), c.dtype, c.hq, c.lq, c.dk);
  in.k = make_view<TensorView>(c, k.data(), c.dtype, c.hkv, c.lkv, c.dk);
  in.v = make_view<TensorView>(c, v.data(), c.dtype, c.hkv, c.lkv, c.dv);
  if (mask) {
    const Dims4& s = c.mask->shape;
    in.mask = TensorView{
        mask->data(), c.mask->dtype, s, {s[1] * s[2] * s[3], s[2] * s[3], s[3], 1}, mask->count};
  }
  in.kv_lens = c.kv_lens;
  AttentionOutputs out;
  out.out = make_view<MutableTensorView>(c, o.data(), c.dtype, c.hq, c.lq, c.dv);
  out.lse = lse;

  const detail::Problem p = detail::validate_call(desc, in, out);
  fallback_for(c.threads, c.isa, c.pack_bytes).run(p, in, out);
  const detail::ReferenceResult ref = detail::reference_attention(p, in);

  // Tolerance scale: max |V| times the growth with the largest |logit| the rows can see
  // (bounded by softcap, shifted by the largest finite additive mask value).
  double max_v = 0.0, max_mask = 0.0;
  for (std::size_t e = 0; e < v.count; ++e)
    max_v = std::max(max_v, std::abs(static_cast<double>(v.get(e))));
  double max_logit = 0.0;
  for (i64 b = 0; b < c.b; ++b)
    for (i64 h = 0; h < c.hq; ++h)
      for (i64 i = 0; i < c.lq; ++i)
        for (i64 j = 0; j < c.lkv; ++j) {
          double dot = 0.0;
          for (i64 d = 0; d < c.dk; ++d)
            dot += static_cast<double>(detail::load_as_float(q.data(), c.dtype,
                                                             detail::offset_of(in.q, b, h, i, d))) *
                   detail::load_as_float(k.data(), c.dtype,
                                         detail::offset_of(in.k, b, h / (c.hq / c.hkv), j, d));
          max_logit = std::max(max_logit, std::abs(dot * p.scale));
        }
  if (c.softcap > 0.0f) max_logit = std::min(max_logit, static_cast<double>(c.softcap));
  if (mask && c.mask->dtype != DType::boolean)
    for (std::size_t e = 0; e < mask->count; ++e)
      if (std::isfinite(mask->get(e)))
        max_mask = std::max(max_mask, std::abs(static_cast<double>(mask->get(e))));
  max_logit += max_mask;
  const double factor = logit_factor(max_logit);

  const auto got_out = [&](std::size_t e) {
    const auto idx = static_cast<i64>(e);
    const i64 d = idx % c.dv, i = idx / c.dv % c.lq, h = idx / (c.dv * c.lq) % c.hq,
              b = idx / (c.dv * c.lq * c.hq);
    return static_cast<double>(o.get(detail::offset_of(out.out, b, h, i, d)));
  };
  const Comparison co = compare(got_out, ref.out, tolerance_for(c.dtype), max_v * factor);
  EXPECT_TRUE(co.ok) << "out: max_abs_err=" << co.max_abs_err << " max_rel_err=" << co.max_rel_err
                     << " worst=" << co.worst << " got=" << got_out(co.worst)
                     << " ref=" << ref.out[co.worst] << " nan=" << co.nan_count;
  // LSE is f32 whatever the storage type, in logit units.
  const Comparison cl = compare([&](std::size_t e) { return static_cast<double>(lse[e]); }, ref.lse,
                                tolerance_for(DType::f32), factor);
  EXPECT_TRUE(cl.ok) << "lse: max_abs_err=" << cl.max_abs_err << " worst=" << cl.worst
                     << " got=" << lse[cl.worst] << " ref=" << ref.lse[cl.worst];
}

const i64 kLengths[] = {1, 2, 17, 63, 64, 65, 127, 129, 131, 1000};

TEST(Fallback, QueryLengths) {
  // Around the 64-key block and the 240-row task (239, 240, 241, 2·240+3).
  std::uint64_t seed = 100;
  for (i64 lq : {1, 2, 17, 63, 64, 65, 127, 129, 239, 240, 241, 483, 1000}) {
    Case c;
    c.lq = lq;
    c.lkv = 129;
    c.seed = ++seed;
    check(c);
  }
}

TEST(Fallback, KeyLengths) {
  std::uint64_t seed = 200;
  for (i64 lkv : kLengths) {
    Case c;
    c.lq = 17;
    c.lkv = lkv;
    c.seed = ++seed;
    check(c);
  }
  Case big;  // one long square problem: many blocks, online rescaling across them
  big.lq = 1000;
  big.lkv = 1000;
  big.dk = big.dv = 16;
  big.seed = 299;
  check(big);
}

TEST(Fallback, LengthGrid) {
  // Every (Lq, Lkv) pair around the block sizes, GQA 4:1, the three causal modes in turn and
  // 1 or 3 threads in turn: the block-range and partial-block logic at each boundary.
  const i64 lengths[] = {1, 2, 17, 63, 64, 65, 127, 129, 131};
  const Causal modes[] = {Causal::none, Causal::top_left, Causal::bottom_right};
  std::uint64_t seed = 250;
  int n = 0;
  for (i64 lq : lengths)
    for (i64 lkv : lengths) {
      Case c;
      c.hq = 4;
      c.lq = lq;
      c.lkv = lkv;
      c.dk = c.dv = 8;
      c.causal = modes[n % 3];
      c.threads = (n / 3) % 2 == 0 ? 1u : 3u;
      c.seed = ++seed;
      ++n;
      check(c);
    }
}

TEST(Fallback, HeadDims) {
  std::uint64_t seed = 300;
  for (i64 d : {1, 8, 32, 64, 80, 96, 128, 256}) {
    Case c;
    c.lq = 33;
    c.lkv = 77;
    c.dk = c.dv = d;
    c.seed = ++seed;
    check(c);
    // Few rows per task take the unpacked dot-product path: 1 row (MHA decode), 2 rows;
    // in both kernel builds.
    c.lq = 1;
    for (CpuIsa isa : {CpuIsa::automatic, CpuIsa::generic}) {
      c.isa = isa;
      c.hq = c.hkv = 1;
      c.seed = ++seed;
      check(c);
      c.hq = 4;
      c.hkv = 2;
      c.seed = ++seed;
      check(c);
    }
  }
  for (auto [dk, dv] :
       {std::pair<i64, i64>{64, 32}, {32, 80}, {8, 1}, {1, 8}, {256, 128}, {96, 20}}) {
    Case c;
    c.lq = 33;
    c.lkv = 77;
    c.dk = dk;
    c.dv = dv;
    c.seed = ++seed;
    check(c);
    c.lq = 1;
    c.hq = 4;
    c.seed = ++seed;
    check(c);
  }
}

TEST(Fallback, GqaCausalWindow) {
  std::uint64_t seed = 400;
  struct Heads {
    i64 hq, hkv;
  };
  struct Lens {
    i64 lq, lkv;
  };
  struct Win {
    i64 left, right;
  };
  for (Heads hd : {Heads{1, 1}, Heads{4, 1}, Heads{8, 2}})
    for (Lens ln : {Lens{17, 129}, Lens{129, 17}, Lens{70, 70}})
      for (Causal causal : {Causal::none, Causal::top_left, Causal::bottom_right})
        for (Win w : {Win{-1, -1}, Win{5, -1}, Win{40, 0}, Win{3, 9}}) {
          if (causal != Causal::none && w.right > 0)
            continue;  // validation: causal needs right -1 or 0
          Case c;
          c.hq = hd.hq;
          c.hkv = hd.hkv;
          c.lq = ln.lq;
          c.lkv = ln.lkv;
          c.dk = c.dv = 16;
          c.causal = causal;
          c.window_left = w.left;
          c.window_right = w.right;
          c.seed = ++seed;
          check(c);
        }
}

TEST(Fallback, MoreQueryHeadsPerKvHeadThanATaskHolds) {
  // 264 query heads on one KV head: a task takes at most 240 heads, so the group is split
  // into chunks (240 + 24), each with its own rows.
  Case c;
  c.hq = 264;
  c.hkv = 1;
  c.lq = 2;
  c.lkv = 70;
  c.dk = c.dv = 8;
  c.causal = Causal::bottom_right;
  c.seed = 450;
  check(c);
}

TEST(Fallback, KvLens) {
  std::uint64_t seed = 500;
  for (Causal causal : {Causal::none, Causal::top_left, Causal::bottom_right}) {
    Case c;
    c.b = 4;
    c.hq = 4;
    c.hkv = 2;
    c.lq = 20;
    c.lkv = 150;
    c.causal = causal;
    c.kv_lens = {0, 1, 65, 150};
    c.seed = ++seed;
    check(c);
  }
}

TEST(Fallback, Masks) {
  std::uint64_t seed = 600;
  const i64 B = 2, H = 4, LQ = 33, LKV = 100;
  const Dims4 shapes[] = {
      {B, H, LQ, LKV}, {1, 1, LQ, LKV}, {B, 1, 1, LKV}, {1, H, LQ, 1}, {1, 1, 1, 1}};
  for (DType mt : {DType::boolean, DType::f32, DType::f16, DType::bf16})
    for (const Dims4& shape : shapes) {
      Case c;
      c.b = B;
      c.hq = H;
      c.hkv = 2;
      c.lq = LQ;
      c.lkv = LKV;
      c.causal = Causal::bottom_right;
      c.mask = MaskSpec{mt, shape, 0.2, shape[2] > 1 ? 5 : -1};
      c.seed = ++seed;
      check(c);
    }
}

TEST(Fallback, FullyMaskedRows) {
  // Every row excluded (boolean false everywhere; additive -inf everywhere), and rows with no
  // visible key from a window that misses the keys: out 0, lse -inf, never NaN.
  for (DType mt : {DType::boolean, DType::f32}) {
    Case c;
    c.lq = 9;
    c.lkv = 70;
    c.mask = MaskSpec{mt, {1, 1, 9, 70}, 1.0, -1};
    c.seed = 701;
    check(c);
  }
  Case w;
  w.lq = 100;
  w.lkv = 30;
  w.causal = Causal::bottom_right;  // rows i < 70 see nothing
  w.seed = 702;
  check(w);
}

TEST(Fallback, SoftcapAndHugeLogits) {
  Case s;
  s.lq = 65;
  s.lkv = 130;
  s.magnitude = 4.0f;
  s.softcap = 5.0f;
  s.seed = 801;
  check(s);
  for (CpuIsa isa : {CpuIsa::automatic, CpuIsa::generic}) {
    Case h;  // logits ~1e4: the online max must keep exp() in range
    h.lq = 40;
    h.lkv = 200;
    h.dk = h.dv = 64;
    h.magnitude = 170.0f;
    h.isa = isa;
    h.seed = 802;
    check(h);
  }
}

TEST(Fallback, ReducedPrecisionAndStrides) {
  std::uint64_t seed = 900;
  for (DType t : {DType::f32, DType::f16, DType::bf16})
    for (bool blhd : {false, true}) {
      Case c;
      c.b = 2;
      c.hq = 8;
      c.hkv = 2;
      c.lq = 65;
      c.lkv = 131;
      c.dk = 64;
      c.dv = 40;
      c.dtype = t;
      c.blhd = blhd;
      c.causal = Causal::top_left;
      c.seed = ++seed;
      check(c);
    }
}

TEST(Fallback, ThreadsAndSplitKv) {
  // 3 threads with few tasks split each task's keys (decode), merged by LSE; also 3 threads
  // on prefill shapes, and the portable kernel build.
  std::uint64_t seed = 1000;
  for (CpuIsa isa : {CpuIsa::automatic, CpuIsa::generic})
    for (unsigned threads : {1u, 3u}) {
      Case d;
      d.hq = 8;
      d.hkv = 2;
      d.lq = 1;
      d.lkv = 1000;
      d.dk = d.dv = 64;
      d.threads = threads;
      d.isa = isa;
      d.seed = ++seed;
      check(d);
      d.kv_lens = {700};
      d.causal = Causal::bottom_right;
      d.window_left = 300;
      d.seed = ++seed;
      check(d);
      Case p;
      p.b = 2;
      p.hq = 4;
      p.hkv = 4;
      p.lq = 127;
      p.lkv = 129;
      p.dk = 80;
      p.dv = 96;
      p.causal = Causal::top_left;
      p.threads = threads;
      p.isa = isa;
      p.seed = ++seed;
      check(p);
    }
}

TEST(Fallback, SharedPacksInWaves) {
  // Prefill tasks of one KV head share its packed blocks, packed once per wave of heads. One
  // head's packs here (Lkv=300, Dk=64, Dv=40): 5 blocks of 64·64 + 64·48 floats, 140 KiB.
  Case c;
  c.b = 2;
  c.hq = 8;
  c.hkv = 2;
  c.lq = 500;  // 9 tasks of 60 rows x 4 heads per KV head
  c.lkv = 300;
  c.dk = 64;
  c.dv = 40;
  c.causal = Causal::top_left;
  c.kv_lens = {130, 300};  // batch 0: blocks 3 and 4 are never seen, so never packed
  c.pack_bytes = 150'000;  // waves of one head
  c.seed = 1100;
  check(c);
  // Waves of 3 heads then 1 (enough tasks a wave for 3 threads), bf16 BLHD views widened
  // while packing, bottom-right causal.
  c.dtype = DType::bf16;
  c.blhd = true;
  c.causal = Causal::bottom_right;
  c.threads = 3;
  c.pack_bytes = 450'000;
  c.seed = 1101;
  check(c);
  // One wave (the default cap) under an f16 additive mask and softcap, which apply to the
  // scores after the shared products.
  Case m;
  m.hq = 4;
  m.lq = 130;
  m.lkv = 100;
  m.dtype = DType::f16;
  m.softcap = 5.0f;
  m.mask = MaskSpec{DType::f16, {1, 4, 130, 100}, 0.2, 7};
  m.seed = 1102;
  check(m);
}

TEST(Fallback, HalfPrecisionDecode) {
  // Few rows per task (GQA 4:1 and 3:1, Lq 1-2: 3, 4, 6 or 8 rows): f16 and bf16 K and V are
  // read in place and widened in registers (V only when Dv is whole vectors: 64 and 24 yes, 20
  // no), head dims with and without a vector tail. Both layouts, both builds.
  std::uint64_t seed = 1100;
  for (CpuIsa isa : {CpuIsa::automatic, CpuIsa::generic})
    for (DType t : {DType::f16, DType::bf16})
      for (const auto& [dk, dv] : {std::pair<i64, i64>{64, 64}, {13, 24}, {40, 20}})
        for (i64 lq : {1, 2})
          for (i64 hq : {6, 8}) {
            Case c;
            c.hq = hq;
            c.hkv = 2;
            c.lq = lq;
            c.lkv = 131;
            c.dk = dk;
            c.dv = dv;
            c.dtype = t;
            c.blhd = lq == 2;
            c.causal = lq == 2 ? Causal::bottom_right : Causal::none;
            c.isa = isa;
            c.seed = ++seed;
            check(c);
          }
}

// The kernels' f16 and bf16 widening against dtype.cpp's scalar conversions, for every bit
// pattern (zeros, subnormals, normals, infinities, NaNs), in each kernel build this CPU runs.
TEST(FallbackKernels, WidenEveryHalfAndBfloat16Pattern) {
  std::vector<const FallbackKernels*> builds{&detail::fallback_kernels_generic()};
  if (const FallbackKernels* avx2 = detail::fallback_kernels_avx2();
      avx2 != nullptr && detail::cpu_runs_avx2_kernels())
    builds.push_back(avx2);
  std::vector<std::uint16_t> bits(1u << 16);
  for (std::size_t e = 0; e < bits.size(); ++e) bits[e] = static_cast<std::uint16_t>(e);
  for (const FallbackKernels* k : builds) {
    SCOPED_TRACE(k->name);
    // An odd count from an odd offset: vector body and scalar tail, unaligned.
    for (const auto& [widen, scalar] :
         {std::pair{k->widen_f16, &detail::half_to_float}, {k->widen_bf16, &detail::bf16_to_float}}) {
      std::vector<float> got(bits.size(), 12345.0f);
      widen(bits.data(), 1, got.data());
      widen(bits.data() + 1, static_cast<std::ptrdiff_t>(bits.size()) - 2, got.data() + 1);
      std::size_t wrong = 0;
      for (std::size_t e = 0; e + 1 < bits.size(); ++e) {
        const float want = scalar(bits[e]);
        const bool same = std::isnan(want) ? std::isnan(got[e])
                                           : std::bit_cast<std::uint32_t>(got[e]) ==
                                                 std::bit_cast<std::uint32_t>(want);
        if (!same && wrong++ < 5) ADD_FAILURE() << "bits 0x" << std::hex << e << ": " << got[e];
      }
      EXPECT_EQ(wrong, 0u);
      EXPECT_EQ(got.back(), 12345.0f);  // nothing written past n
    }
  }
}

}  // namespace
}  // namespace vkattn::test
