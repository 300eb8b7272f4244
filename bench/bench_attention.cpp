// SPDX-License-Identifier: MIT
// Attention benchmarks: named shape sets × backends × forced kernels, reported as FLOP/s
// (4·B·Hq·Lq·Lkv·D, causal counts the visible fraction) and bytes/s (Q, K, V read, O written).
// Time, FLOP/s and bytes/s are host end-to-end (pack, upload, dispatch, wait, download,
// unpack). Where the device has timestamp queries, `gpu_ms` and `gpu_FLOP/s` add the time
// the kernels took on the device (Context::last_call_stats), so the two can be compared.
// The decode_cached set times the same decode calls reading K/V from a pre-filled KvCache
// instead of host pointers (which are packed and uploaded every call): compare it with decode.
//
//   build/vkattn_bench --benchmark_filter=prefill --benchmark_format=json
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "vkattn/vkattn.hpp"

namespace {

using vkattn::AttentionDesc;
using vkattn::detail::float_to_half;
using vkattn::detail::half_to_float;

struct Shape {
  const char* set;
  std::int64_t b, hq, hkv, lq, lkv, d;
  vkattn::Causal causal = vkattn::Causal::none;
  bool cached = false;                       // K/V from a KvCache filled once before timing
  vkattn::DType dtype = vkattn::DType::f32;  // storage of Q, K, V and O
  vkattn::DType cache_dtype = vkattn::DType::f32;  // KvCacheDesc::dtype when cached
};

// K/V values as the cache holds them: rounded to f16 for an f16 cache, so that the host
// views the output is verified against hold exactly the cache's numbers.
std::vector<float> as_cached(std::vector<float> values, const Shape& s) {
  if (s.cached && s.cache_dtype == vkattn::DType::f16)
    for (float& x : values) x = half_to_float(float_to_half(x));
  return values;
}

// Inputs as stored: f32 values, or the same values rounded to f16 (binary16 bits, through the
// library's own conversion).
struct Storage {
  std::vector<float> f32;
  std::vector<std::uint16_t> f16;
  Storage(std::vector<float> values, vkattn::DType dtype) : f32(std::move(values)) {
    if (dtype != vkattn::DType::f16) return;
    f16.reserve(f32.size());
    for (float x : f32) f16.push_back(float_to_half(x));
  }
  [[nodiscard]] const void* data() const {
    return f16.empty() ? static_cast<const void*>(f32.data()) : f16.data();
  }
};

std::vector<float> random_values(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Fraction of (i, j) pairs a causal mask leaves visible (bottom-right or top-left alike for
// the FLOP count of square problems; exact for both alignments).
double visible_fraction(const Shape& s) {
  if (s.causal == vkattn::Causal::none) return 1.0;
  const std::int64_t offset = s.causal == vkattn::Causal::bottom_right ? s.lkv - s.lq : 0;
  double visible = 0;
  for (std::int64_t i = 0; i < s.lq; ++i)
    visible += static_cast<double>(std::clamp<std::int64_t>(i + offset + 1, 0, s.lkv));
  return visible / (static_cast<double>(s.lq) * static_cast<double>(s.lkv));
}

// An output tensor stored as `dtype` (f32 or f16), readable as floats.
struct Output {
  vkattn::DType dtype;
  std::vector<float> f32;
  std::vector<std::uint16_t> f16;  // binary16 bits
  Output(std::size_t n, vkattn::DType type) : dtype(type) {
    if (type == vkattn::DType::f16) {
      f16.resize(n);
    } else {
      f32.resize(n);
    }
  }
  [[nodiscard]] void* data() {
    return f16.empty() ? static_cast<void*>(f32.data()) : static_cast<void*>(f16.data());
  }
  [[nodiscard]] std::vector<float> values() const {
    if (f16.empty()) return f32;
    std::vector<float> widened;
    widened.reserve(f16.size());
    for (std::uint16_t h : f16) widened.push_back(half_to_float(h));
    return widened;
  }
  [[nodiscard]] vkattn::MutableTensorView view(const vkattn::Dims4& shape) {
    return vkattn::MutableTensorView::bhld(data(), dtype, shape[0], shape[1], shape[2], shape[3]);
  }
};

// Empty when `got` matches the CPU backend on the same call, else what differs.
std::string verify(const AttentionDesc& desc, const vkattn::AttentionInputs& in,
                   const Output& got) {
  vkattn::Options cpu;
  cpu.backend = vkattn::Backend::cpu;
  vkattn::Context reference = vkattn::Context::create(cpu);
  Output want(got.dtype == vkattn::DType::f16 ? got.f16.size() : got.f32.size(), got.dtype);
  reference.attention(desc, in, {want.view(in.q.shape), {}, {}});
  const std::vector<float> a = got.values(), b = want.values();
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, static_cast<double>(std::abs(a[i] - b[i])));
  // Both sides accumulate in f32 over at most Lkv terms of |v| <= 1; an f16 output may also
  // round the two to neighbouring f16 values (one step is <= 4.9e-4 below 1).
  const double bound = got.dtype == vkattn::DType::f16 ? 1e-3 : 1e-4;
  return worst <= bound ? std::string()
                        : "output differs from the CPU backend by " + std::to_string(worst);
}

void run_attention(benchmark::State& state, Shape s, vkattn::Backend backend,
                   vkattn::Kernel kernel) {
  vkattn::Options opts;
  opts.backend = backend;
  opts.kernel = kernel;
  std::optional<vkattn::Context> context;
  try {
    context.emplace(vkattn::Context::create(opts));
  } catch (const vkattn::Error& e) {
    state.SkipWithError(e.what());
    return;
  }
  vkattn::Context& ctx = *context;
  AttentionDesc desc;
  desc.batch = s.b;
  desc.heads_q = s.hq;
  desc.heads_kv = s.hkv;
  desc.len_q = s.lq;
  desc.len_kv = s.lkv;
  desc.head_dim = s.d;
  desc.causal = s.causal;
  desc.dtype = s.dtype;
  const Storage q(random_values(static_cast<std::size_t>(s.b * s.hq * s.lq * s.d), 1), s.dtype);
  const std::size_t kv_count = static_cast<std::size_t>(s.b * s.hkv * s.lkv * s.d);
  const Storage k(as_cached(random_values(kv_count, 2), s), s.dtype);
  const Storage v(as_cached(random_values(kv_count, 3), s), s.dtype);
  Output o(q.f32.size(), s.dtype);
  using TV = vkattn::TensorView;
  const vkattn::AttentionInputs host{TV::bhld(q.data(), s.dtype, s.b, s.hq, s.lq, s.d),
                                     TV::bhld(k.data(), s.dtype, s.b, s.hkv, s.lkv, s.d),
                                     TV::bhld(v.data(), s.dtype, s.b, s.hkv, s.lkv, s.d),
                                     {},
                                     {},
                                     nullptr};
  vkattn::AttentionInputs in = host;
  std::optional<vkattn::KvCache> cache;
  vkattn::AttentionOutputs out{o.view({s.b, s.hq, s.lq, s.d}), {}, {}};
  try {
    if (s.cached) {
      // Filled once, outside the timing: the loop measures attention over a resident cache.
      cache.emplace(ctx.create_kv_cache({s.b, s.hkv, s.lkv, s.d, std::nullopt, s.cache_dtype}));
      cache->append(host.k, host.v);
      in.k = {};
      in.v = {};
      in.kv_cache = &*cache;
    }
    ctx.attention(desc, in, out);  // warm-up: compiles pipelines, sizes buffers
  } catch (const vkattn::Error& e) {
    state.SkipWithError(e.what());
    return;
  }
  // A wrong kernel must not report a rate: check the warm-up's output once against the CPU
  // backend (the fallback, itself tested against the double reference) before timing.
  if (const std::string why = verify(desc, host, o); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  double gpu_seconds = 0.0;
  bool gpu_timed = true;
  for (auto _ : state) {
    ctx.attention(desc, in, out);
    const std::optional<double> gpu = ctx.last_call_stats().gpu_seconds;
    gpu_timed = gpu_timed && gpu.has_value();
    gpu_seconds += gpu.value_or(0.0);
  }

  const double flops = 4.0 * static_cast<double>(s.b * s.hq * s.lq) * static_cast<double>(s.lkv) *
                       static_cast<double>(s.d) * visible_fraction(s);
  const double element = static_cast<double>(vkattn::size_of(s.dtype));
  const double kv_element = static_cast<double>(vkattn::size_of(s.cached ? s.cache_dtype : s.dtype));
  const double bytes = element * static_cast<double>(2 * q.f32.size()) +
                       kv_element * static_cast<double>(k.f32.size() + v.f32.size());
  state.counters["FLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes/s"] =
      benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  // Plain values, not Google Benchmark rates: those divide by the host time.
  if (gpu_timed && gpu_seconds > 0.0) {
    const double iterations = static_cast<double>(state.iterations());
    state.counters["gpu_ms"] = 1e3 * gpu_seconds / iterations;
    state.counters["gpu_FLOP/s"] = flops * iterations / gpu_seconds;
  }
  // The plan the timed calls ran, made with their inputs (a 16-bit cache's variant).
  state.SetLabel(ctx.device().name + " | " + ctx.last_call_stats().plan.reason);
}

// The shape sets: B=1, Hq=32, Hkv=8 (GQA 4:1); prefill L in {512, 2048, 4096} with
// D in {64, 128}, causal and f16 variants; decode Lq=1 over Lkv in {2048, 8192, 32768},
// from host pointers and from a KV cache (f32, and f16 at 8192); and an odd shape.
constexpr auto kCausal = vkattn::Causal::bottom_right;
constexpr auto kF16 = vkattn::DType::f16;
const Shape kShapes[] = {
    {"prefill", 1, 32, 8, 512, 512, 64},
    {"prefill", 1, 32, 8, 512, 512, 128},
    {"prefill", 1, 32, 8, 2048, 2048, 64},
    {"prefill", 1, 32, 8, 2048, 2048, 128},
    {"prefill", 1, 32, 8, 4096, 4096, 64},
    {"prefill", 1, 32, 8, 4096, 4096, 128},
    {"prefill_causal", 1, 32, 8, 512, 512, 128, kCausal},
    {"prefill_causal", 1, 32, 8, 2048, 2048, 128, kCausal},
    {"prefill_causal", 1, 32, 8, 4096, 4096, 128, kCausal},
    {"prefill_f16", 1, 32, 8, 2048, 2048, 128, vkattn::Causal::none, false, kF16},
    {"decode", 1, 32, 8, 1, 2048, 128, kCausal},
    {"decode", 1, 32, 8, 1, 8192, 128, kCausal},
    {"decode", 1, 32, 8, 1, 32768, 128, kCausal},
    {"decode_f16", 1, 32, 8, 1, 8192, 128, kCausal, false, kF16},
    {"decode_cached", 1, 32, 8, 1, 2048, 128, kCausal, true},
    {"decode_cached", 1, 32, 8, 1, 8192, 128, kCausal, true},
    {"decode_cached", 1, 32, 8, 1, 32768, 128, kCausal, true},
    {"decode_cached_f16", 1, 32, 8, 1, 8192, 128, kCausal, true, vkattn::DType::f32, kF16},
    {"odd", 2, 3, 3, 129, 1000, 80},
};

struct Variant {
  const char* name;
  vkattn::Backend backend;
  vkattn::Kernel kernel;
};
const Variant kVariants[] = {
    {"vulkan_three_pass", vkattn::Backend::vulkan, vkattn::Kernel::three_pass},
    {"vulkan_flash", vkattn::Backend::vulkan, vkattn::Kernel::flash},
    {"vulkan_split_kv", vkattn::Backend::vulkan, vkattn::Kernel::split_kv},
    {"vulkan_auto", vkattn::Backend::vulkan, vkattn::Kernel::automatic},
    {"cpu", vkattn::Backend::cpu, vkattn::Kernel::automatic},
};

[[maybe_unused]] const bool registered = [] {
  for (const Variant& var : kVariants) {
    for (const Shape& s : kShapes) {
      // The three-pass kernel cannot read a KV cache (unpadded rows); it would only refuse.
      if (s.cached && var.kernel == vkattn::Kernel::three_pass) continue;
      // Three-pass materialises Lq·Lkv scores per head and runs at ~0.2 GFLOP/s on lavapipe
      // (decode: ~0.01): a 2048² prefill, or a decode over 8192 keys, takes a minute a call. Forced
      // split-kv on prefill is the flash kernel with key slices; both stay on the small shapes.
      const bool small = s.lq * s.lkv <= 512 * 512;
      if (var.kernel == vkattn::Kernel::three_pass && !(small && s.lkv <= 2048)) continue;
      if (var.kernel == vkattn::Kernel::split_kv && !(small || s.lq == 1)) continue;
      std::string name = std::string(s.set) + "/" + var.name + "/B" + std::to_string(s.b) + "_Hq" +
                         std::to_string(s.hq) + "_Hkv" + std::to_string(s.hkv) + "_Lq" +
                         std::to_string(s.lq) + "_Lkv" + std::to_string(s.lkv) + "_D" +
                         std::to_string(s.d);
      if (s.dtype != vkattn::DType::f32) name.append("_").append(to_string(s.dtype));
      benchmark::RegisterBenchmark(name.c_str(), run_attention, s, var.backend, var.kernel)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(0.5);
    }
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
