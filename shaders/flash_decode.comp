#version 450
// SPDX-License-Identifier: MIT
//
// Split-KV decode partial pass for CPU drivers (lavapipe): few query rows, many keys.
//
// Algorithm: a workgroup is one subgroup of WG_SIZE lanes and owns ROWS query rows of one
// KV head; the lanes split the head dims (lane l owns the vec4 columns l, l + WG_SIZE, ...
// of q, K, V and the accumulator), so each invocation keeps only ROWS·(DK + DV)/WG_SIZE
// floats and the unrolled body stays small (fast to compile). Per key: vec4 loads of the
// lane's K slice, partial dots, a sum over the lanes (uniform score), the online-softmax
// update (no branch on "max unchanged": llvmpipe executes both sides of a branch), then
// acc += p·V slice. Every K/V element is loaded by exactly one lane.
// Costs measured on lavapipe (Mesa 22.3, LLVM 15): an SSBO load is a scalar loop over the
// lanes (~25 cycles per lane element, whatever the width), which bounds this kernel;
// subgroupAdd is a loop too and cost ~45% of the time, broadcasts from constant lanes
// (extract + splat) ~15%.
//
// Rows: as in flash_attn.comp, the G = Hq/Hkv query heads of one KV head form G·Lq rows
// (g-major). Workgroup (x, y, z) = (block of ROWS rows, b·Hkv + kv head, key split); with
// gl_NumWorkGroups.z > 1 each split writes a normalised partial output and LSE at slot z
// for combine.comp. Bindings and layouts equal flash_attn.comp's (K/V read as vec4). The
// key loop is the only real loop (once per key), kept under llvmpipe's loop budget by the
// planner (src/vulkan/flash.cpp).
// Constants: WG_SIZE (= subgroup size), ROWS, DK, DV (padded head dims, multiples of
// 4·WG_SIZE).
// Must match: src/cpu/reference.cpp (reference_attention), via key_visible() in common.glsl.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require

#include "common.glsl"

layout(constant_id = VKATTN_SPEC_WORKGROUP_SIZE) const uint WG_SIZE = 8;
layout(constant_id = VKATTN_SPEC_TILE_M) const uint ROWS = 4;
layout(constant_id = VKATTN_SPEC_HEAD_DIM) const uint DK = 64;
layout(constant_id = VKATTN_SPEC_HEAD_DIM_V) const uint DV = 64;

layout(local_size_x_id = VKATTN_SPEC_WORKGROUP_SIZE, local_size_y = 1, local_size_z = 1) in;

layout(std430, binding = 0) readonly buffer QBuffer { float q_data[]; };
layout(std430, binding = 1) readonly buffer KBuffer { vec4 k_data[]; };
layout(std430, binding = 2) readonly buffer VBuffer { vec4 v_data[]; };
layout(std430, binding = 3) readonly buffer MaskBuffer { float mask_data[]; };
layout(std430, binding = 4) readonly buffer LensBuffer { int kv_lens[]; };
layout(std430, binding = 5) writeonly buffer OBuffer { float o_data[]; };
layout(std430, binding = 6) writeonly buffer LseBuffer { float lse_data[]; };

const uint DK4 = DK / 4u;  // vec4 columns
const uint DV4 = DV / 4u;
const uint CK = DK4 / WG_SIZE;  // vec4 columns per lane
const uint CV = DV4 / WG_SIZE;

