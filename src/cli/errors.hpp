// SPDX-License-Identifier: MIT
#pragma once

// How the command turns failures into exit codes and one-line messages:
//   0 success; 2 bad input (files, options, shapes, invalid descriptions); 1 anything else.

#include <optional>
#include <stdexcept>
#include <string>

#include "vkattn/context.hpp"

namespace vkattn::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

// Bad input detected by the command itself (an option value, a file, a shape).
class BadInput : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `text` with every control character (newlines included) replaced by a space, so a
// message always stays on one line.
[[nodiscard]] std::string one_line(std::string text);

// Call from inside a catch block: prints the in-flight exception as one line on stderr and
// returns its exit code (2 for BadInput, npy::Error and vkattn::Error invalid_argument or
// unsupported; 1 for everything else).
[[nodiscard]] int report_current_exception() noexcept;

// Context options shared by the subcommands: the environment overrides, then the flags.
struct DeviceArgs {
  std::optional<std::string> backend;
  std::optional<std::string> device;
  std::optional<std::string> kernel;
  bool validation = false;
};

// @throws BadInput for an unknown backend or kernel name; Error from the environment.
[[nodiscard]] Options make_options(const DeviceArgs& args);

}  // namespace vkattn::cli
