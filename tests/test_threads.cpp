// SPDX-License-Identifier: MIT
// Concurrency and lifetime: one Context shared by many threads (each call checked against the
// reference), and contexts created and destroyed in a loop with the validation layer on. Run
// under the asan preset these also prove the absence of races on freed memory and of leaks.
#include <string>
#include <thread>
#include <vector>

#include "robustness.hpp"

namespace vkattn::test {
namespace {

constexpr int kThreads = 4;
constexpr int kCallsPerThread = 5;

// Thread t, call c: a shape of its own per thread (so threads do not happen to share
// buffer sizes, which would hide a cache keyed on size), dtype and causality alternating.
AttentionDesc shape_for(int t, int c) {
  AttentionDesc d;
  d.batch = 1 + t % 2;
  d.heads_q = 2 + 2 * (t % 2);
  d.heads_kv = t % 2 == 0 ? d.heads_q : 2;
  d.len_q = 3 + 5 * t + c;
  d.len_kv = 7 + 11 * t + 2 * c;
  d.head_dim = 16 + 8 * t;
  d.dtype = (t + c) % 2 == 0 ? DType::f32 : DType::f16;
  d.causal = c % 3 == 1 ? Causal::bottom_right : Causal::none;
  return d;
}

// Every thread makes kCallsPerThread checked calls on `ctx`; returns the failures.
std::vector<std::string> hammer(Context& ctx) {
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ctx, &failures, t] {
      try {
        for (int c = 0; c < kCallsPerThread && failures[static_cast<std::size_t>(t)].empty(); ++c) {
          SmallCall call(shape_for(t, c), static_cast<std::uint64_t>(1000 * t + c));
          failures[static_cast<std::size_t>(t)] = call.run_and_check(ctx);
        }
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(t)] = std::string("threw: ") + e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  return failures;
}

void expect_no_failures(const std::vector<std::string>& failures) {
  for (std::size_t t = 0; t < failures.size(); ++t)
    EXPECT_TRUE(failures[t].empty()) << "thread " << t << ": " << failures[t];
}

TEST(CpuThreads, SharedContextGivesEachThreadItsOwnCorrectResult) {
  Context ctx = Context::create(cpu_options());
  expect_no_failures(hammer(ctx));
}

class VulkanThreads : public VulkanTest {};

TEST_F(VulkanThreads, SharedContextGivesEachThreadItsOwnCorrectResult) {
  expect_no_failures(hammer(*ctx_));
}

class VulkanLifetime : public VulkanTest {};

// Each iteration opens a device with the validation layer, runs one checked call, and tears
// everything down; a leaked or double-destroyed handle shows as a validation message (fails
// TearDown), a leak of host memory as an LSan report under the asan preset.
TEST_F(VulkanLifetime, CreateRunDestroyLoopIsClean) {
  constexpr int kIterations = 6;
  for (int i = 0; i < kIterations; ++i) {
    Context ctx = Context::create(vulkan_test_options());
    AttentionDesc d = shape_for(i % kThreads, i);
    SmallCall call(d, static_cast<std::uint64_t>(77 + i));
    EXPECT_EQ(call.run_and_check(ctx), "") << "iteration " << i;
    // Moving a live context and destroying the moved-from shell must be harmless too.
    Context moved = std::move(ctx);
    EXPECT_EQ(moved.device().backend, Backend::vulkan);
  }
}

TEST(CpuLifetime, CreateRunDestroyLoopIsClean) {
  for (int i = 0; i < 20; ++i) {
    Context ctx = Context::create(cpu_options());
    SmallCall call(shape_for(i % kThreads, i), static_cast<std::uint64_t>(500 + i));
    EXPECT_EQ(call.run_and_check(ctx), "") << "iteration " << i;
  }
}

}  // namespace
}  // namespace vkattn::test
