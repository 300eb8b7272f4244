#version 450
// SPDX-License-Identifier: MIT
//
// Fused attention (FlashAttention-2 style), one dispatch, O(L) memory; also the partial
// pass of split-KV decode. On CPU drivers, decode shapes whose head dims are whole RGBA
// chunks run flash_decode.comp instead (every lane on all the rows; see there).
//
// Algorithm: each invocation owns ROWS query rows and keeps them, their output accumulator
// and running (max, sum) in registers (head-dim loops fully unrolled, so every index is
// static); the workgroup streams keys in blocks of KEY_BLOCK: scores for the block, an
// online-softmax update, then acc += P·V with the head dim outermost (each accumulator
// element loaded and stored once per block). Every key is needed by every invocation. With
// SHUFFLE_LOADS (CPU drivers such as lavapipe, whose subgroup is one SIMD register) a
// subgroup reads each K/V chunk cooperatively, KV_WIDTH floats per lane, and broadcasts the
// elements with subgroupShuffle: one memory access feeds SG·ROWS FMAs. Otherwise every
// invocation loads the (workgroup-uniform) element itself and GPUs serve it from cache.
// No shared-memory staging or barriers in the key loop; on CPU drivers no barrier at all
// (the workgroup is one subgroup, and a shader with barriers runs as a coroutine there).
//
// The key loop has no data-dependent branches. llvmpipe executes the body of every branch,
// uniform or not, under a lane mask (measured: a never-taken uniform `if` around the mask
// and softcap code cost 40% of the kernel), so: mask and softcap are specialization
// constants (FEATURES); visibility is a select on each row's precomputed key interval; the
// online softmax uses a lazy reference max (moved only when a score exceeds it by
// RESCALE_SLACK, exact either way) and a short polynomial exp; the accumulator rescale sits
// behind a subgroupAny that GPUs skip, and on CPU drivers is a multiply folded into the
// P·V update (15% faster than the masked branch at D=128 on lavapipe).
//
// Rows: all query heads sharing one KV head (GQA group G = Hq/Hkv) form one row space of
// G·Lq rows (g-major), so one K/V stream serves the whole group. A tile (x, y, z) = (block of
// ROW_LANES·ROWS rows, b·Hkv + kv head, key slice) is the workgroup's id, or on CPU drivers
// taken from a work queue (work_queue.glsl). With more than one slice the visible key range
// is cut into that many block-aligned slices and each writes a normalised partial output and
// LSE at slot z; combine.comp merges them.
//
// Bindings: 0 Q [B,Hq,Lq,DK] f32, 1 K [B,Hkv,Lkv,DK], 2 V [B,Hkv,Lkv,DV] (storage buffers:
// f32, or 16-bit pairs in uints with VKATTN_KV_HALF = 1 (f16, or bf16 with VKATTN_KV_BF16 = 1:
// 16-bit KvCaches and f16 calls); or uniform texel
// buffers: K and V R32F/R16F with VKATTN_TEXEL = 1, Q, K and V RGBA32F (K and V RGBA16F for
// f16: the view's format widens) with VKATTN_TEXEL = 4, or 16-bit K and V as RGBA32UI (8
// values a texel) with VKATTN_KV_PACKED = 1 as well), 3 additive mask (f32,
// broadcast strides in push constants), 4 kv_lens int32 [B], 5 O [splits,B,Hq,Lq,DV],
// 6 LSE [splits,B,Hq,Lq], 7 the work queue's counter. Head dims are padded with zeros to
// DK/DV (multiples of SG, and of 4·SG for RGBA texels) on upload, so the loops need no bounds
// checks. Only the key loop is a real loop (and the work queue's tile loop): it counts once
// per block against llvmpipe's 65,535-iteration budget per invocation, which the planner
// respects by splitting long key ranges and capping the tiles a workgroup takes. The
// unrolled body grows with DK·KEY_BLOCK·ROWS and LLVM's compile time with it; the planner
// caps that. Constants: WG_SIZE, ROWS, KEY_BLOCK, SG (subgroup width for shared loads),
// SHUFFLE_LOADS, DK, DV, FEATURES, DIM_SPLIT, WORK_QUEUE (specialization; chosen by
// src/vulkan/flash.cpp).
// Must match: src/cpu/reference.cpp (reference_attention): the row intervals are
// visible_keys() of common.glsl, key_visible() in closed form.

