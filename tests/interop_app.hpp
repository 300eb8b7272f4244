// SPDX-License-Identifier: MIT
#pragma once

// A stand-in for an application that owns Vulkan: its own instance (validation layer on, a
// messenger feeding ValidationLog so any message fails the test), the best device, one compute
// queue, a command pool and host-visible buffers. Tests hand its objects to Context::adopt.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>

#include <vulkan/vulkan_raii.hpp>

#include "testutil.hpp"
#include "vkattn/vulkan_interop.hpp"

namespace vkattn::test {

inline VKAPI_ATTR VkBool32 VKAPI_CALL app_on_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT /*severity*/, VkDebugUtilsMessageTypeFlagsEXT /*types*/,
    const VkDebugUtilsMessengerCallbackDataEXT* data, void* /*user*/) {
  ValidationLog::get().add(std::string("application messenger: ") +
                           (data != nullptr && data->pMessage != nullptr ? data->pMessage : ""));
  return VK_FALSE;
}

// A host-visible, coherent buffer the test fills and reads through its mapping.
struct HostBuffer {
  vk::raii::Buffer buffer = nullptr;
  vk::raii::DeviceMemory memory = nullptr;
  void* mapped = nullptr;
  vk::DeviceSize size = 0;

  [[nodiscard]] float* floats(vk::DeviceSize byte_offset) const {
    return reinterpret_cast<float*>(static_cast<std::uint8_t*>(mapped) + byte_offset);
  }
};

class App {
 public:
  // `api`: the apiVersion the instance is created with (vkattn must not query past it).
  explicit App(std::uint32_t api = VK_API_VERSION_1_2) : api_(api) {
    using S = vk::DebugUtilsMessageSeverityFlagBitsEXT;
    using T = vk::DebugUtilsMessageTypeFlagBitsEXT;
    const vk::DebugUtilsMessengerCreateInfoEXT debug{
        .messageSeverity = S::eWarning | S::eError,
        .messageType = T::eGeneral | T::eValidation | T::ePerformance,
        .pfnUserCallback = &app_on_message};
    const vk::ApplicationInfo app_info{.pApplicationName = "vkattn interop test",
                                       .apiVersion = api_};
    const char* layer = "VK_LAYER_KHRONOS_validation";
    const char* ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    instance = vk::raii::Instance(context, vk::InstanceCreateInfo{.pNext = &debug,
                                                                  .pApplicationInfo = &app_info,
                                                                  .enabledLayerCount = 1,
                                                                  .ppEnabledLayerNames = &layer,
                                                                  .enabledExtensionCount = 1,
                                                                  .ppEnabledExtensionNames = &ext});
    messenger = vk::raii::DebugUtilsMessengerEXT(instance, debug);

    // The best device with a compute queue: discrete > integrated > virtual > cpu.
    const auto rank = [](vk::PhysicalDeviceType t) {
      switch (t) {
        case vk::PhysicalDeviceType::eDiscreteGpu: return 4;
        case vk::PhysicalDeviceType::eIntegratedGpu: return 3;
        case vk::PhysicalDeviceType::eVirtualGpu: return 2;
        case vk::PhysicalDeviceType::eCpu: return 1;
        default: return 0;
      }
    };
    vk::raii::PhysicalDevices devices(instance);
    int best = -1;
    for (auto& pd : devices) {
      const auto families = pd.getQueueFamilyProperties();
      for (std::uint32_t f = 0; f < families.size(); ++f) {
        if (!(families[f].queueFlags & vk::QueueFlagBits::eCompute)) continue;
        if (rank(pd.getProperties().deviceType) > best) {
          best = rank(pd.getProperties().deviceType);
          physical = pd;
          family = f;
        }
        break;
      }
    }
    if (best < 0) throw std::runtime_error("no Vulkan device with a compute queue");
    limits = physical.getProperties().limits;
    const float priority = 1.0f;
    const vk::DeviceQueueCreateInfo queue_info{
        .queueFamilyIndex = family, .queueCount = 1, .pQueuePriorities = &priority};
    device = vk::raii::Device(physical, vk::DeviceCreateInfo{.queueCreateInfoCount = 1,
                                                             .pQueueCreateInfos = &queue_info});
    queue = device.getQueue(family, 0);
    pool = vk::raii::CommandPool(
        device,
        vk::CommandPoolCreateInfo{.flags = vk::CommandPoolCreateFlagBits::eResetCommandBuffer,
                                  .queueFamilyIndex = family});
  }

