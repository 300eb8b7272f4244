// SPDX-License-Identifier: MIT
#pragma once

// Precompiled header of the vkattn_vulkan object library. vulkan_raii.hpp costs seconds per
// translation unit, so only src/vulkan includes it. Vulkan-Hpp RAII loads libvulkan.so.1 at
// run time (vk::raii::Context), so nothing links the loader and no static dispatcher is used.

#include <vulkan/vulkan_raii.hpp>
