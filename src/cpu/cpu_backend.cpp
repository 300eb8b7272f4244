// SPDX-License-Identifier: MIT
// The CPU backend. For now it runs the reference itself (double accumulation, one thread):
// correct on every problem, slow on large ones. The blocked multithreaded fallback replaces
// run() later without changing what callers see.
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "core/backend.hpp"
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
  CpuBackend() {
    info_.backend = Backend::cpu;
    info_.name = cpu_model_name();
    info_.type = "cpu";
    const unsigned threads = std::thread::hardware_concurrency();  // 0 when unknown
    info_.threads = threads > 0 ? threads : 1;
  }

  [[nodiscard]] const DeviceInfo& info() const noexcept override { return info_; }

  // Kernel families are a Vulkan notion: the CPU has a single path, so a forced kernel is
  // ignored rather than refused (a test or benchmark that pins "flash" still runs on a
  // machine without a GPU, and the plan's reason says what actually ran). The reference
  // materialises a row of scores and can return P, which is what three_pass promises.
  [[nodiscard]] Plan plan(const Problem& problem, Kernel /*forced*/) const override {
    Plan plan;
    plan.kernel = Kernel::three_pass;
    plan.reason = "cpu: reference (double accumulation)";
    plan.rows_per_chunk = problem.len_q;
    plan.workspace_bytes = 0;
    return plan;
  }

  void run(const Problem& problem, const Plan& /*plan*/, const AttentionInputs& in,
           const AttentionOutputs& out) override {
    write_outputs(problem, reference_attention(problem, in), out);
  }

 private:
  DeviceInfo info_;
};

}  // namespace

std::unique_ptr<BackendImpl> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace vkattn::detail
