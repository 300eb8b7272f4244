// SPDX-License-Identifier: MIT
#pragma once

// Instance, physical-device choice and logical device with one compute queue. Everything is
// a Vulkan-Hpp RAII owner; destruction order is the reverse of the member order below.

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "vkattn/context.hpp"
#include "vkattn/vulkan_interop.hpp"
#include "vulkan/vk.hpp"

namespace vkattn::vulkan {

// Receives validation messages; heap-allocated so its address (the messenger's user data)
// stays fixed for the messenger's whole life.
struct MessageSink {
  std::function<void(std::string_view)> forward;  // empty: print to stderr
};

struct Device {
  explicit Device(vk::raii::Context loaded) : context(std::move(loaded)) {}
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  // An adopted instance and device belong to the application: let go of them, don't destroy.
  ~Device() {
    if (adopted) {
      (void)device.release();
      (void)instance.release();
    }
  }

  std::unique_ptr<MessageSink> sink;  // outlives the messenger (declared first)
  vk::raii::Context context;          // dlopens libvulkan.so.1
  vk::raii::Instance instance = nullptr;
  vk::raii::DebugUtilsMessengerEXT messenger = nullptr;  // lives exactly as long as the instance
  vk::raii::PhysicalDevice physical = nullptr;
  vk::raii::Device device = nullptr;
  vk::raii::Queue queue = nullptr;
  std::uint32_t queue_family = 0;
  // Bits of a timestamp the queue family writes (0: no timestamp queries on this queue).
  std::uint32_t timestamp_valid_bits = 0;
  vk::PhysicalDeviceLimits limits{};
  DeviceInfo info;
  // llvmpipe ends any shader loop after 65,535 iterations in total per invocation; kernels
  // whose loop counts grow with the problem must stay under it there.
  bool loop_limited = false;
  // The smallest subgroup a pipeline may get (VK_EXT_subgroup_size_control; else the reported
  // subgroup size).
  std::uint32_t min_subgroup_size = 1;
  // R16F and RGBA16F uniform texel buffers work: CPU drivers can read an f16 KvCache through
  // texel views (else its kernels take storage buffers).
  bool half_texels = false;
  // Instance and device are the application's (Context::adopt): never destroyed, never
  // waited idle (vkDeviceWaitIdle would need every queue of the application synchronised).
  bool adopted = false;
};

// Opens the device `options.device` selects (see Options::device).
// Throws Error{unsupported} without a loader, device or validation layer; Error{invalid_argument}
// when a name or index matches nothing; vk::SystemError for failing Vulkan calls.
[[nodiscard]] std::unique_ptr<Device> open_device(const Options& options);

// Wraps the application's objects (Context::adopt) after checking what can be checked.
// Throws Error{invalid_argument|unsupported} naming the field; vk::SystemError for failing
// Vulkan calls.
[[nodiscard]] std::unique_ptr<Device> adopt_device(const ExternalVulkan& external,
                                                   const Options& options);

// Every physical device the loader reports, described. Throws like open_device.
[[nodiscard]] std::vector<DeviceInfo> enumerate_devices();

}  // namespace vkattn::vulkan