#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_vote : require

#include "common.glsl"

#ifndef VKATTN_TEXEL
#define VKATTN_TEXEL 0  // K/V from storage buffers
#endif
#ifndef VKATTN_KV_HALF
#define VKATTN_KV_HALF 0  // storage-buffer K/V as f32
#endif
#ifndef VKATTN_KV_PACKED
#define VKATTN_KV_PACKED 0  // with VKATTN_TEXEL = 4: 16-bit K/V through RGBA32UI texels
#endif

layout(constant_id = VKATTN_SPEC_WORKGROUP_SIZE) const uint WG_SIZE = 8;
layout(constant_id = VKATTN_SPEC_TILE_M) const uint ROWS = 2;
layout(constant_id = VKATTN_SPEC_TILE_N) const uint KEY_BLOCK = 8;
layout(constant_id = VKATTN_SPEC_TILE_K) const uint SG = 8;
layout(constant_id = VKATTN_SPEC_SPLIT) const bool SHUFFLE_LOADS = true;
layout(constant_id = VKATTN_SPEC_HEAD_DIM) const uint DK = 64;
layout(constant_id = VKATTN_SPEC_HEAD_DIM_V) const uint DV = 64;
layout(constant_id = VKATTN_SPEC_FEATURES) const uint FEATURES = 0;
layout(constant_id = VKATTN_SPEC_DIM_SPLIT) const uint DIM_SPLIT = 1;

// DIM_SPLIT > 1 (shuffle loads only; decode, where a KV head has fewer rows than the
// subgroup has lanes): the lanes form DIM_SPLIT groups of SHARE that hold the same rows,
// each group owning a 1/DIM_SPLIT share of every head-dim chunk. Scores are partial dot
// products summed across the groups; the P·V accumulator is split between them. Every
// lane still reads one texel of the same key row, and every lane does useful work instead
// of the surplus lanes idling.
const uint ROW_LANES = WG_SIZE / DIM_SPLIT;  // invocations with distinct rows
const uint SHARE = SG / DIM_SPLIT;           // lanes of one group
const uint OWN_K = DK / DIM_SPLIT;           // head-dim elements a lane holds
const uint OWN_V = DV / DIM_SPLIT;

layout(local_size_x_id = VKATTN_SPEC_WORKGROUP_SIZE, local_size_y = 1, local_size_z = 1) in;

// Natural-log headroom of the lazy rescale: p <= exp(8) ~ 3e3 keeps the sums far from overflow.
const float RESCALE_SLACK = 8.0;

