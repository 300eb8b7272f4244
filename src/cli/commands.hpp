// SPDX-License-Identifier: MIT
#pragma once

// The subcommands, each a function from parsed arguments to an exit code. main.cpp owns the
// argument parsing (CLI11) so only it pays for that header; these take plain structs.
// Each may throw; main maps exceptions to exit codes with report_current_exception().

#include <cstdint>
#include <optional>
#include <string>

#include "cli/errors.hpp"

namespace vkattn::cli {

struct InfoArgs {
  DeviceArgs device;
};

struct DemoArgs {
  DeviceArgs device;
  std::int64_t batch = 1;
  std::int64_t heads = 8;
  std::int64_t len = 512;
  std::int64_t dim = 64;
  std::string dtype = "f32";
  std::string causal = "none";
};

// `vkattn run`: every value is kept as text and parsed by run_inputs.cpp, so one place
// produces the messages for bad values.
struct RunArgs {
  DeviceArgs device;
  std::string q, k, v, out;
  std::string layout = "bhld";
  std::optional<std::string> scale;
  std::optional<std::string> causal;
  std::optional<std::string> window;
  std::optional<std::string> mask;
  std::optional<std::string> kv_lens;
  std::optional<std::string> softcap;
  std::optional<std::string> lse_out;
  std::optional<std::string> probs_out;
  bool stats = false;  // print the device, the plan the call ran and its time on stdout
};

[[nodiscard]] int info_command(const InfoArgs& args);
[[nodiscard]] int demo_command(const DemoArgs& args);
[[nodiscard]] int run_command(const RunArgs& args);

}  // namespace vkattn::cli
