// SPDX-License-Identifier: MIT
// VkResult -> ErrorCode, and the exception translation every Vulkan entry point shares.
#include "vulkan/errors.hpp"

#include <new>
#include <string>

#include "vkattn/error.hpp"
#include "vulkan/vk.hpp"

namespace vkattn::vulkan {
namespace {

// Which ErrorCode a failing VkResult maps to.
ErrorCode code_of(vk::Result r, bool creating) {
  switch (r) {
    case vk::Result::eErrorOutOfHostMemory:
    case vk::Result::eErrorOutOfDeviceMemory:
    case vk::Result::eErrorOutOfPoolMemory:
    case vk::Result::eErrorFragmentedPool:
    case vk::Result::eErrorFragmentation: return ErrorCode::out_of_memory;
    case vk::Result::eErrorDeviceLost: return ErrorCode::device_lost;
    case vk::Result::eErrorIncompatibleDriver:
    case vk::Result::eErrorInitializationFailed:
    case vk::Result::eErrorLayerNotPresent:
    case vk::Result::eErrorExtensionNotPresent:
    case vk::Result::eErrorFeatureNotPresent:
      // While opening a device these mean "no usable Vulkan here", so automatic falls back.
      return creating ? ErrorCode::unsupported : ErrorCode::vulkan_error;
    default: return ErrorCode::vulkan_error;
  }
}

}  // namespace

// Rethrows the exception in flight as vkattn::Error. vk::SystemError::what() names the call
// and the result, e.g. "vk::Device::allocateMemory: ErrorOutOfDeviceMemory".
void rethrow_translated(bool creating) {
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const vk::SystemError& e) {
    const auto result = static_cast<vk::Result>(e.code().value());
    throw Error(code_of(result, creating), std::string("Vulkan call failed: ") + e.what());
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::out_of_memory, "host allocation failed");
  } catch (const std::exception& e) {
    throw Error(ErrorCode::internal, std::string("vulkan backend: ") + e.what());
  }
}

}  // namespace vkattn::vulkan