void main() {
  const uint group = p.heads_q / p.heads_kv;
  const uint n_rows = group * p.len_q;
  const uint bkv = gl_WorkGroupID.y;
  const uint b = bkv / p.heads_kv;
  const uint kv_head = bkv % p.heads_kv;
  const uint kv_len = (p.flags & VKATTN_FLAG_KV_LENS) != 0u ? uint(kv_lens[b]) : p.len_kv;
  const bool has_mask = (p.flags & VKATTN_FLAG_MASK) != 0u;
  const uint rows_total = p.batch * p.heads_q * p.len_q;
  const uint lane = gl_SubgroupInvocationID;

  bool row_ok[ROWS];
  uint row_i[ROWS];
  uint row_h[ROWS];
  vec4 q[ROWS][CK];
  vec4 acc[ROWS][CV];
  float m[ROWS];
  float l[ROWS];

  // The rows are the same in every lane, so the union of their visible key intervals needs
  // no shared memory.
  int lo = int(kv_len);
  int hi = 0;
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    const uint row = gl_WorkGroupID.x * ROWS + r;
    row_ok[r] = row < n_rows;
    const uint g = row_ok[r] ? row / p.len_q : 0u;
    row_i[r] = row_ok[r] ? row % p.len_q : 0u;
    row_h[r] = kv_head * group + g;
    m[r] = NEG_INF;
    l[r] = 0.0;
    const uint q_base = ((b * p.heads_q + row_h[r]) * p.len_q + row_i[r]) * DK;
    // Scale folded into q: one multiply per element instead of one per score.
    [[unroll]] for (uint c = 0u; c < CK; ++c) {
      const uint e = q_base + 4u * (c * WG_SIZE + lane);
      q[r][c] = row_ok[r] ? vec4(q_data[e], q_data[e + 1u], q_data[e + 2u], q_data[e + 3u]) * p.scale : vec4(0.0);
    }
    [[unroll]] for (uint c = 0u; c < CV; ++c) acc[r][c] = vec4(0.0);
    if (row_ok[r]) {
      int diag = int(row_i[r]);
      if (p.causal != VKATTN_CAUSAL_TOP_LEFT) diag += int(kv_len) - int(p.len_q);
      int rlo = 0;
      int rhi = int(kv_len);
      if (p.causal != VKATTN_CAUSAL_NONE) rhi = min(rhi, diag + 1);
      if (p.window_right >= 0) rhi = min(rhi, diag + p.window_right + 1);
      if (p.window_left >= 0) rlo = max(rlo, diag - p.window_left);
      if (rlo < rhi) {  // an empty row must not widen the union
        lo = min(lo, rlo);
        hi = max(hi, rhi);
      }
    }
  }

  if (gl_NumWorkGroups.z > 1u && hi > lo) {
    // Contiguous slice of the visible range for this split.
    const int per_split = (hi - lo + int(gl_NumWorkGroups.z) - 1) / int(gl_NumWorkGroups.z);
    const int begin = lo + int(gl_WorkGroupID.z) * per_split;
    hi = min(hi, begin + per_split);
    lo = begin;
  }

  const uint kv_base = bkv * p.kv_stride;
  for (int j = lo; j < hi; ++j) {
    const uint kj = uint(j);
    const uint k_row = (kv_base + kj) * DK4 + lane;
    const uint v_row = (kv_base + kj) * DV4 + lane;
    vec4 part[ROWS];
    [[unroll]] for (uint r = 0u; r < ROWS; ++r) part[r] = vec4(0.0);
    [[unroll]] for (uint c = 0u; c < CK; ++c) {
      const vec4 kd = k_data[k_row + c * WG_SIZE];
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) part[r] += q[r][c] * kd;
    }
    float p_r[ROWS];
    [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
      // Sum over the lanes by broadcasts from constant lanes (lanes >= WG_SIZE fold away):
      // on llvmpipe each is an extract and a splat, subgroupAdd a loop over the lanes.
      const float own = part[r].x + part[r].y + part[r].z + part[r].w;
      float dot = 0.0;
#define VKATTN_LANE(i) if (WG_SIZE > i) dot += subgroupBroadcast(own, i)
      VKATTN_LANE(0u); VKATTN_LANE(1u); VKATTN_LANE(2u); VKATTN_LANE(3u);
      VKATTN_LANE(4u); VKATTN_LANE(5u); VKATTN_LANE(6u); VKATTN_LANE(7u);
      VKATTN_LANE(8u); VKATTN_LANE(9u); VKATTN_LANE(10u); VKATTN_LANE(11u);
      VKATTN_LANE(12u); VKATTN_LANE(13u); VKATTN_LANE(14u); VKATTN_LANE(15u);
#undef VKATTN_LANE
      float x = apply_softcap(dot);
      if (has_mask && kj < p.len_kv) x += mask_data[mask_offset(b, row_h[r], row_i[r], kj)];
      if (!row_ok[r] || !key_visible(row_i[r], kj, kv_len)) x = NEG_INF;
      const float m_new = max(m[r], x);
      // exp(-inf - -inf) would be NaN: nothing visible yet keeps everything at zero.
      const float correction = m_new == NEG_INF ? 1.0 : exp(m[r] - m_new);
      p_r[r] = x == NEG_INF ? 0.0 : exp(x - m_new);
      l[r] = l[r] * correction + p_r[r];
      m[r] = m_new;
      [[unroll]] for (uint c = 0u; c < CV; ++c) acc[r][c] *= correction;
    }
    [[unroll]] for (uint c = 0u; c < CV; ++c) {
      const vec4 vd = v_data[v_row + c * WG_SIZE];
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) acc[r][c] += p_r[r] * vd;
    }
  }

  // m and l are uniform (every lane computed them from the same scores); each lane writes
  // its own columns.
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    if (!row_ok[r]) continue;
    const uint out_row = gl_WorkGroupID.z * rows_total + (b * p.heads_q + row_h[r]) * p.len_q + row_i[r];
    const float inv = l[r] > 0.0 ? 1.0 / l[r] : 0.0;  // a row that saw no key: 0, LSE -inf
    [[unroll]] for (uint c = 0u; c < CV; ++c) {
      const vec4 o = acc[r][c] * inv;
      const uint e = out_row * DV + 4u * (c * WG_SIZE + lane);
      o_data[e] = o.x;
      o_data[e + 1u] = o.y;
      o_data[e + 2u] = o.z;
      o_data[e + 3u] = o.w;
    }
    if (lane == 0u) lse_data[out_row] = l[r] > 0.0 ? m[r] + log(l[r]) : NEG_INF;
  }
}
