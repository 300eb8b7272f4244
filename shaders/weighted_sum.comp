// SPDX-License-Identifier: MIT
// Pass 3 of the three-pass kernel: O = P·V for the chunk's query rows.
//
// Algorithm: each workgroup computes a TILE_M × TILE_N block of O (query rows × value
//   columns) of one (batch, head) pair; the reduction over keys walks Lkv in TILE_K slices
//   of P and V staged in shared memory, each slice summed into a partial before the
//   running total (two-level sum). GQA: V head = h / (Hq / Hkv).
// Tiling: invocation t owns value column t % TILE_N and the 4 rows t / TILE_N + i·(WG /
//   TILE_N), so the host must pass TILE_M = 4 · WG / TILE_N. Grid: x = ceil(Dv / TILE_N),
//   y = ceil(row_count / TILE_M), z = (batch·head) count of the chunk.
// Bindings (set 0): 0 P f32 [bh_count, row_count, Lkv] (workspace); 1 V f32
//   [B, Hkv, Lkv, Dv]; 2 O f32 [B, Hq, Lq, Dv], written at the chunk's rows.
// Constants: local_size_x = WG, TILE_M/N/K (VKATTN_SPEC_*).
// Must match src/cpu/reference.cpp (out). Lkv / TILE_K slices per invocation: the host keeps
// that under llvmpipe's 65,535-iteration loop limit.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

#include "common.glsl"

layout(local_size_x_id = VKATTN_SPEC_WORKGROUP_SIZE) in;
layout(constant_id = VKATTN_SPEC_TILE_M) const uint TILE_M = 64;
layout(constant_id = VKATTN_SPEC_TILE_N) const uint TILE_N = 16;
layout(constant_id = VKATTN_SPEC_TILE_K) const uint TILE_K = 32;

layout(std430, set = 0, binding = 0) readonly buffer PBuf { float prob[]; };
layout(std430, set = 0, binding = 1) readonly buffer VBuf { float v[]; };
layout(std430, set = 0, binding = 2) writeonly buffer OBuf { float o[]; };

#define ROWS 4  // query rows per invocation
const uint WG = gl_WorkGroupSize.x;
const uint ROW_STEP = WG / TILE_N;
const uint P_PITCH = TILE_K + 1;  // padding avoids shared-memory bank conflicts on GPUs

shared float p_tile[TILE_M * P_PITCH];
shared float v_tile[TILE_K * TILE_N];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint col0 = gl_WorkGroupID.x * TILE_N;
  const uint lrow0 = gl_WorkGroupID.y * TILE_M;  // relative to the chunk
  const uint bz = gl_WorkGroupID.z;
  const uint bh = p.bh_begin + bz;
  const uint b = bh / p.heads_q;
  const uint h = bh % p.heads_q;
  const uint hk = h / (p.heads_q / p.heads_kv);  // GQA: query heads share a KV head
  const uint p_base = bz * p.row_count * p.len_kv;
  const uint v_base = (b * p.heads_kv + hk) * p.len_kv * p.dim_v;
  const uint tc = tid % TILE_N;
  const uint tr = tid / TILE_N;

  float acc[ROWS];
  [[unroll]] for (uint i = 0; i < ROWS; ++i) acc[i] = 0.0;

  for (uint j0 = 0; j0 < p.len_kv; j0 += TILE_K) {
    for (uint e = tid; e < TILE_M * TILE_K; e += WG) {
      const uint r = e / TILE_K;
      const uint j = j0 + e % TILE_K;
      const uint row = lrow0 + r;
      p_tile[r * P_PITCH + e % TILE_K] =
          (row < p.row_count && j < p.len_kv) ? prob[p_base + row * p.len_kv + j] : 0.0;
    }
    for (uint e = tid; e < TILE_K * TILE_N; e += WG) {
      const uint j = j0 + e / TILE_N;
      const uint c = col0 + e % TILE_N;
      v_tile[e] = (j < p.len_kv && c < p.dim_v) ? v[v_base + j * p.dim_v + c] : 0.0;
    }
    barrier();  // tiles complete before any invocation reads them
    float part[ROWS];
    [[unroll]] for (uint i = 0; i < ROWS; ++i) part[i] = 0.0;
    [[unroll]] for (uint j = 0; j < TILE_K; ++j) {
      const float vj = v_tile[j * TILE_N + tc];
      [[unroll]] for (uint i = 0; i < ROWS; ++i) part[i] += p_tile[(tr + i * ROW_STEP) * P_PITCH + j] * vj;
    }
    [[unroll]] for (uint i = 0; i < ROWS; ++i) acc[i] += part[i];
    barrier();  // every invocation is done reading before the next slice overwrites the tiles
  }

  const uint col = col0 + tc;
  if (col >= p.dim_v) return;
  [[unroll]] for (uint i = 0; i < ROWS; ++i) {
    const uint lrow = lrow0 + tr + i * ROW_STEP;
    if (lrow >= p.row_count) continue;
    o[((bh * p.len_q) + p.row_begin + lrow) * p.dim_v + col] = acc[i];
  }
}
