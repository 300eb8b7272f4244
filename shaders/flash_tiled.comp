#version 450
// SPDX-License-Identifier: MIT
//
// Fused attention for GPUs (FlashAttention-2 style): K/V tiles staged in shared memory, query
// rows in registers split across a few lanes. Same bindings, push constants, row order,
// outputs and key slicing as flash_attn.comp (which CPU drivers run), so split-KV and the
// combine pass work unchanged; storage buffers only.
//
// Why: flash_attn.comp keeps a whole query row (q and the accumulator, DK + DV floats) in one
// invocation and every invocation reads each K/V element from memory; at D=128 that is more
// registers than a GPU thread has (measured on an H100: 0.24 TFLOP/s at D=128, 7.7 at D=64).
// Here TPR lanes (threads per row, adjacent in one subgroup) share a row: lane `part` owns the
// RGBA chunks c ≡ part (mod TPR) of q, of the accumulator and of every K/V row, so a thread
// holds RM·(DK + DV)/TPR floats. Per tile of BN keys the workgroup copies K and V into shared
// memory once (coalesced vec4 loads), then, KB keys at a time:
//   S = Q·Kᵀ   each lane a partial dot product over its chunks, summed over the TPR lanes by a
//              butterfly (log2 TPR shuffles; every lane of the row then holds the score);
//   softmax    online, per row, identically in the row's lanes (lazy rescale as flash_attn);
//   O += P·V   each lane over its value chunks.
// One vec4 read from shared memory feeds 4·RM multiply-adds.
//
// Rows: as flash_attn.comp, the G = Hq/Hkv query heads of one KV head form G·Lq rows
// (g-major); workgroup (x, y, z) = (block of WG/TPR·RM rows, b·Hkv + kv head, key slice). The
// thread index is taken from the subgroup ids, so that the TPR lanes of a row are adjacent
// lanes of one subgroup whatever order a driver gives invocations.
//
// Constants (specialization; chosen by src/vulkan/flash.cpp): WG_SIZE, RM (rows per thread),
// BN (keys per shared-memory tile, a multiple of KB), TPR (a power of two dividing the subgroup
// size), DK, DV (padded head dims, multiples of 4·TPR), FEATURES. Built twice: K/V as f32, and
// with VKATTN_KV_HALF = 1 as 16-bit values (f16, or bf16 with VKATTN_KV_BF16 = 1: half the
// bytes per key), widened to f32 on the way into shared memory.
// Must match: src/cpu/reference.cpp (reference_attention), through the same row intervals as
// flash_attn.comp (visible_keys() of common.glsl, key_visible() in closed form).

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

#include "common.glsl"

#ifndef VKATTN_KV_HALF
#define VKATTN_KV_HALF 0
#endif

layout(constant_id = VKATTN_SPEC_WORKGROUP_SIZE) const uint WG_SIZE = 128;
layout(constant_id = VKATTN_SPEC_TILE_M) const uint RM = 2;
layout(constant_id = VKATTN_SPEC_TILE_N) const uint BN = 32;
layout(constant_id = VKATTN_SPEC_TILE_K) const uint TPR = 4;
layout(constant_id = VKATTN_SPEC_HEAD_DIM) const uint DK = 64;
layout(constant_id = VKATTN_SPEC_HEAD_DIM_V) const uint DV = 64;
layout(constant_id = VKATTN_SPEC_FEATURES) const uint FEATURES = 0;

layout(local_size_x_id = VKATTN_SPEC_WORKGROUP_SIZE, local_size_y = 1, local_size_z = 1) in;

const uint KB = 8u;                // keys per online-softmax step
const float RESCALE_SLACK = 8.0;   // as flash_attn.comp
const uint DK4 = DK / 4u;          // RGBA chunks of a K row, of a V row
const uint DV4 = DV / 4u;
const uint KC = DK4 / TPR;         // chunks of each q row / K row one lane owns
const uint VC = DV4 / TPR;         // chunks of each accumulator / V row one lane owns
const uint ROW_THREADS = WG_SIZE / TPR;  // threads with distinct rows

