// SPDX-License-Identifier: MIT
// Instance (optionally with the Khronos validation layer and a debug-utils messenger),
// device description and choice, logical device with one compute queue.
#include "vulkan/device.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <string>

#include "vkattn/error.hpp"

namespace vkattn::vulkan {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";
// 1.1 gives properties2 (subgroup size) and SPIR-V 1.3; 1.2 adds driver properties and
// shaderFloat16, queried only when the device reports it.
constexpr std::uint32_t kMinApi = VK_API_VERSION_1_1;
constexpr std::uint32_t kRequestedApi = VK_API_VERSION_1_2;

VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                          VkDebugUtilsMessageTypeFlagsEXT /*types*/,
                                          const VkDebugUtilsMessengerCallbackDataEXT* data,
                                          void* user) {
  const auto* sink = static_cast<const MessageSink*>(user);
  std::string text = (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) != 0
                         ? "validation error: "
                         : "validation warning: ";
  text += (data != nullptr && data->pMessage != nullptr) ? data->pMessage : "(no message)";
  try {
    if (sink != nullptr && sink->forward) {
      sink->forward(text);
    } else {
      std::fprintf(stderr, "vkattn: %s\n", text.c_str());
    }
  } catch (...) {
    // A throwing user callback must not unwind through the Vulkan driver.
  }
  return VK_FALSE;  // never abort the call that triggered the message
}

vk::DebugUtilsMessengerCreateInfoEXT messenger_info(MessageSink* sink) {
  using S = vk::DebugUtilsMessageSeverityFlagBitsEXT;
  using T = vk::DebugUtilsMessageTypeFlagBitsEXT;
  return {.messageSeverity = S::eWarning | S::eError,
          .messageType = T::eGeneral | T::eValidation | T::ePerformance,
          .pfnUserCallback = &on_message,
          .pUserData = sink};
}

bool has_layer(const vk::raii::Context& context, const char* name) {
  const auto layers = context.enumerateInstanceLayerProperties();
  return std::any_of(layers.begin(), layers.end(), [&](const vk::LayerProperties& l) {
    return std::string(l.layerName.data()) == name;
  });
}

bool has_instance_extension(const vk::raii::Context& context, const char* name) {
  const auto exts = context.enumerateInstanceExtensionProperties();
  return std::any_of(exts.begin(), exts.end(), [&](const vk::ExtensionProperties& e) {
    return std::string(e.extensionName.data()) == name;
  });
}

bool has_device_extension(const vk::raii::PhysicalDevice& pd, const char* name) {
  const auto exts = pd.enumerateDeviceExtensionProperties();
  return std::any_of(exts.begin(), exts.end(), [&](const vk::ExtensionProperties& e) {
    return std::string(e.extensionName.data()) == name;
  });
}

