#version 450
// SPDX-License-Identifier: MIT
//
// Fused attention for few query rows per KV head on CPU drivers (decode: at most half as many
// rows per KV head as the subgroup has lanes), one subgroup per workgroup; also the partial
// pass of split-KV decode. Same bindings, push constants, row order, outputs and key slicing
// as flash_attn.comp, which handles every other shape.
//
// Why a second kernel: flash_attn.comp gives each lane its own query rows and broadcasts every
// K/V element to them with a shuffle, one shuffle per multiply-add; with 1-4 rows per KV head
// the surplus lanes split the head dim and the shuffles stay. Here every lane works on all
// the rows (at most SG/2, uniform) over its own slice of the head dim: lane l owns texel l of
// each 4·SG-float chunk, which is what it fetches from K and V rows anyway, so neither product
// shuffles per element:
//   S = Q·Kᵀ   per key, each lane a partial dot product over its dims for every row; a
//              reduce-scatter butterfly then leaves lane t the full scores of key j0+t;
//   softmax    lanes over keys: one exp per row per block, the block max by a butterfly;
//   O += P·V   lanes over their value dims; p of key t broadcast once per row.
// K and V are read key after key (cooperative RGBA32F texel fetches, the order CPU prefetchers
// follow; lanes over keys for Q·Kᵀ instead gathered 8 rows per fetch and ran 40% slower).
// Measured on lavapipe: GQA 4:1 decode over 8192 cached keys, D=128, 20% less CPU time per
// call than the head-dim split of flash_attn.comp (docs/performance.md). Online softmax as
// in flash_attn.comp: lazy reference max (moved only when a block's
// max exceeds it by RESCALE_SLACK, exact either way), fast_exp, no data-dependent branches
// (CPU drivers run every branch body), no barriers (a shader with barriers runs as a
// coroutine on llvmpipe). The running sum stays per lane, one partial per key slot.
//
// Constants: SG (= workgroup size = subgroup size = keys per step), ROWS (query rows per
// workgroup), DK, DV (padded head dims, multiples of 4·SG), FEATURES, WORK_QUEUE
// (specialization; chosen by src/vulkan/flash.cpp). Uniform texel buffers only: Q RGBA32F;
// K and V RGBA32F, RGBA16F (f16 K/V, widened by the view), or with VKATTN_KV_PACKED = 1
// (flash_decode_kv_packed) f16 K/V viewed as RGBA32UI, 8 halves a texel: the fetches are
// what bounds this kernel on llvmpipe (out-of-line calls), and that halves them: decode over
// an f16 cache 16-19% faster than through RGBA16F, level with f32 (docs/performance.md). bf16
// K/V the same way, with VKATTN_KV_BF16 = 1 as well (flash_decode_kv_bf16): no texel format
// widens bf16.
// Must match: src/cpu/reference.cpp (reference_attention), through the same row intervals as
// flash_attn.comp (visible_keys() of common.glsl, key_visible() in closed form).

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

#include "common.glsl"

layout(constant_id = VKATTN_SPEC_WORKGROUP_SIZE) const uint SG = 8;
layout(constant_id = VKATTN_SPEC_TILE_M) const uint ROWS = 4;
layout(constant_id = VKATTN_SPEC_HEAD_DIM) const uint DK = 128;
layout(constant_id = VKATTN_SPEC_HEAD_DIM_V) const uint DV = 128;
layout(constant_id = VKATTN_SPEC_FEATURES) const uint FEATURES = 0;

layout(local_size_x_id = VKATTN_SPEC_WORKGROUP_SIZE, local_size_y = 1, local_size_z = 1) in;

const float RESCALE_SLACK = 8.0;  // as flash_attn.comp
#ifndef VKATTN_KV_PACKED
#define VKATTN_KV_PACKED 0  // K/V texels of 4 floats (RGBA32F, or RGBA16F widened by the view)
#endif
#if VKATTN_KV_PACKED
const uint TW = 8u;  // 16-bit K/V seen as RGBA32UI: 8 values a texel, half the fetches of RGBA16F
#else
const uint TW = 4u;
#endif
const uint K_TEXELS = DK / TW / SG;  // K/V texels of one K row each lane reads
const uint V_TEXELS = DV / TW / SG;  // the same for V
const uint OWN_K = TW * K_TEXELS;    // head dims each lane owns: those of texel c·SG + lane
const uint OWN_V = TW * V_TEXELS;

layout(binding = 0) uniform samplerBuffer q_tex;
#if VKATTN_KV_PACKED
layout(binding = 1) uniform usamplerBuffer k_tex;
layout(binding = 2) uniform usamplerBuffer v_tex;
#else
layout(binding = 1) uniform samplerBuffer k_tex;
layout(binding = 2) uniform samplerBuffer v_tex;
#endif
layout(std430, binding = 3) readonly buffer MaskBuffer { float mask_data[]; };
layout(std430, binding = 4) readonly buffer LensBuffer { int kv_lens[]; };
layout(std430, binding = 5) writeonly buffer OBuffer { float o_data[]; };
layout(std430, binding = 6) writeonly buffer LseBuffer { float lse_data[]; };

