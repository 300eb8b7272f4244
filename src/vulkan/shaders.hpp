// SPDX-License-Identifier: MIT
#pragma once

// Typed names of the embedded SPIR-V variants (shaders/manifest.cmake), and their words.

#include <cstdint>
#include <span>

#include "vkattn_shaders.hpp"

namespace vkattn::gpu {

#define VKATTN_SHADER_ENUM_ENTRY(id) id,
enum class ShaderId : std::uint8_t { VKATTN_SHADER_LIST(VKATTN_SHADER_ENUM_ENTRY) };
#undef VKATTN_SHADER_ENUM_ENTRY

// The SPIR-V words of `id`, as embedded at build time.
[[nodiscard]] std::span<const std::uint32_t> shader_words(ShaderId id) noexcept;
// The manifest name of `id`, e.g. "qk_scores".
[[nodiscard]] const char* shader_name(ShaderId id) noexcept;

}  // namespace vkattn::gpu