// Creates the instance; with a sink, enables validation and returns the messenger through
// `messenger` (the create info is also chained so instance creation itself is checked).
vk::raii::Instance make_instance(const vk::raii::Context& context, MessageSink* sink,
                                 vk::raii::DebugUtilsMessengerEXT* messenger) {
  if (context.enumerateInstanceVersion() < kMinApi) {
    throw Error(ErrorCode::unsupported, "the Vulkan loader is older than 1.1");
  }
  std::vector<const char*> layers;
  std::vector<const char*> extensions;
  vk::InstanceCreateFlags flags{};
  // MoltenVK only enumerates its devices when the application opts into portability.
  if (has_instance_extension(context, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    flags |= vk::InstanceCreateFlagBits::eEnumeratePortabilityKHR;
  }
  const vk::DebugUtilsMessengerCreateInfoEXT debug_info = messenger_info(sink);
  if (sink != nullptr) {
    if (!has_layer(context, kValidationLayer)) {
      throw Error(ErrorCode::unsupported,
                  "validation requested but VK_LAYER_KHRONOS_validation is not installed "
                  "(package vulkan-validationlayers)");
    }
    layers.push_back(kValidationLayer);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  const vk::ApplicationInfo app{.pApplicationName = "vkattn",
                                .applicationVersion = VK_MAKE_API_VERSION(0, 0, 1, 0),
                                .pEngineName = "vkattn",
                                .engineVersion = VK_MAKE_API_VERSION(0, 0, 1, 0),
                                .apiVersion = kRequestedApi};
  const vk::InstanceCreateInfo info{
      .pNext = sink != nullptr ? &debug_info : nullptr,
      .flags = flags,
      .pApplicationInfo = &app,
      .enabledLayerCount = static_cast<std::uint32_t>(layers.size()),
      .ppEnabledLayerNames = layers.data(),
      .enabledExtensionCount = static_cast<std::uint32_t>(extensions.size()),
      .ppEnabledExtensionNames = extensions.data()};
  vk::raii::Instance instance(context, info);
  if (sink != nullptr) *messenger = vk::raii::DebugUtilsMessengerEXT(instance, debug_info);
  return instance;
}

const char* type_name(vk::PhysicalDeviceType t) {
  switch (t) {
    case vk::PhysicalDeviceType::eDiscreteGpu: return "discrete";
    case vk::PhysicalDeviceType::eIntegratedGpu: return "integrated";
    case vk::PhysicalDeviceType::eVirtualGpu: return "virtual";
    case vk::PhysicalDeviceType::eCpu: return "cpu";
    default: return "other";
  }
}

// Higher is preferred when options.device is empty.
int type_rank(vk::PhysicalDeviceType t) {
  switch (t) {
    case vk::PhysicalDeviceType::eDiscreteGpu: return 4;
    case vk::PhysicalDeviceType::eIntegratedGpu: return 3;
    case vk::PhysicalDeviceType::eVirtualGpu: return 2;
    case vk::PhysicalDeviceType::eCpu: return 1;
    default: return 0;
  }
}

std::string version_string(std::uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) +
         "." + std::to_string(VK_API_VERSION_PATCH(v));
}

std::optional<std::uint32_t> compute_family(const vk::raii::PhysicalDevice& pd) {
  const auto families = pd.getQueueFamilyProperties();
  for (std::uint32_t i = 0; i < families.size(); ++i) {
    if (families[i].queueFlags & vk::QueueFlagBits::eCompute) return i;
  }
  return std::nullopt;
}

bool half_texels(const vk::raii::PhysicalDevice& pd) {
  for (vk::Format f : {vk::Format::eR16Sfloat, vk::Format::eR16G16B16A16Sfloat})
    if (!(pd.getFormatProperties(f).bufferFeatures & vk::FormatFeatureFlagBits::eUniformTexelBuffer))
      return false;
  return true;
}

struct Described {
  DeviceInfo info;
  vk::PhysicalDeviceLimits limits{};
  bool loop_limited = false;
  std::uint32_t min_subgroup_size = 1;
  vk::PhysicalDeviceType type = vk::PhysicalDeviceType::eOther;
  bool usable = false;  // Vulkan >= 1.1 and a compute queue
  std::uint32_t family = 0;
  std::uint32_t timestamp_valid_bits = 0;
};

// The largest heap the host can map: where readback buffers (probabilities) live.
std::uint64_t largest_host_visible_heap(const vk::raii::PhysicalDevice& pd) {
  const vk::PhysicalDeviceMemoryProperties mem = pd.getMemoryProperties();
  std::uint64_t largest = 0;
  for (std::uint32_t t = 0; t < mem.memoryTypeCount; ++t) {
    const auto& type = mem.memoryTypes[t];
    if (type.propertyFlags & vk::MemoryPropertyFlagBits::eHostVisible)
      largest = std::max<std::uint64_t>(largest, mem.memoryHeaps[type.heapIndex].size);
  }
  return largest;
}

// `instance_api`: the version the instance was created with; structures of newer versions
// must not be queried through it.
Described describe(const vk::raii::PhysicalDevice& pd, std::uint32_t index,
                   std::uint32_t instance_api = kRequestedApi) {
  Described d;
  const vk::PhysicalDeviceProperties props = pd.getProperties();
  const std::uint32_t api = std::min({props.apiVersion, kRequestedApi, instance_api});
  DeviceInfo& info = d.info;
  info.backend = Backend::vulkan;
  info.name = props.deviceName.data();
  info.type = type_name(props.deviceType);
  d.type = props.deviceType;
  info.api_version = version_string(props.apiVersion);
  info.vendor_id = props.vendorID;
  info.index = index;
  info.driver = "driver " + std::to_string(props.driverVersion);
  d.limits = props.limits;
  info.max_shared_memory = props.limits.maxComputeSharedMemorySize;
  info.max_workgroup_invocations = props.limits.maxComputeWorkGroupInvocations;
  info.max_storage_buffer_range = props.limits.maxStorageBufferRange;
  info.max_push_constants = props.limits.maxPushConstantsSize;
  info.timestamp_period_ns = props.limits.timestampPeriod;
  d.loop_limited = info.name.find("llvmpipe") != std::string::npos;

  const auto family = compute_family(pd);
  d.usable = family.has_value() && props.apiVersion >= kMinApi;
  if (family) {
    d.family = *family;
    const auto families = pd.getQueueFamilyProperties();
    // timestampValidBits is the per-queue truth; timestampComputeAndGraphics only promises it
    // for graphics+compute families.
    d.timestamp_valid_bits = families[*family].timestampValidBits;
    info.timestamps = d.timestamp_valid_bits > 0;
  }
  info.host_visible_heap = largest_host_visible_heap(pd);
  if (api < kMinApi) return d;
  // maxMemoryAllocationSize is core in 1.1 (maintenance3). maxBufferSize comes with
  // VK_KHR_maintenance4 (core in 1.3, but the instance asks for 1.2, so only the extension
  // makes the query valid); 0 when the device does not have it.
  info.max_allocation_size =
      pd.getProperties2<vk::PhysicalDeviceProperties2, vk::PhysicalDeviceMaintenance3Properties>()
          .get<vk::PhysicalDeviceMaintenance3Properties>()
          .maxMemoryAllocationSize;
  if (has_device_extension(pd, VK_KHR_MAINTENANCE_4_EXTENSION_NAME)) {
    info.max_buffer_size =
        pd.getProperties2<vk::PhysicalDeviceProperties2, vk::PhysicalDeviceMaintenance4Properties>()
            .get<vk::PhysicalDeviceMaintenance4Properties>()
            .maxBufferSize;
  }

  if (api >= VK_API_VERSION_1_2) {
    const auto chain =
        pd.getProperties2<vk::PhysicalDeviceProperties2, vk::PhysicalDeviceSubgroupProperties,
                          vk::PhysicalDeviceDriverProperties>();
    info.subgroup_size = chain.get<vk::PhysicalDeviceSubgroupProperties>().subgroupSize;
    const auto& driver = chain.get<vk::PhysicalDeviceDriverProperties>();
    info.driver = std::string(driver.driverName.data()) + " " + driver.driverInfo.data();
    d.loop_limited = driver.driverID == vk::DriverId::eMesaLlvmpipe;
    const auto features =
        pd.getFeatures2<vk::PhysicalDeviceFeatures2, vk::PhysicalDeviceVulkan11Features,
                        vk::PhysicalDeviceVulkan12Features>();
    info.storage_16bit =
        features.get<vk::PhysicalDeviceVulkan11Features>().storageBuffer16BitAccess == VK_TRUE;
    info.shader_float16 =
        features.get<vk::PhysicalDeviceVulkan12Features>().shaderFloat16 == VK_TRUE;
  } else {
    const auto chain =
        pd.getProperties2<vk::PhysicalDeviceProperties2, vk::PhysicalDeviceSubgroupProperties>();
    info.subgroup_size = chain.get<vk::PhysicalDeviceSubgroupProperties>().subgroupSize;
    const auto features =
        pd.getFeatures2<vk::PhysicalDeviceFeatures2, vk::PhysicalDevice16BitStorageFeatures>();
    info.storage_16bit =
        features.get<vk::PhysicalDevice16BitStorageFeatures>().storageBuffer16BitAccess == VK_TRUE;
  }
  // Drivers that vary the subgroup size per pipeline (Intel: 8 to 32) report the largest as
  // subgroupSize; kernels that need lanes in one subgroup plan with the smallest.
  d.min_subgroup_size = info.subgroup_size;
  if (has_device_extension(pd, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME)) {
    d.min_subgroup_size = std::min(
        info.subgroup_size,
        pd.getProperties2<vk::PhysicalDeviceProperties2,
                          vk::PhysicalDeviceSubgroupSizeControlPropertiesEXT>()
            .get<vk::PhysicalDeviceSubgroupSizeControlPropertiesEXT>()
            .minSubgroupSize);
  }
  return d;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string device_list(const std::vector<Described>& all) {
  std::string s;
  for (const auto& d : all) {
    if (!s.empty()) s += ", ";
    s += std::to_string(d.info.index) + ": " + d.info.name;
  }
  return s.empty() ? "none" : s;
}

// Index into `all` of the device `wanted` selects (Options::device rules).
std::size_t choose(const std::vector<Described>& all, const std::string& wanted) {
  if (all.empty())
    throw Error(ErrorCode::unsupported, "the Vulkan loader reports no physical device");
  if (wanted.empty()) {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (!all[i].usable) continue;
      if (!best || type_rank(all[i].type) > type_rank(all[*best].type)) best = i;
    }
    if (!best) {
      throw Error(ErrorCode::unsupported,
                  "no Vulkan device has Vulkan 1.1 and a compute queue (devices: " +
                      device_list(all) + ")");
    }
    return *best;
  }
  std::optional<std::size_t> found;
  if (std::all_of(wanted.begin(), wanted.end(),
                  [](unsigned char c) { return std::isdigit(c) != 0; })) {
    const unsigned long index = std::stoul(wanted);
    if (index < all.size()) found = index;
  } else {
    const std::string needle = lower(wanted);
    for (std::size_t i = 0; i < all.size() && !found; ++i) {
      if (lower(all[i].info.name).find(needle) != std::string::npos) found = i;
    }
  }
  if (!found) {
    throw Error(
        ErrorCode::invalid_argument,
        "device '" + wanted + "' matches no Vulkan device (devices: " + device_list(all) + ")");
  }
  if (!all[*found].usable) {
    throw Error(ErrorCode::unsupported, "Vulkan device '" + all[*found].info.name +
                                            "' lacks Vulkan 1.1 or a compute queue");
  }
  return *found;
}

// The loader unloads the drivers (dlclose) when a process's last instance is destroyed, and
// NVIDIA's driver does not survive being loaded again: after a few Contexts created and
// destroyed in turn, vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER (driver 580
// on an H100 and an H200; docs/performance.md). One instance without layers, kept for the
// life of the process, holds every driver loaded. Reachable from these statics, so leak
// checkers do not count it; where no driver loads, the caller's own attempt reports why.
void keep_drivers_loaded() {
  static const bool kept = [] {
    try {
      static vk::raii::Context* const context = new vk::raii::Context();
      static vk::raii::Instance* const instance =
          new vk::raii::Instance(make_instance(*context, nullptr, nullptr));
      return instance != nullptr;
    } catch (const std::exception&) {
      return false;
    }
  }();
  (void)kept;
}

vk::raii::Context load_loader() {
  try {
    vk::raii::Context context;
    keep_drivers_loaded();
    return context;
  } catch (const std::runtime_error& e) {
    // DynamicLoader reports a missing libvulkan.so.1 as a plain runtime_error.
    throw Error(ErrorCode::unsupported, std::string("no Vulkan loader: ") + e.what());
  }
}

std::vector<Described> describe_all(const vk::raii::Instance& instance,
                                    std::uint32_t instance_api = kRequestedApi) {
  vk::raii::PhysicalDevices devices(instance);
  std::vector<Described> all;
  for (std::uint32_t i = 0; i < devices.size(); ++i)
    all.push_back(describe(devices[i], i, instance_api));
  return all;
}

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::invalid_argument, message);
}

