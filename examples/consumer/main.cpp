// SPDX-License-Identifier: MIT
// One attention call on the backend the environment picks (VKATTN_BACKEND, default: the best
// Vulkan device, else the CPU), checked against the CPU backend. Exits 1 when they disagree.
#include <vkattn/vkattn.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

namespace {

constexpr std::int64_t kB = 1, kHq = 4, kHkv = 2, kLq = 33, kLkv = 47, kD = 32;

std::vector<float> pseudo_random(std::size_t n, std::uint32_t seed) {
  std::vector<float> v(n);
  for (float& x : v) {  // a fixed LCG: no <random> dependency, same values everywhere
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
  }
  return v;
}

std::vector<float> run(vkattn::Context& ctx, const vkattn::AttentionDesc& desc,
                       const std::vector<float>& q, const std::vector<float>& k,
                       const std::vector<float>& v) {
  using TV = vkattn::TensorView;
  const auto f32 = vkattn::DType::f32;
  std::vector<float> out(static_cast<std::size_t>(kB * kHq * kLq * kD));
  vkattn::AttentionInputs in;
  in.q = TV::bhld(q.data(), f32, kB, kHq, kLq, kD);
  in.k = TV::bhld(k.data(), f32, kB, kHkv, kLkv, kD);
  in.v = TV::bhld(v.data(), f32, kB, kHkv, kLkv, kD);
  vkattn::AttentionOutputs outs;
  outs.out = vkattn::MutableTensorView::bhld(out.data(), f32, kB, kHq, kLq, kD);
  ctx.attention(desc, in, outs);
  return out;
}

}  // namespace

int main() try {
  vkattn::AttentionDesc desc;
  desc.batch = kB;
  desc.heads_q = kHq;
  desc.heads_kv = kHkv;
  desc.len_q = kLq;
  desc.len_kv = kLkv;
  desc.head_dim = kD;
  desc.causal = vkattn::Causal::bottom_right;

  const auto q = pseudo_random(static_cast<std::size_t>(kB * kHq * kLq * kD), 1);
  const auto k = pseudo_random(static_cast<std::size_t>(kB * kHkv * kLkv * kD), 2);
  const auto v = pseudo_random(static_cast<std::size_t>(kB * kHkv * kLkv * kD), 3);

  vkattn::Context ctx = vkattn::Context::create(vkattn::Options::from_environment());
  vkattn::Options cpu_options;
  cpu_options.backend = vkattn::Backend::cpu;
  vkattn::Context cpu = vkattn::Context::create(cpu_options);

  const auto got = run(ctx, desc, q, k, v);
  const auto want = run(cpu, desc, q, k, v);
  double max_err = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    max_err = std::max(max_err, std::fabs(static_cast<double>(got[i]) - want[i]));
  }
  // Outputs are convex combinations of V rows in [-1, 1]: 1e-4 is loose for f32 kernels.
  const bool ok = max_err <= 1e-4;
  std::printf("vkattn consumer: %s on %s: max |error| vs cpu = %.3g (%s)\n",
              vkattn::to_string(ctx.device().backend), ctx.device().name.c_str(), max_err,
              ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "vkattn consumer: %s\n", e.what());
  return 1;
}
