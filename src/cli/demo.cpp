// SPDX-License-Identifier: MIT
// `vkattn demo`: one attention call on the chosen device with seeded random inputs, checked
// against the double-precision CPU reference (the oracle every kernel is tested against) and
// timed — the README's first command, so it must explain itself.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "core/dtype.hpp"
#include "core/parse.hpp"
#include "core/problem.hpp"
#include "cpu/reference.hpp"
#include "vkattn/vkattn.hpp"

namespace vkattn::cli {

namespace {

constexpr std::uint64_t kSeed = 20240611;

DType parse_dtype(const std::string& s) {
  if (s == "f32") return DType::f32;
  if (s == "f16") return DType::f16;
  if (s == "bf16") return DType::bf16;
  throw BadInput("--dtype '" + s + "': expected f32, f16 or bf16");
}

// Absolute error allowed against the reference. Both see identical (already rounded) inputs,
// so this bounds kernel error plus the rounding of the output to its storage type.
double tolerance(DType t) {
  switch (t) {
    case DType::f16: return 4e-3;   // a few f16 ulps at |o| ~ 1
    case DType::bf16: return 3e-2;  // a few bf16 ulps at |o| ~ 1
    default: return 1e-4;
  }
}

std::vector<std::uint8_t> random_tensor(DType t, std::size_t n, std::mt19937_64& rng) {
  std::vector<std::uint8_t> bytes(n * size_of(t));
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (std::size_t i = 0; i < n; ++i) detail::store_from_float(bytes.data(), t, i, dist(rng));
  return bytes;
}

std::size_t checked_count(const DemoArgs& a) {
  std::size_t n = 1;
  for (auto [name, v] :
       {std::pair{"--batch", a.batch}, {"--heads", a.heads}, {"--len", a.len}, {"--dim", a.dim}}) {
    if (v < 1) throw BadInput(std::string(name) + " " + std::to_string(v) + ": must be >= 1");
    if (__builtin_mul_overflow(n, static_cast<std::size_t>(v), &n))
      throw BadInput("the demo shape is too large");
  }
  return n;
}

}  // namespace

int demo_command(const DemoArgs& args) {
  AttentionDesc desc;
  desc.batch = args.batch;
  desc.heads_q = args.heads;
  desc.len_q = args.len;
  desc.len_kv = args.len;
  desc.head_dim = args.dim;
  desc.dtype = parse_dtype(args.dtype);
  const auto causal = detail::parse_causal(args.causal);
  if (!causal)
    throw BadInput("--causal '" + args.causal + "': expected none, top-left or bottom-right");
  desc.causal = *causal;
  const std::size_t n = checked_count(args);

  Context ctx = Context::create(make_options(args.device));

  const DeviceInfo& dev = ctx.device();
  if (dev.backend == Backend::vulkan)
    std::printf("device:  [%u] %s (%s, driver %s, Vulkan %s)\n", dev.index, dev.name.c_str(),
                dev.type.c_str(), dev.driver.c_str(), dev.api_version.c_str());
  else
    std::printf("device:  the CPU backend (%s, %u threads)%s\n", dev.name.c_str(), dev.threads,
                Context::list_devices().empty() ? ", no Vulkan device found" : "");
  std::printf("problem: B=%lld H=%lld Lq=Lkv=%lld D=%lld %s, causal %s\n",
              static_cast<long long>(desc.batch), static_cast<long long>(desc.heads_q),
              static_cast<long long>(desc.len_q), static_cast<long long>(desc.head_dim),
              to_string(desc.dtype), to_string(desc.causal));
  std::printf("plan:    %s\n", ctx.plan(desc).reason.c_str());
  std::fflush(stdout);

  std::mt19937_64 rng(kSeed);
  const auto q = random_tensor(desc.dtype, n, rng);
  const auto k = random_tensor(desc.dtype, n, rng);
  const auto v = random_tensor(desc.dtype, n, rng);
  std::vector<std::uint8_t> out(n * size_of(desc.dtype));
  const auto view = [&](const std::vector<std::uint8_t>& b) {
    return TensorView::bhld(b.data(), desc.dtype, desc.batch, desc.heads_q, desc.len_q,
                            desc.head_dim);
  };
  const AttentionInputs in{view(q), view(k), view(v), std::nullopt, {}};
  const auto out_view = [&](std::vector<std::uint8_t>& b) {
    return AttentionOutputs{MutableTensorView::bhld(b.data(), desc.dtype, desc.batch, desc.heads_q,
                                                    desc.len_q, desc.head_dim),
                            {},
                            {}};
  };

  // The first call compiles pipelines and allocates; the second is the one worth timing.
  ctx.attention(desc, in, out_view(out));
  const auto start = std::chrono::steady_clock::now();
  ctx.attention(desc, in, out_view(out));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const detail::ReferenceResult ref =
      detail::reference_attention(detail::validate_call(desc, in, out_view(out)), in);

  double max_err = 0.0;
  bool finite = true;
  for (std::size_t i = 0; i < n; ++i) {
    const double a = detail::load_as_float(out.data(), desc.dtype, i);
    if (!std::isfinite(a)) finite = false;
    max_err = std::max(max_err, std::abs(a - ref.out[i]));
  }
  const double tol = tolerance(desc.dtype);
  const bool ok = finite && max_err <= tol;
  std::printf(
      "check:   max abs error %.3g vs the double-precision CPU reference (tolerance %.0e): %s\n",
      max_err, tol, ok ? "ok" : (finite ? "FAILED" : "FAILED (non-finite output)"));
  const double flops = 4.0 * static_cast<double>(desc.batch) * static_cast<double>(desc.heads_q) *
                       static_cast<double>(desc.len_q) * static_cast<double>(desc.len_kv) *
                       static_cast<double>(desc.head_dim);
  std::printf("time:    %.3f ms per call (second call, after a warm-up)\n", seconds * 1e3);
  std::printf("rate:    %.2f GFLOP/s (4*B*H*Lq*Lkv*D%s)\n", flops / seconds * 1e-9,
              desc.causal == Causal::none ? "" : ", counted dense");
  return ok ? kExitOk : kExitFailure;
}

}  // namespace vkattn::cli
