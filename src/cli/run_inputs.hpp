// SPDX-License-Identifier: MIT
#pragma once

// `vkattn run`'s inputs: reads the .npy files, checks their dtypes and shapes against each
// other, parses the option values, and builds the AttentionDesc and views the library takes.
// Everything wrong here is BadInput; semantic checks beyond shapes are the library's.

#include <cstdint>
#include <optional>
#include <vector>

#include "cli/commands.hpp"
#include "cli/npy.hpp"
#include "vkattn/types.hpp"

namespace vkattn::cli {

struct RunInputs {
  AttentionDesc desc;
  bool blhd = false;  // q, k, v and the output are [B, L, H, D] in memory
  npy::Array q, k, v;
  std::optional<npy::Array> mask;
  Dims4 mask_shape{1, 1, 1, 1};  // the mask's shape with leading 1s prepended to rank 4
  std::vector<std::int32_t> kv_lens;

  // Views of the arrays above; valid while this object lives and is not moved.
  [[nodiscard]] AttentionInputs views() const;
  // The output's shape as stored: q's layout with Dv as the last dim.
  [[nodiscard]] std::vector<std::int64_t> out_shape() const;
};

// @throws BadInput (bad option values, shapes, dtypes) or npy::Error (unreadable files).
[[nodiscard]] RunInputs load_run_inputs(const RunArgs& args);

// "(2, 3)" — numpy's spelling of a shape, for messages.
[[nodiscard]] std::string shape_string(const std::vector<std::int64_t>& shape);

}  // namespace vkattn::cli
