// SPDX-License-Identifier: MIT
// Pass 1 of the three-pass kernel: S = mask(softcap(scale · Q·Kᵀ)) for one chunk.
//
// Algorithm: each workgroup computes a TILE_M × TILE_N block of scores (query rows × keys)
//   of one (batch, head) pair; the head-dim reduction walks Dk in TILE_K slices staged in
//   shared memory, each slice summed into a partial before the running total (a two-level
//   sum keeps f32 rounding error small for large logits). Invisible keys (common.glsl
//   key_visible: kv_lens, causal, window) get -inf; then the additive mask is added.
// Tiling: workgroup = WG invocations; invocation t owns key column t % TILE_N and the 4
//   rows t / TILE_N + i·(WG / TILE_N), so the host must pass TILE_M = 4 · WG / TILE_N.
//   Grid: x = ceil(Lkv / TILE_N), y = ceil(row_count / TILE_M), z = (batch·head) count.
// Bindings (set 0): 0 Q f32 [B,Hq,Lq,Dk]; 1 K f32 [B,Hkv,Lkv,Dk]; 2 additive mask f32
//   (broadcast strides in push constants; dummy without VKATTN_FLAG_MASK); 3 kv_lens int32
//   [B] (dummy without VKATTN_FLAG_KV_LENS); 4 S f32 [bh_count, row_count, Lkv] (workspace).
// Constants: local_size_x = WG (VKATTN_SPEC_WORKGROUP_SIZE), TILE_M/N/K (VKATTN_SPEC_TILE_*).
// Must match src/cpu/reference.cpp (scores before softmax), rule shared via common.glsl.
// Loops are short (Dk / TILE_K slices): llvmpipe stops shader loops after 65,535 iterations.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

#include "common.glsl"

layout(local_size_x_id = VKATTN_SPEC_WORKGROUP_SIZE) in;
layout(constant_id = VKATTN_SPEC_TILE_M) const uint TILE_M = 64;
layout(constant_id = VKATTN_SPEC_TILE_N) const uint TILE_N = 16;
layout(constant_id = VKATTN_SPEC_TILE_K) const uint TILE_K = 16;

layout(std430, set = 0, binding = 0) readonly buffer QBuf { float q[]; };
layout(std430, set = 0, binding = 1) readonly buffer KBuf { float k[]; };
layout(std430, set = 0, binding = 2) readonly buffer MaskBuf { float mask[]; };
layout(std430, set = 0, binding = 3) readonly buffer KvLensBuf { int kv_lens[]; };
layout(std430, set = 0, binding = 4) writeonly buffer SBuf { float s[]; };

#define ROWS 4  // query rows per invocation
const uint WG = gl_WorkGroupSize.x;
const uint ROW_STEP = WG / TILE_N;
const uint K_PITCH = TILE_K + 1;  // padding avoids shared-memory bank conflicts on GPUs

shared float q_tile[TILE_M * TILE_K];
shared float k_tile[TILE_N * K_PITCH];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint col0 = gl_WorkGroupID.x * TILE_N;
  const uint lrow0 = gl_WorkGroupID.y * TILE_M;  // relative to the chunk
  const uint bz = gl_WorkGroupID.z;
  const uint bh = p.bh_begin + bz;
  const uint b = bh / p.heads_q;
  const uint h = bh % p.heads_q;
  const uint hk = h / (p.heads_q / p.heads_kv);  // GQA: query heads share a KV head
  const uint q_base = (bh * p.len_q + p.row_begin) * p.dim_qk;
  const uint k_base = (b * p.heads_kv + hk) * p.len_kv * p.dim_qk;
  const uint tc = tid % TILE_N;
  const uint tr = tid / TILE_N;

  float acc[ROWS];
  [[unroll]] for (uint i = 0; i < ROWS; ++i) acc[i] = 0.0;

  for (uint d0 = 0; d0 < p.dim_qk; d0 += TILE_K) {
    for (uint e = tid; e < TILE_M * TILE_K; e += WG) {
      const uint r = e / TILE_K;
      const uint d = d0 + e % TILE_K;
      const uint row = lrow0 + r;
      q_tile[e] = (row < p.row_count && d < p.dim_qk) ? q[q_base + row * p.dim_qk + d] : 0.0;
    }
    for (uint e = tid; e < TILE_N * TILE_K; e += WG) {
      const uint c = e / TILE_K;
      const uint d = d0 + e % TILE_K;
      const uint col = col0 + c;
      k_tile[c * K_PITCH + e % TILE_K] = (col < p.len_kv && d < p.dim_qk) ? k[k_base + col * p.dim_qk + d] : 0.0;
    }
    barrier();  // tiles complete before any invocation reads them
    float part[ROWS];
    [[unroll]] for (uint i = 0; i < ROWS; ++i) part[i] = 0.0;
    [[unroll]] for (uint d = 0; d < TILE_K; ++d) {
      const float kd = k_tile[tc * K_PITCH + d];
      [[unroll]] for (uint i = 0; i < ROWS; ++i) part[i] += q_tile[(tr + i * ROW_STEP) * TILE_K + d] * kd;
    }
    [[unroll]] for (uint i = 0; i < ROWS; ++i) acc[i] += part[i];
    barrier();  // every invocation is done reading before the next slice overwrites the tiles
  }

  const uint col = col0 + tc;
  if (col >= p.len_kv) return;
  uint kv_len = p.len_kv;
  if ((p.flags & VKATTN_FLAG_KV_LENS) != 0u) kv_len = min(uint(max(kv_lens[b], 0)), p.len_kv);
  [[unroll]] for (uint i = 0; i < ROWS; ++i) {
    const uint lrow = lrow0 + tr + i * ROW_STEP;
    if (lrow >= p.row_count) continue;
    const uint row = p.row_begin + lrow;
    float score = NEG_INF;
    if (key_visible(row, col, kv_len)) {
      score = apply_softcap(acc[i] * p.scale);
      if ((p.flags & VKATTN_FLAG_MASK) != 0u) score += mask[mask_offset(b, h, row, col)];
    }
    s[(bz * p.row_count + lrow) * p.len_kv + col] = score;
  }
}
