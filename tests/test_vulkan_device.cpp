// SPDX-License-Identifier: MIT
// Device enumeration, DeviceInfo limits and device selection (src/vulkan/device.cpp).
#include <algorithm>
#include <cctype>
#include <string>

#include "testutil.hpp"

namespace vkattn::test {
namespace {

class VulkanDevice : public VulkanTest {};

TEST_F(VulkanDevice, ListsDevicesWithSaneLimits) {
  const auto devices = Context::list_devices();
  ASSERT_FALSE(devices.empty());
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const DeviceInfo& d = devices[i];
    SCOPED_TRACE(d.name);
    EXPECT_EQ(d.backend, Backend::vulkan);
    EXPECT_EQ(d.index, i);
    EXPECT_FALSE(d.name.empty());
    EXPECT_TRUE(d.type == "discrete" || d.type == "integrated" || d.type == "virtual" ||
                d.type == "cpu" || d.type == "other");
    EXPECT_FALSE(d.driver.empty());
    EXPECT_FALSE(d.api_version.empty());
    EXPECT_GT(d.subgroup_size, 0u);
    EXPECT_EQ(d.subgroup_size & (d.subgroup_size - 1), 0u) << "subgroup size is a power of two";
    // Vulkan's guaranteed minimums.
    EXPECT_GE(d.max_shared_memory, 16384u);
    EXPECT_GE(d.max_workgroup_invocations, 128u);
    EXPECT_GE(d.max_storage_buffer_range, 1u << 27);
    EXPECT_GE(d.max_push_constants, 128u);
    EXPECT_GE(d.max_allocation_size, std::uint64_t{1} << 30);  // maintenance3's minimum
    if (d.max_buffer_size != 0) {
      EXPECT_GE(d.max_buffer_size, std::uint64_t{1} << 30);  // maintenance4's minimum
    }
    EXPECT_GT(d.host_visible_heap, 0u) << "every device has host-visible memory";
    if (d.timestamps) {
      EXPECT_GT(d.timestamp_period_ns, 0.0f);
    }
  }
}

TEST_F(VulkanDevice, ContextReportsItsDevice) {
  const DeviceInfo& d = ctx_->device();
  EXPECT_EQ(d.backend, Backend::vulkan);
  const auto devices = Context::list_devices();
  ASSERT_LT(d.index, devices.size());
  EXPECT_EQ(devices[d.index].name, d.name);
  EXPECT_EQ(devices[d.index].max_storage_buffer_range, d.max_storage_buffer_range);
}

TEST_F(VulkanDevice, SelectsByIndexAndByNameSubstring) {
  const auto devices = Context::list_devices();
  ASSERT_FALSE(devices.empty());
  const std::size_t last = devices.size() - 1;
  Options by_index = vulkan_test_options();
  by_index.device = std::to_string(last);
  EXPECT_EQ(Context::create(by_index).device().index, last);

  // A case-flipped middle part of the name selects the first device whose name contains it.
  std::string name = devices[last].name;
  std::string part = name.substr(0, std::min<std::size_t>(name.size(), 6));
  for (char& c : part)
    c = static_cast<char>(std::isupper(static_cast<unsigned char>(c)) ? std::tolower(c)
                                                                      : std::toupper(c));
  Options by_name = vulkan_test_options();
  by_name.device = part;
  const Context ctx = Context::create(by_name);
  std::string got = ctx.device().name;
  std::string needle = part;
  for (auto* s : {&got, &needle})
    std::transform(s->begin(), s->end(), s->begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  EXPECT_NE(got.find(needle), std::string::npos)
      << "selected '" << ctx.device().name << "' for '" << part << "'";
}

TEST_F(VulkanDevice, UnknownNameIsInvalidArgument) {
  Options o = vulkan_test_options();
  o.device = "no-such-gpu-xyzzy";
  try {
    (void)Context::create(o);
    FAIL() << "expected Error{invalid_argument}";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
    EXPECT_NE(std::string(e.what()).find("no-such-gpu-xyzzy"), std::string::npos) << e.what();
  }
  // Also through automatic: a bad name is the caller's mistake, not a reason to use the CPU.
  o.backend = Backend::automatic;
  EXPECT_THROW((void)Context::create(o), Error);
}

TEST_F(VulkanDevice, IndexOutOfRangeIsInvalidArgument) {
  Options o = vulkan_test_options();
  o.device = std::to_string(Context::list_devices().size() + 7);
  try {
    (void)Context::create(o);
    FAIL() << "expected Error{invalid_argument}";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
  }
}

TEST_F(VulkanDevice, AutomaticPicksVulkan) {
  Options o = vulkan_test_options();
  o.backend = Backend::automatic;
  const Context ctx = Context::create(o);
  EXPECT_EQ(ctx.device().backend, Backend::vulkan);
}

TEST_F(VulkanDevice, ForcedKernelIsHonoured) {
  AttentionDesc desc;
  desc.len_q = 4;
  desc.len_kv = 4;
  desc.head_dim = 8;
  for (Kernel k : {Kernel::three_pass, Kernel::flash, Kernel::split_kv}) {
    const Context ctx = Context::create(vulkan_test_options(k));
    const Plan plan = ctx.plan(desc);
    EXPECT_EQ(plan.kernel, k) << plan.reason;
    EXPECT_NE(plan.reason.find("forced"), std::string::npos) << plan.reason;
  }
}

}  // namespace
}  // namespace vkattn::test