// The TW floats of K/V texel i.
#if VKATTN_KV_PACKED
void kv_texel(usamplerBuffer tex, int i, out float x[TW]) {
  const uvec4 u = texelFetch(tex, i);
  [[unroll]] for (uint e = 0u; e < 4u; ++e) {
    const vec2 h = unpack_kv2(u[e]);
    x[2u * e] = h.x;
    x[2u * e + 1u] = h.y;
  }
}
#else
void kv_texel(samplerBuffer tex, int i, out float x[TW]) {
  const vec4 v = texelFetch(tex, i);
  [[unroll]] for (uint e = 0u; e < 4u; ++e) x[e] = v[e];
}
#endif

// Max and sum over the subgroup, as butterflies written out (spec-constant conditions fold
// away; a loop whose counter doubles is not unrolled by Mesa and would push the register
// arrays to scratch memory).
float lanes_max(float v) {
  if (SG > 1u) v = max(v, subgroupShuffleXor(v, 1u));
  if (SG > 2u) v = max(v, subgroupShuffleXor(v, 2u));
  if (SG > 4u) v = max(v, subgroupShuffleXor(v, 4u));
  if (SG > 8u) v = max(v, subgroupShuffleXor(v, 8u));
  return v;
}

float lanes_sum(float v) {
  if (SG > 1u) v += subgroupShuffleXor(v, 1u);
  if (SG > 2u) v += subgroupShuffleXor(v, 2u);
  if (SG > 4u) v += subgroupShuffleXor(v, 4u);
  if (SG > 8u) v += subgroupShuffleXor(v, 8u);
  return v;
}

// One step of the reduce-scatter below, over lanes K apart (a literal, so that every index
// is constant: a bound that depends on an outer unrolled counter was left a loop, and its
// arrays went to scratch memory, 5x slower).
#define REDUCE_SCATTER_STEP(K)                                         \
  if (SG > (K)) {                                                      \
    const bool upper = (lane & (K)) != 0u;                             \
    [[unroll]] for (uint t = 0u; t < (K); ++t) {                       \
      const float keep = upper ? part[r][t + (K)] : part[r][t];        \
      const float send = upper ? part[r][t] : part[r][t + (K)];        \
      part[r][t] = keep + subgroupShuffleXor(send, (K));               \
    }                                                                  \
  }