#if VKATTN_TEXEL == 4
// Q too: each invocation loads ROWS·DK floats once, which as lane-by-lane storage reads cost
// as much as 30 key blocks (~8% of a 512-key prefill on lavapipe).
layout(binding = 0) uniform samplerBuffer q_tex;
#define Q_WIDTH 4u
#define LOAD_Q(e) texelFetch(q_tex, int((e) / 4u))
#else
layout(std430, binding = 0) readonly buffer QBuffer { float q_data[]; };
#define Q_WIDTH 1u
#define LOAD_Q(e) vec4(q_data[e])
#endif
// K/V element loads. KV_VEC is what one lane fetches for a shuffle-shared chunk: KV_WIDTH
// consecutive floats; LOAD_K1/LOAD_V1 fetch one element (the GPU path, no sharing).
#if VKATTN_TEXEL == 4 && VKATTN_KV_PACKED
// 16-bit K/V (f16, or bf16 with VKATTN_KV_BF16) viewed as RGBA32UI: 8 values a lane per
// fetch, half the fetches of RGBA16F, and the only texel view bf16 has.
layout(binding = 1) uniform usamplerBuffer k_tex;
layout(binding = 2) uniform usamplerBuffer v_tex;
mat2x4 unpack8(uvec4 u) {
  return mat2x4(vec4(unpack_kv2(u.x), unpack_kv2(u.y)), vec4(unpack_kv2(u.z), unpack_kv2(u.w)));
}
#define KV_VEC mat2x4
#define KV_WIDTH 8u
#define LOAD_K(e) unpack8(texelFetch(k_tex, int((e) / 8u)))
#define LOAD_V(e) unpack8(texelFetch(v_tex, int((e) / 8u)))
#define COMPONENT(x, c) x[(c) / 4u][(c) % 4u]
#define LOAD_K1(e) 0.0
#define LOAD_V1(e) 0.0
#elif VKATTN_TEXEL == 4
// RGBA32F uniform texel buffers: CPU drivers fetch 4 floats per lane per texel with vector
// loads, where storage-buffer reads go lane by lane (measured on llvmpipe 22.3).
layout(binding = 1) uniform samplerBuffer k_tex;
layout(binding = 2) uniform samplerBuffer v_tex;
#define KV_VEC vec4
#define KV_WIDTH 4u
#define LOAD_K(e) texelFetch(k_tex, int((e) / 4u))
#define LOAD_V(e) texelFetch(v_tex, int((e) / 4u))
#define COMPONENT(x, c) x[c]
#define LOAD_K1(e) 0.0
#define LOAD_V1(e) 0.0
#elif VKATTN_TEXEL == 1
// R32F uniform texel buffers (head dims that are not multiples of 4 lanes' vec4s).
layout(binding = 1) uniform samplerBuffer k_tex;
layout(binding = 2) uniform samplerBuffer v_tex;
#define KV_VEC float
#define KV_WIDTH 1u
#define LOAD_K(e) texelFetch(k_tex, int(e)).r
#define LOAD_V(e) texelFetch(v_tex, int(e)).r
#define COMPONENT(x, c) x
#define LOAD_K1(e) LOAD_K(e)
#define LOAD_V1(e) LOAD_V(e)
#elif VKATTN_KV_HALF
// 16-bit K/V storage buffers (f16, or bf16 with VKATTN_KV_BF16), two values a uint
// (unpack_kv2 of common.glsl).
layout(std430, binding = 1) readonly buffer KBuffer { uint k_half[]; };
layout(std430, binding = 2) readonly buffer VBuffer { uint v_half[]; };
float half_at(uint word, uint e) {
  const vec2 pair = unpack_kv2(word);
  return (e & 1u) == 0u ? pair.x : pair.y;
}
#define KV_VEC float
#define KV_WIDTH 1u
#define LOAD_K(e) half_at(k_half[(e) >> 1u], (e))
#define LOAD_V(e) half_at(v_half[(e) >> 1u], (e))
#define COMPONENT(x, c) x
#define LOAD_K1(e) LOAD_K(e)
#define LOAD_V1(e) LOAD_V(e)
#else
layout(std430, binding = 1) readonly buffer KBuffer { float k_data[]; };
layout(std430, binding = 2) readonly buffer VBuffer { float v_data[]; };
#define KV_VEC float
#define KV_WIDTH 1u
#define LOAD_K(e) k_data[e]
#define LOAD_V(e) v_data[e]
#define COMPONENT(x, c) x
#define LOAD_K1(e) k_data[e]
#define LOAD_V1(e) v_data[e]
#endif
// Head-dim elements one cooperative load covers (every lane one KV_VEC), and the share of
// them each dim group uses.
const uint CHUNK_ALL = SG * KV_WIDTH;
const uint CHUNK = SHARE * KV_WIDTH;

// Element dd of this lane's group's share of a cooperatively loaded chunk x: fetched from
// the group lane that loaded it. One group: a constant lane (a broadcast on CPU drivers);
// groups of one lane: the lane's own load, no shuffle.
#define SHARED(x, dd) (SHARE == 1u ? COMPONENT(x, (dd) % KV_WIDTH) \
    : subgroupShuffle(COMPONENT(x, (dd) % KV_WIDTH), \
                      DIM_SPLIT == 1u ? (dd) / KV_WIDTH : share_base + (dd) / KV_WIDTH))

// Sum of v over the DIM_SPLIT groups (a butterfly over the lanes SHARE, 2·SHARE, ... apart).
// Written out rather than as a loop: the conditions are specialization constants that
// fold away, where a loop whose counter doubles is not unrolled and would keep the
// register arrays around it in memory.
float sum_groups(float v) {
  if (SHARE < SG) v += subgroupShuffleXor(v, SHARE);
  if (2u * SHARE < SG) v += subgroupShuffleXor(v, 2u * SHARE);
  if (4u * SHARE < SG) v += subgroupShuffleXor(v, 4u * SHARE);
  if (8u * SHARE < SG) v += subgroupShuffleXor(v, 8u * SHARE);
  return v;
}

