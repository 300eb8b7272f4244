// SPDX-License-Identifier: MIT
// ShaderId -> embedded SPIR-V, generated from the one manifest list so nothing drifts.
#include "vulkan/shaders.hpp"

namespace vkattn::gpu {

std::span<const std::uint32_t> shader_words(ShaderId id) noexcept {
  switch (id) {
#define VKATTN_SHADER_WORDS_CASE(name) \
  case ShaderId::name: return {vkattn_spv_##name, vkattn_spv_##name##_words};
    VKATTN_SHADER_LIST(VKATTN_SHADER_WORDS_CASE)
#undef VKATTN_SHADER_WORDS_CASE
  }
  return {};
}

const char* shader_name(ShaderId id) noexcept {
  switch (id) {
#define VKATTN_SHADER_NAME_CASE(name) \
  case ShaderId::name: return #name;
    VKATTN_SHADER_LIST(VKATTN_SHADER_NAME_CASE)
#undef VKATTN_SHADER_NAME_CASE
  }
  return "?";
}

}  // namespace vkattn::gpu
