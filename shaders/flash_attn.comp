#version 450
// SPDX-License-Identifier: MIT
//
// Fused attention (FlashAttention-2 style), one dispatch, O(L) memory; also the partial
// pass of split-KV decode.
//
// Algorithm: each invocation owns ROWS query rows and keeps them, their output accumulator
// and running (max, sum) in registers (head-dim loops fully unrolled, so every index is
// static); the workgroup streams keys in blocks of KEY_BLOCK: scores for the block, an
// online-softmax update (rescale the accumulator by exp(m_old - m_new), skipped when no
// lane's max moved), then acc += p·V. Every key is needed by every invocation. With
// SHUFFLE_LOADS (CPU drivers such as lavapipe, whose subgroup is one SIMD register) a
// subgroup reads each K/V row cooperatively, one element per lane, and broadcasts the
// elements with subgroupShuffle: one memory access feeds SG·ROWS FMAs. Otherwise every
// invocation loads the (workgroup-uniform) element itself and GPUs serve it from cache.
// No shared-memory staging or barriers in the key loop.
//
// Rows: all query heads sharing one KV head (GQA group G = Hq/Hkv) form one row space of
// G·Lq rows (g-major), so one K/V stream serves the whole group. Workgroup (x, y, z) =
// (block of WG_SIZE·ROWS rows, b·Hkv + kv head, key split). With gl_NumWorkGroups.z > 1 the
// visible key range is cut into that many block-aligned slices and each writes a normalised
// partial output and LSE at slot z; combine.comp merges them.
//
// Bindings: 0 Q [B,Hq,Lq,DK] f32, 1 K [B,Hkv,Lkv,DK], 2 V [B,Hkv,Lkv,DV], 3 additive mask
// (f32, broadcast strides in push constants), 4 kv_lens int32 [B], 5 O [splits,B,Hq,Lq,DV],
// 6 LSE [splits,B,Hq,Lq]. Head dims are padded with zeros to DK/DV (multiples of SG) on
// upload, so the loops need no bounds checks. Only the key loop is a real loop: it counts
// once per block against llvmpipe's 65,535-iteration budget per invocation, which the
// planner respects by splitting long key ranges. KEY_BLOCK stays small (1-2): the unrolled
// body grows with DK·KEY_BLOCK·ROWS and LLVM's compile time with it.
// Constants: WG_SIZE, ROWS, KEY_BLOCK, SG (subgroup width for shared loads; DK, DV are
// multiples of it), SHUFFLE_LOADS, DK, DV (specialization; chosen by src/vulkan/flash.cpp).
// Must match: src/cpu/reference.cpp (reference_attention), via key_visible() in common.glsl.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_vote : require

#include "common.glsl"

layout(constant_id = VKATTN_SPEC_WORKGROUP_SIZE) const uint WG_SIZE = 8;
layout(constant_id = VKATTN_SPEC_TILE_M) const uint ROWS = 2;
layout(constant_id = VKATTN_SPEC_TILE_N) const uint KEY_BLOCK = 8;
layout(constant_id = VKATTN_SPEC_TILE_K) const uint SG = 8;
layout(constant_id = VKATTN_SPEC_SPLIT) const bool SHUFFLE_LOADS = true;
layout(constant_id = VKATTN_SPEC_HEAD_DIM) const uint DK = 64;
layout(constant_id = VKATTN_SPEC_HEAD_DIM_V) const uint DV = 64;

layout(local_size_x_id = VKATTN_SPEC_WORKGROUP_SIZE, local_size_y = 1, local_size_z = 1) in;

layout(std430, binding = 0) readonly buffer QBuffer { float q_data[]; };
#ifdef VKATTN_TEXEL
// K and V as uniform texel buffers (R32_SFLOAT): CPU drivers fetch texels with vector
// gathers, where storage-buffer reads go lane by lane (measured on llvmpipe 22.3).
layout(binding = 1) uniform samplerBuffer k_tex;
layout(binding = 2) uniform samplerBuffer v_tex;
#define LOAD_K(i) texelFetch(k_tex, int(i)).r
#define LOAD_V(i) texelFetch(v_tex, int(i)).r
#else
layout(std430, binding = 1) readonly buffer KBuffer { float k_data[]; };
layout(std430, binding = 2) readonly buffer VBuffer { float v_data[]; };
#define LOAD_K(i) k_data[i]
#define LOAD_V(i) v_data[i]
#endif
layout(std430, binding = 3) readonly buffer MaskBuffer { float mask_data[]; };
layout(std430, binding = 4) readonly buffer LensBuffer { int kv_lens[]; };
layout(std430, binding = 5) writeonly buffer OBuffer { float o_data[]; };
layout(std430, binding = 6) writeonly buffer LseBuffer { float lse_data[]; };

