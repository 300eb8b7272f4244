#version 450
// SPDX-License-Identifier: MIT
//
// Split-KV combine: merges the normalised partial outputs O_s and LSE_s of n splits,
// written by flash_attn.comp with gl_NumWorkGroups.z = n, into the final row:
//   M = max_s LSE_s,  w_s = exp(LSE_s - M),  O = Σ w_s O_s / Σ w_s,  LSE = M + log Σ w_s.
// A row that no split saw (M = -inf) gives O = 0, LSE = -inf (never NaN).
// One invocation per output element (row, d); each recomputes its row's weights (n is small).
// Bindings: 0 partial O [n, rows, DV], 1 partial LSE [n, rows], 2 O [rows, DV], 3 LSE [rows].
// Constants: WG_SIZE, DV (padded value head dim), SPLITS (n).
// Must match: the LSE merge of reference_attention (an unsplit softmax) in src/cpu/reference.cpp.

#extension GL_GOOGLE_include_directive : require

#include "common.glsl"

layout(constant_id = VKATTN_SPEC_WORKGROUP_SIZE) const uint WG_SIZE = 64;
layout(constant_id = VKATTN_SPEC_HEAD_DIM_V) const uint DV = 64;
layout(constant_id = VKATTN_SPEC_SPLIT) const uint SPLITS = 2;

layout(local_size_x_id = VKATTN_SPEC_WORKGROUP_SIZE, local_size_y = 1, local_size_z = 1) in;

layout(std430, binding = 0) readonly buffer PartialO { float part_o[]; };
layout(std430, binding = 1) readonly buffer PartialLse { float part_lse[]; };
layout(std430, binding = 2) writeonly buffer OBuffer { float o_data[]; };
layout(std430, binding = 3) writeonly buffer LseBuffer { float lse_data[]; };

void main() {
  const uint rows = p.batch * p.heads_q * p.len_q;
  const uint index = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * WG_SIZE;
  if (index >= rows * DV) return;
  const uint row = index / DV;
  const uint d = index % DV;

  float m = NEG_INF;
  for (uint s = 0u; s < SPLITS; ++s) m = max(m, part_lse[s * rows + row]);
  if (m == NEG_INF) {
    o_data[index] = 0.0;
    if (d == 0u) lse_data[row] = NEG_INF;
    return;
  }
  float weight_sum = 0.0;
  float value = 0.0;
  for (uint s = 0u; s < SPLITS; ++s) {
    const float w = exp(part_lse[s * rows + row] - m);  // exp(-inf) = 0 for empty splits
    weight_sum += w;
    value += w * part_o[(s * rows + row) * DV + d];
  }
  o_data[index] = value / weight_sum;
  if (d == 0u) lse_data[row] = m + log(weight_sum);
}