layout(std430, binding = 0) readonly buffer QBuffer { vec4 q_data[]; };
#if VKATTN_KV_HALF
// Four 16-bit values per uvec2 (f16, or bf16 with VKATTN_KV_BF16; unpack_kv2 of common.glsl).
layout(std430, binding = 1) readonly buffer KBuffer { uvec2 k_half[]; };
layout(std430, binding = 2) readonly buffer VBuffer { uvec2 v_half[]; };
vec4 widen(uvec2 w) { return vec4(unpack_kv2(w.x), unpack_kv2(w.y)); }
#define LOAD_K4(i) widen(k_half[i])
#define LOAD_V4(i) widen(v_half[i])
#else
layout(std430, binding = 1) readonly buffer KBuffer { vec4 k_data[]; };
layout(std430, binding = 2) readonly buffer VBuffer { vec4 v_data[]; };
#define LOAD_K4(i) k_data[i]
#define LOAD_V4(i) v_data[i]
#endif
layout(std430, binding = 3) readonly buffer MaskBuffer { float mask_data[]; };
layout(std430, binding = 4) readonly buffer LensBuffer { int kv_lens[]; };
layout(std430, binding = 5) writeonly buffer OBuffer { vec4 o_data[]; };
layout(std430, binding = 6) writeonly buffer LseBuffer { float lse_data[]; };

shared vec4 k_tile[BN * DK4];
shared vec4 v_tile[BN * DV4];
shared int s_lo_min;
shared int s_hi_max;

// Sum over the TPR lanes of a row (aligned groups of adjacent lanes), written out: the
// conditions are specialization constants that fold away.
float row_sum(float v) {
  if (TPR > 1u) v += subgroupShuffleXor(v, 1u);
  if (TPR > 2u) v += subgroupShuffleXor(v, 2u);
  if (TPR > 4u) v += subgroupShuffleXor(v, 4u);
  if (TPR > 8u) v += subgroupShuffleXor(v, 8u);
  if (TPR > 16u) v += subgroupShuffleXor(v, 16u);
  if (TPR > 32u) v += subgroupShuffleXor(v, 32u);
  return v;
}

