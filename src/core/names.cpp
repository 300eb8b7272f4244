// SPDX-License-Identifier: MIT
// Stable names of the public enums and their parsers.
#include "core/parse.hpp"

namespace vkattn {

const char* to_string(Causal c) noexcept {
  switch (c) {
    case Causal::none: return "none";
    case Causal::top_left: return "top-left";
    case Causal::bottom_right: return "bottom-right";
  }
  return "?";
}

const char* to_string(Backend b) noexcept {
  switch (b) {
    case Backend::automatic: return "auto";
    case Backend::vulkan: return "vulkan";
    case Backend::cpu: return "cpu";
  }
  return "?";
}

const char* to_string(Kernel k) noexcept {
  switch (k) {
    case Kernel::automatic: return "auto";
    case Kernel::three_pass: return "three-pass";
    case Kernel::flash: return "flash";
    case Kernel::split_kv: return "split-kv";
  }
  return "?";
}

namespace detail {

std::optional<Backend> parse_backend(std::string_view s) noexcept {
  for (Backend b : {Backend::automatic, Backend::vulkan, Backend::cpu})
    if (s == to_string(b)) return b;
  return std::nullopt;
}

std::optional<Kernel> parse_kernel(std::string_view s) noexcept {
  for (Kernel k : {Kernel::automatic, Kernel::three_pass, Kernel::flash, Kernel::split_kv})
    if (s == to_string(k)) return k;
  return std::nullopt;
}

std::optional<Causal> parse_causal(std::string_view s) noexcept {
  for (Causal c : {Causal::none, Causal::top_left, Causal::bottom_right})
    if (s == to_string(c)) return c;
  return std::nullopt;
}

}  // namespace detail
}  // namespace vkattn
