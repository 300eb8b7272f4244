// SPDX-License-Identifier: MIT
#pragma once

// Names <-> enums, shared by the environment overrides and the CLI so both accept the same words.

#include <optional>
#include <string_view>

#include "vkattn/types.hpp"

namespace vkattn::detail {

[[nodiscard]] std::optional<Backend> parse_backend(std::string_view s) noexcept;
[[nodiscard]] std::optional<Kernel> parse_kernel(std::string_view s) noexcept;
[[nodiscard]] std::optional<Causal> parse_causal(std::string_view s) noexcept;

}  // namespace vkattn::detail