layout(std430, binding = 3) readonly buffer MaskBuffer { float mask_data[]; };
layout(std430, binding = 4) readonly buffer LensBuffer { int kv_lens[]; };
layout(std430, binding = 5) writeonly buffer OBuffer { float o_data[]; };
layout(std430, binding = 6) writeonly buffer LseBuffer { float lse_data[]; };

// Workgroup-wide key bounds: [lo_min, hi_max) is every key some row may see. On GPUs through
// shared memory; on CPU drivers (SHUFFLE_LOADS: the workgroup is one subgroup) by butterflies,
// because a shader with barriers runs as a coroutine there and pays for it per workgroup.
shared int s_lo_min;
shared int s_hi_max;

int lanes_min(int v) {
  if (SG > 1u) v = min(v, subgroupShuffleXor(v, 1u));
  if (SG > 2u) v = min(v, subgroupShuffleXor(v, 2u));
  if (SG > 4u) v = min(v, subgroupShuffleXor(v, 4u));
  if (SG > 8u) v = min(v, subgroupShuffleXor(v, 8u));
  return v;
}

int lanes_max(int v) {
  if (SG > 1u) v = max(v, subgroupShuffleXor(v, 1u));
  if (SG > 2u) v = max(v, subgroupShuffleXor(v, 2u));
  if (SG > 4u) v = max(v, subgroupShuffleXor(v, 4u));
  if (SG > 8u) v = max(v, subgroupShuffleXor(v, 8u));
  return v;
}