// What Context::adopt can check before touching the handles.
void check_external(const ExternalVulkan& e, const Options& options) {
  if (e.instance == VK_NULL_HANDLE) invalid("ExternalVulkan::instance is null");
  if (e.physical_device == VK_NULL_HANDLE) invalid("ExternalVulkan::physical_device is null");
  if (e.device == VK_NULL_HANDLE) invalid("ExternalVulkan::device is null");
  if (e.queue == VK_NULL_HANDLE) invalid("ExternalVulkan::queue is null");
  if (e.api_version < kMinApi) {
    throw Error(ErrorCode::unsupported,
                "ExternalVulkan::api_version=" + version_string(e.api_version) +
                    ": vkattn needs an instance created for Vulkan >= 1.1");
  }
  if (!options.device.empty())
    invalid("options.device='" + options.device +
            "' selects a device, but an adopted context uses ExternalVulkan::physical_device");
  if (options.validation)
    invalid(
        "options.validation is set, but an adopted instance's layers and messengers are "
        "the application's: enable VK_LAYER_KHRONOS_validation on its instance instead");
}

}  // namespace

std::vector<DeviceInfo> enumerate_devices() {
  vk::raii::Context context = load_loader();
  vk::raii::Instance instance = make_instance(context, nullptr, nullptr);
  std::vector<DeviceInfo> out;
  for (auto& d : describe_all(instance)) out.push_back(std::move(d.info));
  return out;
}