// Workgroup-wide key bounds: [lo_min, hi_max) is every key some row may see; inside
// [lo_max, hi_min) every row sees every key, so per-element checks can be skipped.
shared int s_lo_min;
shared int s_hi_max;
shared int s_lo_max;
shared int s_hi_min;

void main() {
  const uint group = p.heads_q / p.heads_kv;
  const uint n_rows = group * p.len_q;
  const uint bkv = gl_WorkGroupID.y;
  const uint b = bkv / p.heads_kv;
  const uint kv_head = bkv % p.heads_kv;
  const uint kv_len = (p.flags & VKATTN_FLAG_KV_LENS) != 0u ? uint(kv_lens[b]) : p.len_kv;
  const bool has_mask = (p.flags & VKATTN_FLAG_MASK) != 0u;
  const uint rows_total = p.batch * p.heads_q * p.len_q;

  bool row_ok[ROWS];
  uint row_i[ROWS];
  uint row_h[ROWS];
  float q[ROWS][DK];
  float acc[ROWS][DV];
  float m[ROWS];
  float l[ROWS];

  if (gl_LocalInvocationIndex == 0u) {
    s_lo_min = int(kv_len);
    s_hi_max = 0;
    s_lo_max = 0;
    s_hi_min = int(kv_len);
  }
  barrier();  // the initial bounds must be visible before any invocation narrows them

  const uint base = gl_WorkGroupID.x * WG_SIZE * ROWS + gl_LocalInvocationIndex;
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    const uint row = base + r * WG_SIZE;
    row_ok[r] = row < n_rows;
    const uint g = row_ok[r] ? row / p.len_q : 0u;
    row_i[r] = row_ok[r] ? row % p.len_q : 0u;
    row_h[r] = kv_head * group + g;
    m[r] = NEG_INF;
    l[r] = 0.0;
    const uint q_base = ((b * p.heads_q + row_h[r]) * p.len_q + row_i[r]) * DK;
    // Scale folded into q: one multiply per element instead of one per score.
    [[unroll]] for (uint d = 0u; d < DK; ++d) q[r][d] = row_ok[r] ? q_data[q_base + d] * p.scale : 0.0;
    [[unroll]] for (uint d = 0u; d < DV; ++d) acc[r][d] = 0.0;
    if (row_ok[r]) {
      // Visible keys of this row: the interval key_visible() allows.
      int diag = int(row_i[r]);
      if (p.causal != VKATTN_CAUSAL_TOP_LEFT) diag += int(kv_len) - int(p.len_q);
      int lo = 0;
      int hi = int(kv_len);
      if (p.causal != VKATTN_CAUSAL_NONE) hi = min(hi, diag + 1);
      if (p.window_right >= 0) hi = min(hi, diag + p.window_right + 1);
      if (p.window_left >= 0) lo = max(lo, diag - p.window_left);
      if (lo >= hi) { lo = int(kv_len); hi = 0; }  // empty row: must not widen the union
      atomicMin(s_lo_min, lo);
      atomicMax(s_hi_max, hi);
      atomicMax(s_lo_max, lo);
      atomicMin(s_hi_min, hi);
    }
  }
  barrier();  // all rows' bounds are in shared memory

  int lo = s_lo_min;
  int hi = s_hi_max;
  const int full_lo = s_lo_max;
  const int full_hi = s_hi_min;
  if (gl_NumWorkGroups.z > 1u && hi > lo) {
    // Block-aligned slice of the visible range for this split.
    const int blocks = (hi - lo + int(KEY_BLOCK) - 1) / int(KEY_BLOCK);
    const int per_split = (blocks + int(gl_NumWorkGroups.z) - 1) / int(gl_NumWorkGroups.z);
    const int begin = lo + int(gl_WorkGroupID.z) * per_split * int(KEY_BLOCK);
    hi = min(hi, begin + per_split * int(KEY_BLOCK));
    lo = begin;
  }

  const uint kv_base = bkv * p.kv_stride;
  const uint lane = SHUFFLE_LOADS ? gl_SubgroupInvocationID : 0u;
  for (int j0 = lo; j0 < hi; j0 += int(KEY_BLOCK)) {
    const bool all_visible = j0 >= full_lo && j0 + int(KEY_BLOCK) <= full_hi;
    float s[ROWS][KEY_BLOCK];
    [[unroll]] for (uint r = 0u; r < ROWS; ++r)
      [[unroll]] for (uint t = 0u; t < KEY_BLOCK; ++t) s[r][t] = 0.0;
    // d outer, keys and rows inner: ROWS·KEY_BLOCK independent FMA chains per step.
    [[unroll]] for (uint t = 0u; t < KEY_BLOCK; ++t) {
      const uint row = (kv_base + min(uint(j0) + t, p.len_kv - 1u)) * DK;  // tail keys are masked below
      [[unroll]] for (uint d0 = 0u; d0 < DK; d0 += SG) {
        const float shared_k = SHUFFLE_LOADS ? LOAD_K(row + d0 + lane) : 0.0;
        [[unroll]] for (uint dd = 0u; dd < SG; ++dd) {
          const float kd = SHUFFLE_LOADS ? subgroupShuffle(shared_k, dd) : LOAD_K(row + d0 + dd);
          [[unroll]] for (uint r = 0u; r < ROWS; ++r) s[r][t] += q[r][d0 + dd] * kd;
        }
      }
    }
    [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
      float block_max = NEG_INF;
      [[unroll]] for (uint t = 0u; t < KEY_BLOCK; ++t) {
        const uint j = uint(j0) + t;
        float x = apply_softcap(s[r][t]);
        if (has_mask && j < p.len_kv) x += mask_data[mask_offset(b, row_h[r], row_i[r], j)];
        if (!row_ok[r] || (!all_visible && !key_visible(row_i[r], j, kv_len))) x = NEG_INF;
        s[r][t] = x;
        block_max = max(block_max, x);
      }
      const float m_new = max(m[r], block_max);
      if (m_new == NEG_INF) {
        // Nothing visible yet: p = 0 for the whole block, and exp(-inf - -inf) would be NaN.
        [[unroll]] for (uint t = 0u; t < KEY_BLOCK; ++t) s[r][t] = 0.0;
      } else {
        const float correction = exp(m[r] - m_new);
        l[r] *= correction;
        // The running max rarely moves after the first keys: skip the rescale when no lane
        // of the subgroup needs it (a uniform branch, so no masked execution of the body).
        if (subgroupAny(correction != 1.0)) {
          [[unroll]] for (uint d = 0u; d < DV; ++d) acc[r][d] *= correction;
        }
        [[unroll]] for (uint t = 0u; t < KEY_BLOCK; ++t) {
          s[r][t] = exp(s[r][t] - m_new);
          l[r] += s[r][t];
        }
        m[r] = m_new;
      }
    }
    [[unroll]] for (uint t = 0u; t < KEY_BLOCK; ++t) {
      const uint row = (kv_base + min(uint(j0) + t, p.len_kv - 1u)) * DV;
      [[unroll]] for (uint d0 = 0u; d0 < DV; d0 += SG) {
        const float shared_v = SHUFFLE_LOADS ? LOAD_V(row + d0 + lane) : 0.0;
        [[unroll]] for (uint dd = 0u; dd < SG; ++dd) {
          const float vd = SHUFFLE_LOADS ? subgroupShuffle(shared_v, dd) : LOAD_V(row + d0 + dd);
          [[unroll]] for (uint r = 0u; r < ROWS; ++r) acc[r][d0 + dd] += s[r][t] * vd;
        }
      }
    }
  }

  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    if (!row_ok[r]) continue;
    const uint out_row = gl_WorkGroupID.z * rows_total + (b * p.heads_q + row_h[r]) * p.len_q + row_i[r];
    // A row that saw no key: output 0 and LSE -inf (never NaN).
    const float inv = l[r] > 0.0 ? 1.0 / l[r] : 0.0;
    [[unroll]] for (uint d = 0u; d < DV; ++d) o_data[out_row * DV + d] = acc[r][d] * inv;
    lse_data[out_row] = l[r] > 0.0 ? m[r] + log(l[r]) : NEG_INF;
  }
}
