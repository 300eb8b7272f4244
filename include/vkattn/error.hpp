// SPDX-License-Identifier: MIT
#pragma once

/// @file
/// The one exception type vkattn throws, and the codes that classify it.

#include <stdexcept>
#include <string>

namespace vkattn {

/// What went wrong, coarsely enough for a caller to react to.
enum class ErrorCode {
  invalid_argument,  ///< The description or a tensor view is malformed; nothing was dispatched.
  unsupported,       ///< Well-formed but not supported here (option, size past a device limit).
  out_of_memory,     ///< A host or device allocation failed; the Context stays usable.
  device_lost,       ///< The Vulkan device was lost; the Context must be recreated.
  vulkan_error,      ///< Any other failing VkResult; the message names the call and the result.
  internal,          ///< A bug in vkattn.
};

/// Stable lower-case name of a code, e.g. "invalid_argument".
[[nodiscard]] const char* to_string(ErrorCode code) noexcept;

/// Thrown by every vkattn entry point that can fail. `what()` names the offending field,
/// value or Vulkan call.
class Error : public std::runtime_error {
 public:
  /// @param code classification; @param message human-readable, names the problem.
  Error(ErrorCode code, const std::string& message);

  /// The classification given at construction.
  [[nodiscard]] ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace vkattn