std::unique_ptr<Device> adopt_device(const ExternalVulkan& e, const Options& options) {
  check_external(e, options);
  auto dev = std::make_unique<Device>(load_loader());
  dev->adopted = true;  // from here on the destructor releases, never destroys
  dev->instance = vk::raii::Instance(dev->context, e.instance);

  const auto all = describe_all(dev->instance, e.api_version);
  vk::raii::PhysicalDevices devices(dev->instance);
  std::size_t chosen = devices.size();
  for (std::size_t i = 0; i < devices.size(); ++i)
    if (static_cast<VkPhysicalDevice>(*devices[i]) == e.physical_device) chosen = i;
  if (chosen == devices.size())
    invalid("ExternalVulkan::physical_device is not a physical device of ExternalVulkan::instance");
  const Described& d = all[chosen];
  if (devices[chosen].getProperties().apiVersion < kMinApi) {
    throw Error(ErrorCode::unsupported, "physical device '" + d.info.name + "' reports Vulkan " +
                                            d.info.api_version + "; vkattn needs >= 1.1");
  }
  const auto families = devices[chosen].getQueueFamilyProperties();
  if (e.queue_family >= families.size()) {
    invalid("ExternalVulkan::queue_family=" + std::to_string(e.queue_family) +
            " is out of range (" + d.info.name + " has " + std::to_string(families.size()) +
            " queue families)");
  }
  if (!(families[e.queue_family].queueFlags & vk::QueueFlagBits::eCompute)) {
    invalid("ExternalVulkan::queue_family=" + std::to_string(e.queue_family) +
            " has no VK_QUEUE_COMPUTE_BIT");
  }
  dev->physical = std::move(devices[chosen]);
  dev->info = d.info;
  dev->info.timestamps = families[e.queue_family].timestampValidBits > 0;
  dev->limits = d.limits;
  dev->loop_limited = d.loop_limited;
  dev->min_subgroup_size = d.min_subgroup_size;
  dev->half_texels = half_texels(dev->physical);
  dev->queue_family = e.queue_family;
  dev->device = vk::raii::Device(dev->physical, e.device);
  dev->queue = vk::raii::Queue(dev->device, e.queue);
  return dev;
}