// One tile (work_queue.glsl): the ROWS rows of row block tile.x of one batch and KV head
// (tile.y) over key slice tile.z of `slices`.
void attend(uvec3 tile, uint slices) {
  const uint group = p.heads_q / p.heads_kv;
  const uint n_rows = group * p.len_q;
  const uint bkv = tile.y;
  const uint b = bkv / p.heads_kv;
  const uint kv_head = bkv % p.heads_kv;
  const uint kv_len = (p.flags & VKATTN_FLAG_KV_LENS) != 0u ? uint(kv_lens[b]) : p.len_kv;
  const uint rows_total = p.batch * p.heads_q * p.len_q;
  const uint lane = gl_SubgroupInvocationID;

  bool row_ok[ROWS];
  uint row_i[ROWS];
  uint row_h[ROWS];
  int row_lo[ROWS];        // visible keys of each row: [row_lo, row_hi); empty for padding rows
  int row_hi[ROWS];
  float q[ROWS][OWN_K];    // this lane's dims of every row (scale folded in)
  float acc[ROWS][OWN_V];  // this lane's value dims of every row
  float m[ROWS];           // uniform
  float l[ROWS];           // this lane's key slot's share of the sum
  int lo = int(kv_len);    // every key some row sees: [lo, hi)
  int hi = 0;
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    const uint row = tile.x * ROWS + r;
    row_ok[r] = row < n_rows;
    const uint g = row_ok[r] ? row / p.len_q : 0u;
    row_i[r] = row_ok[r] ? row % p.len_q : 0u;
    row_h[r] = kv_head * group + g;
    m[r] = NEG_INF;
    l[r] = 0.0;
    const uint q_texel = ((b * p.heads_q + row_h[r]) * p.len_q + row_i[r]) * (DK / 4u);
    [[unroll]] for (uint c = 0u; c < K_TEXELS; ++c)
      [[unroll]] for (uint h = 0u; h < TW / 4u; ++h) {  // Q is RGBA32F: TW/4 texels a K texel
        const vec4 x = texelFetch(q_tex, int(q_texel + (TW / 4u) * (c * SG + lane) + h));
        [[unroll]] for (uint e = 0u; e < 4u; ++e)
          q[r][TW * c + 4u * h + e] = row_ok[r] ? x[e] * p.scale : 0.0;
      }
    [[unroll]] for (uint d = 0u; d < OWN_V; ++d) acc[r][d] = 0.0;
    // Padding rows see nothing (an empty interval does not widen the union).
    const ivec2 keys = row_ok[r] ? visible_keys(row_i[r], kv_len) : ivec2(int(kv_len), 0);
    row_lo[r] = keys.x;
    row_hi[r] = keys.y;
    lo = min(lo, keys.x);
    hi = max(hi, keys.y);
  }
  const ivec2 slice = key_slice_of(lo, hi, int(SG), tile.z, slices);  // split-KV
  lo = slice.x;
  hi = slice.y;

  const uint kv_base = bkv * p.kv_stride;
  for (int j0 = lo; j0 < hi; j0 += int(SG)) {
    // Partial scores over this lane's dims, key after key, and the block's V rows (tail keys
    // repeat the last stored row; they are masked below).
    float part[ROWS][SG];
    float v_rows[SG][OWN_V];
    [[unroll]] for (uint t = 0u; t < SG; ++t) {
      const uint key_row = kv_base + min(uint(j0) + t, p.len_kv - 1u);
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) part[r][t] = 0.0;
      [[unroll]] for (uint c = 0u; c < K_TEXELS; ++c) {
        float k[TW];
        kv_texel(k_tex, int(key_row * (DK / TW) + c * SG + lane), k);
        [[unroll]] for (uint r = 0u; r < ROWS; ++r)
          [[unroll]] for (uint e = 0u; e < TW; ++e) part[r][t] += q[r][TW * c + e] * k[e];
      }
      [[unroll]] for (uint c = 0u; c < V_TEXELS; ++c) {
        float v[TW];
        kv_texel(v_tex, int(key_row * (DV / TW) + c * SG + lane), v);
        [[unroll]] for (uint e = 0u; e < TW; ++e) v_rows[t][TW * c + e] = v[e];
      }
    }

    // Reduce-scatter: at the step over lanes k apart, a lane keeps the half of its partials
    // whose key index has bit k equal to its own lane's and adds its partner's copy of that
    // half; after log2(SG) steps lane t holds the full scores of key j0 + t. SG - 1 shuffles
    // per row. The steps are written out with constant bounds (see lanes_max).
    float prob[ROWS];
    float correction[ROWS];
    [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
      REDUCE_SCATTER_STEP(8u)
      REDUCE_SCATTER_STEP(4u)
      REDUCE_SCATTER_STEP(2u)
      REDUCE_SCATTER_STEP(1u)
      const int j = j0 + int(lane);
      float x = part[r][0];
      if ((FEATURES & VKATTN_FEATURE_SOFTCAP) != 0u) x = p.softcap * tanh(x / p.softcap);
      if ((FEATURES & VKATTN_FEATURE_MASK) != 0u)
        x += mask_data[mask_offset(b, row_h[r], row_i[r], min(uint(j), p.len_kv - 1u))];
      x = j >= row_lo[r] && j < row_hi[r] ? x : NEG_INF;
      const float block_max = lanes_max(x);
      const bool move = block_max > m[r] + RESCALE_SLACK;
      const float m_new = move ? block_max : m[r];
      // Nothing visible yet: subtract 0, not -inf (-inf - -inf is NaN); every p is then 0.
      const float m_use = m_new == NEG_INF ? 0.0 : m_new;
      correction[r] = move ? fast_exp(m[r] - m_use) : 1.0;
      prob[r] = fast_exp(x - m_use);
      l[r] = l[r] * correction[r] + prob[r];
      m[r] = m_new;
    }

    // acc = acc·correction + Σ_t p_t·V_t over this lane's value dims.
    [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
      float pt[SG];
      [[unroll]] for (uint t = 0u; t < SG; ++t) pt[t] = subgroupShuffle(prob[r], t);
      [[unroll]] for (uint d = 0u; d < OWN_V; ++d) {
        float a = acc[r][d] * correction[r];
        [[unroll]] for (uint t = 0u; t < SG; ++t) a += pt[t] * v_rows[t][d];
        acc[r][d] = a;
      }
    }
  }

  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    const float sum = lanes_sum(l[r]);
    if (!row_ok[r]) continue;
    const uint out_row = tile.z * rows_total + (b * p.heads_q + row_h[r]) * p.len_q + row_i[r];
    // A row that saw no key: output 0 and LSE -inf (never NaN).
    const float inv = sum > 0.0 ? 1.0 / sum : 0.0;
    [[unroll]] for (uint c = 0u; c < V_TEXELS; ++c)
      [[unroll]] for (uint e = 0u; e < TW; ++e)
        o_data[out_row * DV + TW * (c * SG + lane) + e] = acc[r][TW * c + e] * inv;
    if (lane == 0u) lse_data[out_row] = sum > 0.0 ? m[r] + log(sum) : NEG_INF;
  }
}

#include "work_queue.glsl"
