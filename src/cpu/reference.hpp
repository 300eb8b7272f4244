// SPDX-License-Identifier: MIT
#pragma once

// The oracle: a naive attention written for clarity and accuracy, never for speed. It holds
// every semantic rule (masks, causal alignment, window, kv_lens, softcap, GQA) once, and
// must equal shaders/common.glsl; every GPU kernel and the fast CPU path are tested
// against it.

#include <cstdint>
#include <vector>

#include "core/problem.hpp"
#include "vkattn/types.hpp"

namespace vkattn::detail {

struct ReferenceResult {
  std::vector<double> out;    // [B, Hq, Lq, Dv] contiguous
  std::vector<double> lse;    // [B, Hq, Lq]; -inf for a row with no visible key
  std::vector<double> probs;  // [B, Hq, Lq, Lkv], filled only when problem.want_probs
};

// Key j visible to query row i for a sequence with kv_len keys (the rule in shaders/common.glsl).
[[nodiscard]] bool key_visible(const Problem& p, std::int64_t kv_len, std::int64_t i,
                               std::int64_t j) noexcept;

// Computes softmax(scale·QKᵀ + masks)·V in double. `p` must come from validate_call on the
// same inputs. A row with no visible key (or only -inf scores) gives out = 0, lse = -inf,
// probs = 0.
[[nodiscard]] ReferenceResult reference_attention(const Problem& p, const AttentionInputs& in);

// Writes a result into the caller's outputs: out rounded to its dtype, lse and probs as float.
// lse and probs are written only when the spans are non-empty (and probs only when computed).
void write_outputs(const Problem& p, const ReferenceResult& r, const AttentionOutputs& out);

}  // namespace vkattn::detail