// One tile (work_queue.glsl): a block of ROW_LANES·ROWS query rows (tile.x) of one batch and
// KV head (tile.y) over key slice tile.z of `slices`.
void attend(uvec3 tile, uint slices) {
  const uint group = p.heads_q / p.heads_kv;
  const uint n_rows = group * p.len_q;
  const uint bkv = tile.y;
  const uint b = bkv / p.heads_kv;
  const uint kv_head = bkv % p.heads_kv;
  const uint kv_len = (p.flags & VKATTN_FLAG_KV_LENS) != 0u ? uint(kv_lens[b]) : p.len_kv;
  const uint rows_total = p.batch * p.heads_q * p.len_q;

  bool row_ok[ROWS];
  uint row_i[ROWS];
  uint row_h[ROWS];
  int row_lo[ROWS];  // visible keys of each row: [row_lo, row_hi), the interval key_visible()
  int row_hi[ROWS];  // allows; empty for padding rows
  float q[ROWS][OWN_K];
  float acc[ROWS][OWN_V];
  float m[ROWS];
  float l[ROWS];

  if (!SHUFFLE_LOADS) {
    if (gl_LocalInvocationIndex == 0u) {
      s_lo_min = int(kv_len);
      s_hi_max = 0;
    }
    barrier();  // the initial bounds must be visible before any invocation narrows them
  }
  int lo = int(kv_len);  // this invocation's rows' union, then the workgroup's
  int hi = 0;

  const uint lane = SHUFFLE_LOADS ? gl_SubgroupInvocationID : 0u;
  // This lane's head-dim group and its first lane, from the subgroup lane id: CPU drivers
  // know it per lane at compile time, so shuffles indexed by it stay constant-index.
  const uint dim_lane = SHUFFLE_LOADS ? lane / SHARE : 0u;
  const uint share_base = dim_lane * SHARE;
  const uint base = tile.x * ROW_LANES * ROWS + gl_LocalInvocationIndex % ROW_LANES;
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    const uint row = base + r * ROW_LANES;
    row_ok[r] = row < n_rows;
    const uint g = row_ok[r] ? row / p.len_q : 0u;
    row_i[r] = row_ok[r] ? row % p.len_q : 0u;
    row_h[r] = kv_head * group + g;
    m[r] = NEG_INF;
    l[r] = 0.0;
    const uint q_base = ((b * p.heads_q + row_h[r]) * p.len_q + row_i[r]) * DK;
    // Scale folded into q: one multiply per element instead of one per score.
    [[unroll]] for (uint d0 = 0u; d0 < DK; d0 += CHUNK_ALL)
      [[unroll]] for (uint e = 0u; e < CHUNK; e += Q_WIDTH) {
        const vec4 x = LOAD_Q(q_base + d0 + share_base * KV_WIDTH + e);
        [[unroll]] for (uint c = 0u; c < Q_WIDTH; ++c)
          q[r][d0 / DIM_SPLIT + e + c] = row_ok[r] ? x[c] * p.scale : 0.0;
      }
    [[unroll]] for (uint d = 0u; d < OWN_V; ++d) acc[r][d] = 0.0;
    // Padding rows see nothing (an empty interval does not widen the union).
    const ivec2 keys = row_ok[r] ? visible_keys(row_i[r], kv_len) : ivec2(int(kv_len), 0);
    row_lo[r] = keys.x;
    row_hi[r] = keys.y;
    lo = min(lo, keys.x);
    hi = max(hi, keys.y);
  }
  if (SHUFFLE_LOADS) {
    lo = lanes_min(lo);
    hi = lanes_max(hi);
  } else {
    atomicMin(s_lo_min, lo);
    atomicMax(s_hi_max, hi);
    barrier();  // all rows' bounds are in shared memory
    lo = s_lo_min;
    hi = s_hi_max;
  }
  const ivec2 slice = key_slice_of(lo, hi, int(KEY_BLOCK), tile.z, slices);  // split-KV
  lo = slice.x;
  hi = slice.y;

  const uint kv_base = bkv * p.kv_stride;
  // The loop body has no data-dependent branches: CPU drivers run both sides of a branch
  // under a lane mask (and even skip nothing on a uniform one), so visibility, the empty
  // row and the rescale are arithmetic and selects.
  for (int j0 = lo; j0 < hi; j0 += int(KEY_BLOCK)) {
    uint key_row[KEY_BLOCK];  // element offset of each key's row; tail keys repeat the last
    [[unroll]] for (uint t = 0u; t < KEY_BLOCK; ++t)
      key_row[t] = kv_base + min(uint(j0) + t, p.len_kv - 1u);
    // V rows of the block, fetched right after each key's K row (see the P·V comment).
    KV_VEC v_rows[KEY_BLOCK][DV / CHUNK_ALL];

    // S = (scale·Q)·Kᵀ: d outer, rows inner, so ROWS independent FMA chains per key.
    float s[ROWS][KEY_BLOCK];
    [[unroll]] for (uint t = 0u; t < KEY_BLOCK; ++t) {
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) s[r][t] = 0.0;
      [[unroll]] for (uint d0 = 0u; d0 < DK; d0 += CHUNK_ALL) {
        const KV_VEC shared_k = SHUFFLE_LOADS ? LOAD_K(key_row[t] * DK + d0 + lane * KV_WIDTH) : KV_VEC(0.0);
        [[unroll]] for (uint dd = 0u; dd < CHUNK; ++dd) {
          const float kd = SHUFFLE_LOADS ? SHARED(shared_k, dd) : LOAD_K1(key_row[t] * DK + d0 + dd);
          [[unroll]] for (uint r = 0u; r < ROWS; ++r) s[r][t] += q[r][d0 / DIM_SPLIT + dd] * kd;
        }
      }
      // Each group summed its share of the head dim; add the groups' partial scores.
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) s[r][t] = sum_groups(s[r][t]);
      [[unroll]] for (uint c = 0u; c < DV / CHUNK_ALL; ++c)
        v_rows[t][c] = SHUFFLE_LOADS ? LOAD_V(key_row[t] * DV + c * CHUNK_ALL + lane * KV_WIDTH) : KV_VEC(0.0);
    }

    float rescale = 0.0;  // largest |correction - 1| of this invocation's rows
    float correction[ROWS];
    [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
      float block_max = NEG_INF;
      [[unroll]] for (uint t = 0u; t < KEY_BLOCK; ++t) {
        const int j = j0 + int(t);
        float x = s[r][t];
        if ((FEATURES & VKATTN_FEATURE_SOFTCAP) != 0u) x = p.softcap * tanh(x / p.softcap);
        if ((FEATURES & VKATTN_FEATURE_MASK) != 0u)
          x += mask_data[mask_offset(b, row_h[r], row_i[r], key_row[t] - kv_base)];
        x = j >= row_lo[r] && j < row_hi[r] ? x : NEG_INF;
        s[r][t] = x;
        block_max = max(block_max, x);
      }
      // Lazy rescaling: the reference max m only moves when a score exceeds it by more than
      // RESCALE_SLACK, so the accumulator is rescaled a few times per row instead of
      // whenever the max creeps up. Exact either way (acc and l share m); also covers
      // m = -inf (the first visible key).
      const bool move = block_max > m[r] + RESCALE_SLACK;
      const float m_new = move ? block_max : m[r];
      // Nothing visible yet: subtract 0, not -inf (-inf - -inf is NaN); every p is then 0.
      const float m_use = m_new == NEG_INF ? 0.0 : m_new;
      correction[r] = move ? fast_exp(m[r] - m_use) : 1.0;
      rescale = max(rescale, abs(correction[r] - 1.0));
      l[r] *= correction[r];
      [[unroll]] for (uint t = 0u; t < KEY_BLOCK; ++t) {
        s[r][t] = fast_exp(s[r][t] - m_use);
        l[r] += s[r][t];
      }
      m[r] = m_new;
    }
    // Rarely needed after the first block; GPUs skip it (a uniform branch). CPU drivers
    // (SHUFFLE_LOADS) would run the body under a mask every block anyway, so there the
    // correction is folded into the P·V update below: one multiply on a load that
    // happens regardless.
    if (!SHUFFLE_LOADS && subgroupAny(rescale != 0.0)) {
      [[unroll]] for (uint r = 0u; r < ROWS; ++r)
        [[unroll]] for (uint d = 0u; d < OWN_V; ++d) acc[r][d] *= correction[r];
    }

    // acc += P·V with the head dim outermost: each accumulator element (too many for
    // registers) is loaded and stored once per block, with the KEY_BLOCK terms summed between.
    // The block's V rows were fetched with its K rows, key after key: the chunk-major order
    // of this product (chunk d0 of every key, then the next chunk) defeats CPU prefetchers.
    // Measured on lavapipe (paired A/B): decode over 8192 cached keys 15-25% faster, prefill
    // D=64 10-15% faster, D=128 unchanged.
    [[unroll]] for (uint d0 = 0u; d0 < DV; d0 += CHUNK_ALL) {
      KV_VEC shared_v[KEY_BLOCK];
      [[unroll]] for (uint t = 0u; t < KEY_BLOCK; ++t)
        shared_v[t] = v_rows[t][d0 / CHUNK_ALL];
      [[unroll]] for (uint dd = 0u; dd < CHUNK; ++dd) {
        float vd[KEY_BLOCK];
        [[unroll]] for (uint t = 0u; t < KEY_BLOCK; ++t)
          vd[t] = SHUFFLE_LOADS ? SHARED(shared_v[t], dd) : LOAD_V1(key_row[t] * DV + d0 + dd);
        [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
          float a = acc[r][d0 / DIM_SPLIT + dd];
          if (SHUFFLE_LOADS) a *= correction[r];
          [[unroll]] for (uint t = 0u; t < KEY_BLOCK; ++t) a += s[r][t] * vd[t];
          acc[r][d0 / DIM_SPLIT + dd] = a;
        }
      }
    }
  }

  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    if (!row_ok[r]) continue;
    const uint out_row = tile.z * rows_total + (b * p.heads_q + row_h[r]) * p.len_q + row_i[r];
    // A row that saw no key: output 0 and LSE -inf (never NaN).
    const float inv = l[r] > 0.0 ? 1.0 / l[r] : 0.0;
    [[unroll]] for (uint d0 = 0u; d0 < DV; d0 += CHUNK_ALL)
      [[unroll]] for (uint e = 0u; e < CHUNK; ++e)
        o_data[out_row * DV + d0 + share_base * KV_WIDTH + e] = acc[r][d0 / DIM_SPLIT + e] * inv;
    if (dim_lane == 0u) lse_data[out_row] = l[r] > 0.0 ? m[r] + log(l[r]) : NEG_INF;
  }
}

#include "work_queue.glsl"
