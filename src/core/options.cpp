// SPDX-License-Identifier: MIT
// The single place environment variables are read (documented in README.md).
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/parse.hpp"
#include "vkattn/context.hpp"
#include "vkattn/error.hpp"

namespace vkattn {

namespace {
const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}
}  // namespace

Options Options::from_environment(Options base) {
  if (const char* v = env("VKATTN_BACKEND")) {
    auto b = detail::parse_backend(v);
    if (!b)
      throw Error(ErrorCode::invalid_argument,
                  std::string("VKATTN_BACKEND='") + v + "': expected auto, vulkan or cpu");
    base.backend = *b;
  }
  if (const char* v = env("VKATTN_DEVICE")) base.device = v;
  if (const char* v = env("VKATTN_KERNEL")) {
    auto k = detail::parse_kernel(v);
    if (!k)
      throw Error(
          ErrorCode::invalid_argument,
          std::string("VKATTN_KERNEL='") + v + "': expected auto, three-pass, flash or split-kv");
    base.kernel = *k;
  }
  if (const char* v = env("VKATTN_VALIDATION")) {
    const std::string_view s(v);
    if (s == "1")
      base.validation = true;
    else if (s == "0")
      base.validation = false;
    else
      throw Error(ErrorCode::invalid_argument,
                  std::string("VKATTN_VALIDATION='") + v + "': expected 0 or 1");
  }
  return base;
}

Options Options::from_environment() { return from_environment(Options{}); }

}  // namespace vkattn
