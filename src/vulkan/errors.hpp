// SPDX-License-Identifier: MIT
#pragma once

// Translation of whatever a Vulkan code path throws into vkattn::Error, at the boundaries
// where control returns to the application (the backend, recordings).

namespace vkattn::vulkan {

// Rethrows the exception in flight as vkattn::Error. `creating`: while opening a device, the
// "no usable Vulkan here" results become unsupported (so Backend::automatic falls back).
[[noreturn]] void rethrow_translated(bool creating);

}  // namespace vkattn::vulkan