  [[nodiscard]] ExternalVulkan external() const {
    ExternalVulkan e;
    e.instance = static_cast<VkInstance>(*instance);
    e.physical_device = static_cast<VkPhysicalDevice>(*physical);
    e.device = static_cast<VkDevice>(*device);
    e.queue = static_cast<VkQueue>(*queue);
    e.queue_family = family;
    e.api_version = api_;
    return e;
  }

  [[nodiscard]] HostBuffer make_buffer(vk::DeviceSize bytes) const {
    HostBuffer b;
    b.size = bytes;
    b.buffer = vk::raii::Buffer(
        device,
        vk::BufferCreateInfo{.size = bytes, .usage = vk::BufferUsageFlagBits::eStorageBuffer});
    const vk::MemoryRequirements req = b.buffer.getMemoryRequirements();
    const auto props = physical.getMemoryProperties();
    const vk::MemoryPropertyFlags want =
        vk::MemoryPropertyFlagBits::eHostVisible | vk::MemoryPropertyFlagBits::eHostCoherent;
    std::optional<std::uint32_t> type;
    for (std::uint32_t t = 0; t < props.memoryTypeCount && !type; ++t)
      if ((req.memoryTypeBits & (1u << t)) && (props.memoryTypes[t].propertyFlags & want) == want)
        type = t;
    if (!type) throw std::runtime_error("no host-visible coherent memory");
    b.memory = vk::raii::DeviceMemory(
        device, vk::MemoryAllocateInfo{.allocationSize = req.size, .memoryTypeIndex = *type});
    b.buffer.bindMemory(*b.memory, 0);
    b.mapped = b.memory.mapMemory(0, VK_WHOLE_SIZE);
    return b;
  }

  [[nodiscard]] vk::raii::CommandBuffer make_command_buffer() const {
    vk::raii::CommandBuffers cmds(
        device, vk::CommandBufferAllocateInfo{.commandPool = *pool,
                                              .level = vk::CommandBufferLevel::ePrimary,
                                              .commandBufferCount = 1});
    return std::move(cmds.front());
  }

  // What an application records around vkattn's commands: host writes visible to compute
  // reads before, compute writes visible to the host after.
  static void barrier_before(const vk::raii::CommandBuffer& cmd) {
    cmd.pipelineBarrier(vk::PipelineStageFlagBits::eHost, vk::PipelineStageFlagBits::eComputeShader,
                        {},
                        vk::MemoryBarrier{.srcAccessMask = vk::AccessFlagBits::eHostWrite,
                                          .dstAccessMask = vk::AccessFlagBits::eShaderRead},
                        {}, {});
  }
  static void barrier_after(const vk::raii::CommandBuffer& cmd) {
    cmd.pipelineBarrier(vk::PipelineStageFlagBits::eComputeShader, vk::PipelineStageFlagBits::eHost,
                        {},
                        vk::MemoryBarrier{.srcAccessMask = vk::AccessFlagBits::eShaderWrite,
                                          .dstAccessMask = vk::AccessFlagBits::eHostRead},
                        {}, {});
  }

  void submit_and_wait(const vk::raii::CommandBuffer& cmd) const {
    const vk::raii::Fence fence(device, vk::FenceCreateInfo{});
    const vk::CommandBuffer raw = *cmd;
    queue.submit(vk::SubmitInfo{.commandBufferCount = 1, .pCommandBuffers = &raw}, *fence);
    if (device.waitForFences(*fence, VK_TRUE, std::numeric_limits<std::uint64_t>::max()) !=
        vk::Result::eSuccess)
      throw std::runtime_error("vkWaitForFences failed");
  }

  std::uint32_t api_;
  vk::raii::Context context;
  vk::raii::Instance instance = nullptr;
  vk::raii::DebugUtilsMessengerEXT messenger = nullptr;
  vk::raii::PhysicalDevice physical = nullptr;
  std::uint32_t family = 0;
  vk::PhysicalDeviceLimits limits{};
  vk::raii::Device device = nullptr;
  vk::raii::Queue queue = nullptr;
  vk::raii::CommandPool pool = nullptr;
};

}  // namespace vkattn::test
