// SPDX-License-Identifier: MIT
#include "vkattn/error.hpp"

namespace vkattn {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::out_of_memory: return "out_of_memory";
    case ErrorCode::device_lost: return "device_lost";
    case ErrorCode::vulkan_error: return "vulkan_error";
    case ErrorCode::internal: return "internal";
  }
  return "unknown";
}

Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error(std::string("vkattn: ") + to_string(code) + ": " + message), code_(code) {}

}  // namespace vkattn
