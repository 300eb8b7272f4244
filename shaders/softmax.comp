// SPDX-License-Identifier: MIT
// Pass 2 of the three-pass kernel: row softmax of S in place (S becomes P) and the row's
// log-sum-exp, for one chunk.
//
// Algorithm: one workgroup per score row. Three strided sweeps over the row: max (for a
//   stable exp), sum of exp(s - max), then P = exp(s - max) / sum. Reductions go through
//   shared memory as a tree (WG is a power of two). LSE = max + log(sum), natural log.
//   A row whose max is -inf (no visible key) gets P = 0 and LSE = -inf, never NaN.
// Tiling: invocation t handles columns t, t + WG, ...; grid: x = row_count, z = bh count.
// Bindings (set 0): 0 S/P f32 [bh_count, row_count, Lkv] (workspace, read and written);
//   1 LSE f32 [B, Hq, Lq].
// Constants: local_size_x = WG (VKATTN_SPEC_WORKGROUP_SIZE), a power of two.
// Must match src/cpu/reference.cpp (probs, lse). Each sweep runs Lkv / WG iterations; the
// host keeps their total under llvmpipe's 65,535-iteration loop limit.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "common.glsl"

layout(local_size_x_id = VKATTN_SPEC_WORKGROUP_SIZE) in;

layout(std430, set = 0, binding = 0) buffer SBuf { float s[]; };
layout(std430, set = 0, binding = 1) writeonly buffer LseBuf { float lse[]; };

const uint WG = gl_WorkGroupSize.x;
shared float red[WG];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint lrow = gl_WorkGroupID.x;
  const uint bz = gl_WorkGroupID.z;
  const uint base = (bz * p.row_count + lrow) * p.len_kv;

  float m = NEG_INF;
  for (uint j = tid; j < p.len_kv; j += WG) m = max(m, s[base + j]);
  red[tid] = m;
  barrier();  // partial maxima visible to the tree
  for (uint stride = WG / 2; stride > 0; stride >>= 1) {
    if (tid < stride) red[tid] = max(red[tid], red[tid + stride]);
    barrier();  // this level done before the next reads it
  }
  m = red[0];
  barrier();  // everyone has read the max before red is reused for the sum

  const bool empty = m == NEG_INF;
  float sum = 0.0;
  if (!empty) {
    for (uint j = tid; j < p.len_kv; j += WG) {
      const float x = s[base + j];
      sum += x == NEG_INF ? 0.0 : exp(x - m);
    }
  }
  red[tid] = sum;
  barrier();  // partial sums visible to the tree
  for (uint stride = WG / 2; stride > 0; stride >>= 1) {
    if (tid < stride) red[tid] += red[tid + stride];
    barrier();  // this level done before the next reads it
  }
  const float total = red[0];

  for (uint j = tid; j < p.len_kv; j += WG) {
    const float x = s[base + j];
    s[base + j] = (empty || x == NEG_INF) ? 0.0 : exp(x - m) / total;
  }
  if (tid == 0u) {
    lse[(p.bh_begin + bz) * p.len_q + p.row_begin + lrow] = empty ? NEG_INF : m + log(total);
  }
}
