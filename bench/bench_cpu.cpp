// SPDX-License-Identifier: MIT
// The CPU fallback alone (no Context, no validation in the timed loop): named shapes x
// threads x kernel build, reported as FLOP/s (4·B·Hq·Lq·Lkv·D; causal counts the visible
// pairs) and bytes/s (Q, K, V read and O written once). Small shapes are checked against
// the reference before timing.
//
//   build/bench/vkattn_bench_cpu --benchmark_filter=prefill --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "cpu/fallback.hpp"
#include "cpu/reference.hpp"
#include "vkattn/vkattn.hpp"

namespace {

using vkattn::detail::CpuFallback;
using vkattn::detail::CpuIsa;

struct Shape {
  const char* name;
  std::int64_t b, hq, hkv, lq, lkv, d;
  vkattn::Causal causal = vkattn::Causal::none;
};

const Shape kShapes[] = {
    {"prefill", 1, 32, 8, 2048, 2048, 128},
    {"prefill_causal", 1, 32, 8, 2048, 2048, 128, vkattn::Causal::top_left},
    {"decode", 1, 32, 8, 1, 8192, 128},
    {"decode_mha", 1, 32, 32, 1, 4096, 128},
    {"odd", 2, 12, 4, 333, 517, 80},
    {"small_check", 1, 8, 2, 129, 300, 64},
};

double visible_pairs(const Shape& s) {
  if (s.causal == vkattn::Causal::none)
    return static_cast<double>(s.lq) * static_cast<double>(s.lkv);
  const std::int64_t offset = s.causal == vkattn::Causal::bottom_right ? s.lkv - s.lq : 0;
  double n = 0;
  for (std::int64_t i = 0; i < s.lq; ++i)
    n += static_cast<double>(std::clamp<std::int64_t>(i + offset + 1, 0, s.lkv));
  return n;
}

void bench_fallback(benchmark::State& state, Shape s, unsigned threads, CpuIsa isa) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const auto n = [](std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t d) {
    return static_cast<std::size_t>(a * b * c * d);
  };
  std::vector<float> q(n(s.b, s.hq, s.lq, s.d)), k(n(s.b, s.hkv, s.lkv, s.d)), v(k.size()),
      o(q.size());
  for (auto* t : {&q, &k, &v})
    for (float& x : *t) x = dist(rng);

  vkattn::AttentionDesc desc;
  desc.batch = s.b;
  desc.heads_q = s.hq;
  desc.heads_kv = s.hkv;
  desc.len_q = s.lq;
  desc.len_kv = s.lkv;
  desc.head_dim = s.d;
  desc.causal = s.causal;
  vkattn::AttentionInputs in;
  in.q = vkattn::TensorView::bhld(q.data(), vkattn::DType::f32, s.b, s.hq, s.lq, s.d);
  in.k = vkattn::TensorView::bhld(k.data(), vkattn::DType::f32, s.b, s.hkv, s.lkv, s.d);
  in.v = vkattn::TensorView::bhld(v.data(), vkattn::DType::f32, s.b, s.hkv, s.lkv, s.d);
  vkattn::AttentionOutputs out;
  out.out = vkattn::MutableTensorView::bhld(o.data(), vkattn::DType::f32, s.b, s.hq, s.lq, s.d);
  const vkattn::detail::Problem p = vkattn::detail::validate_call(desc, in, out);

  CpuFallback fallback(threads, isa);
  fallback.run(p, in, out);  // warm: pool started, scratch allocated
  if (q.size() * static_cast<std::size_t>(s.lkv) <= (std::size_t{1} << 24)) {
    const auto ref = vkattn::detail::reference_attention(p, in);
    double err = 0;
    for (std::size_t e = 0; e < o.size(); ++e) err = std::max(err, std::abs(o[e] - ref.out[e]));
    if (!(err < 1e-4)) {
      state.SkipWithError(
          ("mismatch against the reference: max |err| = " + std::to_string(err)).c_str());
      return;
    }
  }
  for (auto _ : state) {
    fallback.run(p, in, out);
    benchmark::DoNotOptimize(o.data());
    benchmark::ClobberMemory();
  }
  const double flop =
      4.0 * static_cast<double>(s.b * s.hq) * visible_pairs(s) * static_cast<double>(s.d);
  const double bytes = 4.0 * static_cast<double>(q.size() + k.size() + v.size() + o.size());
  state.counters["FLOP/s"] =
      benchmark::Counter(flop, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes/s"] =
      benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(fallback.isa_name()) +
                 " threads=" + std::to_string(fallback.threads()));
}

const bool kRegistered = [] {
  for (const Shape& s : kShapes)
    for (unsigned threads : {1u, 2u})
      for (CpuIsa isa : {CpuIsa::automatic, CpuIsa::generic}) {
        const std::string name = std::string("fallback/") + s.name +
                                 "/threads:" + std::to_string(threads) +
                                 (isa == CpuIsa::generic ? "/generic" : "/auto");
        benchmark::RegisterBenchmark(name.c_str(), bench_fallback, s, threads, isa)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