void main() {
  const uint group = p.heads_q / p.heads_kv;
  const uint n_rows = group * p.len_q;
  const uint bkv = gl_WorkGroupID.y;
  const uint b = bkv / p.heads_kv;
  const uint kv_head = bkv % p.heads_kv;
  const uint kv_len = (p.flags & VKATTN_FLAG_KV_LENS) != 0u ? uint(kv_lens[b]) : p.len_kv;
  const uint rows_total = p.batch * p.heads_q * p.len_q;
  const uint thread = gl_SubgroupID * gl_SubgroupSize + gl_SubgroupInvocationID;
  const uint part = thread % TPR;  // = gl_SubgroupInvocationID % TPR: TPR divides the subgroup
  const uint row_thread = thread / TPR;

  if (thread == 0u) {
    s_lo_min = int(kv_len);
    s_hi_max = 0;
  }
  barrier();  // the initial bounds must be visible before any thread narrows them

  bool row_ok[RM];
  uint row_i[RM];
  uint row_h[RM];
  int row_lo[RM];  // visible keys of each row: [row_lo, row_hi); empty for padding rows
  int row_hi[RM];
  vec4 q[RM][KC];  // this lane's chunks of the row, scale folded in
  vec4 acc[RM][VC];
  float m[RM];
  float l[RM];
  int lo = int(kv_len);
  int hi = 0;
  [[unroll]] for (uint r = 0u; r < RM; ++r) {
    const uint row = gl_WorkGroupID.x * ROW_THREADS * RM + r * ROW_THREADS + row_thread;
    row_ok[r] = row < n_rows;
    const uint g = row_ok[r] ? row / p.len_q : 0u;
    row_i[r] = row_ok[r] ? row % p.len_q : 0u;
    row_h[r] = kv_head * group + g;
    m[r] = NEG_INF;
    l[r] = 0.0;
    const uint q_base = ((b * p.heads_q + row_h[r]) * p.len_q + row_i[r]) * DK4;
    [[unroll]] for (uint c = 0u; c < KC; ++c)
      q[r][c] = row_ok[r] ? q_data[q_base + c * TPR + part] * p.scale : vec4(0.0);
    [[unroll]] for (uint c = 0u; c < VC; ++c) acc[r][c] = vec4(0.0);
    // Padding rows see nothing (an empty interval does not widen the union).
    const ivec2 keys = row_ok[r] ? visible_keys(row_i[r], kv_len) : ivec2(int(kv_len), 0);
    row_lo[r] = keys.x;
    row_hi[r] = keys.y;
    lo = min(lo, keys.x);
    hi = max(hi, keys.y);
  }
  atomicMin(s_lo_min, lo);
  atomicMax(s_hi_max, hi);
  barrier();  // every row's bounds are in shared memory
  lo = s_lo_min;
  hi = s_hi_max;
  const ivec2 slice = key_slice(lo, hi, int(BN));  // split-KV: this workgroup's keys
  lo = slice.x;
  hi = slice.y;

  const uint kv_base = bkv * p.kv_stride;
  for (int j0 = lo; j0 < hi; j0 += int(BN)) {
    barrier();  // the previous tile has been read by every thread
    // Tail keys repeat the last stored row (in bounds); the row intervals mask them.
    for (uint e = thread; e < BN * DK4; e += WG_SIZE) {
      const uint key = kv_base + min(uint(j0) + e / DK4, p.len_kv - 1u);
      k_tile[e] = LOAD_K4(key * DK4 + e % DK4);
    }
    for (uint e = thread; e < BN * DV4; e += WG_SIZE) {
      const uint key = kv_base + min(uint(j0) + e / DV4, p.len_kv - 1u);
      v_tile[e] = LOAD_V4(key * DV4 + e % DV4);
    }
    barrier();  // the tile is in shared memory

    for (uint t0 = 0u; t0 < BN; t0 += KB) {
      float s[RM][KB];
      [[unroll]] for (uint t = 0u; t < KB; ++t) {
        [[unroll]] for (uint r = 0u; r < RM; ++r) s[r][t] = 0.0;
        [[unroll]] for (uint c = 0u; c < KC; ++c) {
          const vec4 k = k_tile[(t0 + t) * DK4 + c * TPR + part];
          [[unroll]] for (uint r = 0u; r < RM; ++r) s[r][t] += dot(q[r][c], k);
        }
        [[unroll]] for (uint r = 0u; r < RM; ++r) s[r][t] = row_sum(s[r][t]);
      }
      [[unroll]] for (uint r = 0u; r < RM; ++r) {
        float block_max = NEG_INF;
        [[unroll]] for (uint t = 0u; t < KB; ++t) {
          const int j = j0 + int(t0 + t);
          float x = s[r][t];
          if ((FEATURES & VKATTN_FEATURE_SOFTCAP) != 0u) x = p.softcap * tanh(x / p.softcap);
          if ((FEATURES & VKATTN_FEATURE_MASK) != 0u)
            x += mask_data[mask_offset(b, row_h[r], row_i[r], min(uint(j), p.len_kv - 1u))];
          x = j >= row_lo[r] && j < row_hi[r] ? x : NEG_INF;
          s[r][t] = x;
          block_max = max(block_max, x);
        }
        // Lazy rescale (see flash_attn.comp); the row's lanes take the same branch.
        const bool move = block_max > m[r] + RESCALE_SLACK;
        const float m_new = move ? block_max : m[r];
        const float m_use = m_new == NEG_INF ? 0.0 : m_new;  // nothing visible yet: p = 0
        if (move) {
          const float correction = exp(m[r] - m_use);
          l[r] *= correction;
          [[unroll]] for (uint c = 0u; c < VC; ++c) acc[r][c] *= correction;
        }
        [[unroll]] for (uint t = 0u; t < KB; ++t) {
          s[r][t] = exp(s[r][t] - m_use);
          l[r] += s[r][t];
        }
        m[r] = m_new;
      }
      [[unroll]] for (uint t = 0u; t < KB; ++t)
        [[unroll]] for (uint c = 0u; c < VC; ++c) {
          const vec4 v = v_tile[(t0 + t) * DV4 + c * TPR + part];
          [[unroll]] for (uint r = 0u; r < RM; ++r) acc[r][c] += s[r][t] * v;
        }
    }
  }

  [[unroll]] for (uint r = 0u; r < RM; ++r) {
    if (!row_ok[r]) continue;
    const uint out_row =
        gl_WorkGroupID.z * rows_total + (b * p.heads_q + row_h[r]) * p.len_q + row_i[r];
    // A row that saw no key: output 0 and LSE -inf (never NaN).
    const float inv = l[r] > 0.0 ? 1.0 / l[r] : 0.0;
    [[unroll]] for (uint c = 0u; c < VC; ++c)
      o_data[out_row * DV4 + c * TPR + part] = acc[r][c] * inv;
    if (part == 0u) lse_data[out_row] = l[r] > 0.0 ? m[r] + log(l[r]) : NEG_INF;
  }
}
