// SPDX-License-Identifier: MIT
#pragma once

// Shared by every test: seeded inputs rounded to their storage type, comparison against the
// double-precision reference with a message that prints the case and seed, and a fixture
// that gives Vulkan tests a validated context.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "tolerance.hpp"
#include "vkattn/vkattn.hpp"

namespace vkattn::test {

// Raw storage for a tensor of any dtype, filled with uniform values in [-magnitude, magnitude].
struct HostTensor {
  DType dtype = DType::f32;
  std::vector<std::uint8_t> bytes;
  std::size_t count = 0;

  HostTensor(DType t, std::size_t n) : dtype(t), bytes(n * size_of(t)), count(n) {}
  [[nodiscard]] float get(std::size_t i) const {
    return detail::load_as_float(bytes.data(), dtype, i);
  }
  void set(std::size_t i, float v) { detail::store_from_float(bytes.data(), dtype, i, v); }
  [[nodiscard]] const void* data() const { return bytes.data(); }
  [[nodiscard]] void* data() { return bytes.data(); }
};

inline HostTensor random_tensor(DType t, std::size_t n, std::uint64_t seed,
                                float magnitude = 1.0f) {
  HostTensor out(t, n);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-magnitude, magnitude);
  for (std::size_t i = 0; i < n; ++i) out.set(i, dist(rng));
  return out;
}

struct Comparison {
  bool ok = true;
  double max_abs_err = 0.0;
  double max_rel_err = 0.0;  // max |got-ref| / (atol·scale + rtol·|ref|): <= 1 passes
  std::size_t worst = 0;
  std::size_t nan_count = 0;
};

// Compares `got` (any dtype, `count` contiguous elements) against `ref`. NaN in got where
// ref is finite fails; matching infinities pass.
template <class Got>
Comparison compare(const Got& got, const std::vector<double>& ref, Tolerance tol, double scale) {
  Comparison c;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double g = got(i);
    const double r = ref[i];
    if (std::isinf(r) || std::isinf(g)) {
      if (g != r) {
        c.ok = false;
        c.worst = i;
        c.max_rel_err = INFINITY;
      }
      continue;
    }
    if (std::isnan(g) || std::isnan(r)) {
      if (std::isnan(g) != std::isnan(r)) {
        c.ok = false;
        ++c.nan_count;
        c.worst = i;
      }
      continue;
    }
    const double err = std::abs(g - r);
    const double bound = tol.atol * scale + tol.rtol * std::abs(r);
    const double rel = bound > 0 ? err / bound : (err > 0 ? INFINITY : 0.0);
    if (err > c.max_abs_err) c.max_abs_err = err;
    if (rel > c.max_rel_err) {
      c.max_rel_err = rel;
      c.worst = i;
    }
    if (err > bound) c.ok = false;
  }
  return c;
}

// Collects validation-layer messages for the whole test process.
class ValidationLog {
 public:
  static ValidationLog& get() {
    static ValidationLog log;
    return log;
  }
  void add(std::string_view m) {
    std::lock_guard lock(mutex_);
    messages_.emplace_back(m);
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }
  std::string since(std::size_t first) {
    std::lock_guard lock(mutex_);
    std::string out;
    for (std::size_t i = first; i < messages_.size(); ++i) out += messages_[i] + "\n";
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> messages_;
};

// Options for a Vulkan test context: validation layer on, every message logged.
inline Options vulkan_test_options(Kernel kernel = Kernel::automatic) {
  Options o = Options::from_environment();
  o.backend = Backend::vulkan;
  o.kernel = kernel;
  o.validation = true;
  o.on_validation_message = [](std::string_view m) { ValidationLog::get().add(m); };
  return o;
}

inline bool no_vulkan_allowed() {
  const char* v = std::getenv("VKATTN_TESTS_ALLOW_NO_VULKAN");
  return v != nullptr && std::string(v) == "1";
}

// Base fixture for Vulkan tests. One validated context per process (instance creation with
// the validation layer costs tens of ms). A missing device fails the test unless the person
// running it set VKATTN_TESTS_ALLOW_NO_VULKAN=1; a validation message fails the test.
class VulkanTest : public ::testing::Test {
 protected:
  static Context* shared_context(Kernel kernel = Kernel::automatic) {
    static std::mutex mutex;
    static std::vector<std::pair<Kernel, std::unique_ptr<Context>>> contexts;
    std::lock_guard lock(mutex);
    for (auto& [k, c] : contexts)
      if (k == kernel) return c.get();
    contexts.emplace_back(kernel,
                          std::make_unique<Context>(Context::create(vulkan_test_options(kernel))));
    return contexts.back().second.get();
  }

  void SetUp() override {
    first_message_ = ValidationLog::get().size();
    try {
      ctx_ = shared_context();
    } catch (const Error& e) {
      if (no_vulkan_allowed())
        GTEST_SKIP() << "no Vulkan device (VKATTN_TESTS_ALLOW_NO_VULKAN=1): " << e.what();
      FAIL() << "no usable Vulkan device: " << e.what()
             << " (set VKATTN_TESTS_ALLOW_NO_VULKAN=1 to skip Vulkan tests explicitly)";
    }
  }
  void TearDown() override {
    // A skipped test (no device, explicitly allowed) ran nothing; the loader's own "no
    // driver" messages during the failed instance creation are not validation findings.
    if (IsSkipped()) return;
    EXPECT_EQ(ValidationLog::get().size(), first_message_)
        << "validation messages:\n"
        << ValidationLog::get().since(first_message_);
  }

  Context* ctx_ = nullptr;
  std::size_t first_message_ = 0;
};

}  // namespace vkattn::test
