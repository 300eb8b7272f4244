// SPDX-License-Identifier: MIT
// The host/shader contract, included by GLSL (shaders/*.comp) and by C++ (src/vulkan/*).
// Every field is a 32-bit scalar, so std430 offsets equal the C++ layout (asserted below).
#ifndef VKATTN_INTERFACE_H
#define VKATTN_INTERFACE_H

#ifdef __cplusplus
#include <cstdint>
namespace vkattn::gpu {
using uint = std::uint32_t;
#endif

// Specialization-constant ids.
#define VKATTN_SPEC_WORKGROUP_SIZE 0  // invocations per workgroup (x)
#define VKATTN_SPEC_TILE_M 1          // query rows per workgroup tile
#define VKATTN_SPEC_TILE_N 2          // key (or value-column) columns per workgroup tile
#define VKATTN_SPEC_TILE_K 3          // reduction-dim slice staged in shared memory
#define VKATTN_SPEC_HEAD_DIM 4        // padded head dim for kernels that keep rows in registers
#define VKATTN_SPEC_SPLIT 5           // kernel-specific (e.g. KV splits)
#define VKATTN_SPEC_HEAD_DIM_V 6      // padded value head dim for kernels that keep rows in registers
#define VKATTN_SPEC_FEATURES 7        // VKATTN_FEATURE_* bits compiled into a pipeline
#define VKATTN_SPEC_DIM_SPLIT 8       // lane groups that split one query row's head dim
#define VKATTN_SPEC_WORK_QUEUE 9      // workgroups take their tiles from an atomic counter

// Specialization bits of VKATTN_SPEC_FEATURES: per-score work a pipeline includes. Compiled
// in or out rather than branched on, because CPU drivers execute both sides of every branch.
#define VKATTN_FEATURE_MASK 1u
#define VKATTN_FEATURE_SOFTCAP 2u

// AttentionParams::causal
#define VKATTN_CAUSAL_NONE 0u
#define VKATTN_CAUSAL_TOP_LEFT 1u
#define VKATTN_CAUSAL_BOTTOM_RIGHT 2u

// AttentionParams::flags
#define VKATTN_FLAG_MASK 1u     // an additive f32 mask buffer is bound (booleans become 0/-inf)
#define VKATTN_FLAG_KV_LENS 2u  // a per-batch int32 key-length buffer is bound
#define VKATTN_FLAG_SOFTCAP 4u  // softcap > 0

// Push constants shared by every attention pass. Tensors on the device are contiguous
// [B, H, L, D] (K and V: [B, Hkv, kv_stride, D], of which the first len_kv rows are used); the workspace holds a chunk of query rows [bh_count, row_count, len_kv].
struct AttentionParams {
  uint batch;
  uint heads_q;
  uint heads_kv;
  uint len_q;
  uint len_kv;
  uint dim_qk;
  uint dim_v;
  uint causal;
  int window_left;   // -1 = unbounded
  int window_right;  // -1 = unbounded
  float scale;
  float softcap;
  uint flags;
  uint row_begin;    // first query row of this chunk
  uint row_count;    // query rows in this chunk
  uint bh_begin;     // first (batch*heads_q + head) of this chunk
  uint mask_stride_b;  // element strides of the broadcast mask (0 on broadcast dims)
  uint mask_stride_h;
  uint mask_stride_q;
  uint mask_stride_k;
  uint kv_stride;  // rows between (batch, KV head) slices of K/V: len_kv, or a KV cache's capacity
  // Work queue (VKATTN_SPEC_WORK_QUEUE): the tile grid (row blocks x batch*heads_kv x key
  // slices) is numbered x fastest, and each workgroup takes at most queue_take tiles.
  uint grid_x;
  uint grid_z;
  uint queue_take;
};

#ifdef __cplusplus
static_assert(sizeof(AttentionParams) == 96, "push constants must stay 32-bit scalars");
}  // namespace vkattn::gpu
#endif

#endif  // VKATTN_INTERFACE_H