std::unique_ptr<Device> open_device(const Options& options) {
  auto dev = std::make_unique<Device>(load_loader());
  if (options.validation)
    dev->sink = std::make_unique<MessageSink>(MessageSink{options.on_validation_message});
  dev->instance = make_instance(dev->context, dev->sink.get(), &dev->messenger);

  const auto all = describe_all(dev->instance);
  const std::size_t chosen = choose(all, options.device);
  vk::raii::PhysicalDevices devices(dev->instance);
  dev->physical = std::move(devices[chosen]);
  dev->info = all[chosen].info;
  dev->limits = all[chosen].limits;
  dev->loop_limited = all[chosen].loop_limited;
  dev->min_subgroup_size = all[chosen].min_subgroup_size;
  dev->half_texels = half_texels(dev->physical);
  dev->queue_family = all[chosen].family;
  dev->timestamp_valid_bits = all[chosen].timestamp_valid_bits;

  const float priority = 1.0f;
  const vk::DeviceQueueCreateInfo queue_info{
      .queueFamilyIndex = dev->queue_family, .queueCount = 1, .pQueuePriorities = &priority};
  std::vector<const char*> extensions;
  // A portability (MoltenVK) device requires the application to acknowledge it.
  if (has_device_extension(dev->physical, "VK_KHR_portability_subset")) {
    extensions.push_back("VK_KHR_portability_subset");
  }
  const vk::DeviceCreateInfo device_info{
      .queueCreateInfoCount = 1,
      .pQueueCreateInfos = &queue_info,
      .enabledExtensionCount = static_cast<std::uint32_t>(extensions.size()),
      .ppEnabledExtensionNames = extensions.data()};
  dev->device = vk::raii::Device(dev->physical, device_info);
  dev->queue = dev->device.getQueue(dev->queue_family, 0);
  return dev;
}

}  // namespace vkattn::vulkan
