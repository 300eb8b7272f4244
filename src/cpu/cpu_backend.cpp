// SPDX-License-Identifier: MIT
// The CPU backend: the blocked, multithreaded fallback (src/cpu/fallback.cpp) for every call,
// except when the caller asks for the probabilities, which only the reference materialises.
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "core/backend.hpp"
#include "cpu/fallback.hpp"
#include "cpu/kv_storage.hpp"
#include "cpu/reference.hpp"

namespace vkattn::detail {
namespace {

// "model name" from /proc/cpuinfo (x86 and some ARM kernels), else "cpu".
std::string cpu_model_name() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto first = line.find_first_not_of(" \t", colon + 1);
    if (first == std::string::npos) continue;
    return line.substr(first);
  }
  return "cpu";
}

class CpuBackend final : public BackendImpl {
 public:
  CpuBackend() : info_(describe()), fallback_(info_.threads) {}

  [[nodiscard]] const DeviceInfo& info() const noexcept override { return info_; }

  // Kernel families are a Vulkan notion: a forced kernel is ignored rather than refused (a
  // test or benchmark that pins "flash" still runs on a machine without a GPU, and the plan's
  // reason says what actually ran). The fallback is an online-softmax (flash-style) loop; the
  // reference materialises score rows and returns P, which is what three_pass promises.
  [[nodiscard]] Plan plan(const Problem& problem, Kernel /*forced*/) const override {
    Plan plan;
    plan.rows_per_chunk = problem.len_q;
    if (problem.want_probs) {
      plan.kernel = Kernel::three_pass;
      plan.reason = "cpu: reference (double accumulation), probabilities requested";
    } else {
      plan.kernel = Kernel::flash;
      plan.reason = std::string("cpu: blocked online softmax (") + fallback_.isa_name() + ", " +
                    std::to_string(fallback_.threads()) + " threads)";
    }
    return plan;
  }

  void run(const Problem& problem, const Plan& plan, const AttentionInputs& given,
           const AttentionOutputs& out) override {
    // A KV cache is host memory here: both paths read it through strided views.
    const AttentionInputs in = resolve_kv_cache(problem, given);
    if (plan.kernel == Kernel::three_pass) {
      write_outputs(problem, reference_attention(problem, in), out);
    } else {
      fallback_.run(problem, in, out);
    }
  }

  [[nodiscard]] std::unique_ptr<KvStorage> create_kv_storage(const KvCacheDesc& desc) override {
    return std::make_unique<CpuKvStorage>(desc);
  }

 private:
  static DeviceInfo describe() {
    DeviceInfo info;
    info.backend = Backend::cpu;
    info.name = cpu_model_name();
    info.type = "cpu";
    const unsigned threads = std::thread::hardware_concurrency();  // 0 when unknown
    info.threads = threads > 0 ? threads : 1;
    return info;
  }

  DeviceInfo info_;
  mutable CpuFallback fallback_;  // mutable: isa_name()/threads() are const, run() is not
};

}  // namespace

std::unique_ptr<BackendImpl> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace vkattn::detail
