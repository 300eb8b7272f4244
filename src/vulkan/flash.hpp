// SPDX-License-Identifier: MIT
#pragma once

// The fused kernel (flash_attn.comp) and its split-KV form: the same shader run over
// `splits` slices of the key range, merged by combine.comp.

#include <cstdint>
#include <string>

#include "core/problem.hpp"
#include "vulkan/device.hpp"
#include "vulkan/pipelines.hpp"
#include "vulkan/vk.hpp"

namespace vkattn::vulkan {

struct FlashShape {
  std::uint32_t wg = 0;         // invocations per workgroup
  std::uint32_t rows = 0;       // query rows per invocation
  std::uint32_t key_block = 0;  // keys per online-softmax step
  std::uint32_t dim_split = 1;  // lane groups that split a row's head dim (shuffle loads only)
  bool decode_kernel = false;   // flash_decode.comp: all `rows` in every lane, SG keys a step
  bool tiled = false;           // flash_tiled.comp (GPUs): K/V tiles of key_block keys in shared
                                // memory, `rows` per thread, `tpr` lanes per row
  std::uint32_t tpr = 1;        // threads that share one query row (tiled only)
  std::uint32_t sg = 0;         // lanes that share one K/V row load (SG in the shader)
  bool shuffle_loads = false;   // K/V rows loaded cooperatively and broadcast by subgroupShuffle
  std::uint32_t texel = 0;      // inputs read through uniform texel buffers of this many floats
                                // per texel (1: K, V in flash_attn_texel; 4: Q, K, V in
                                // flash_attn_texel4 or flash_decode); 0: storage
  bool kv_half = false;         // K/V are 16-bit (f16, or bf16 with kv_bf16; use_half_kv):
                                // *_kv_half (*_kv_bf16) storage variants, RGBA16F/R16F texels
  bool kv_bf16 = false;
  bool kv_packed = false;       // 16-bit K/V read as RGBA32UI texels, 8 values each, by the
                                // RGBA texel kernels (flash_decode_kv_*, flash_attn_texel4_kv_*)
  std::uint32_t features = 0;   // VKATTN_FEATURE_* compiled into the pipeline
  std::uint32_t dk = 0;         // padded head dims: device tensors are zero-padded to these
  std::uint32_t dv = 0;
  std::uint32_t splits = 1;  // slices of the key range (> 1: partials + combine)
  // The register kernels (flash_attn.comp, flash_decode.comp) on CPU drivers: `queue_groups`
  // workgroups take tiles (row block, KV head, key slice) from a counter, at most
  // `queue_take` each, instead of one workgroup per tile.
  bool work_queue = false;
  std::uint32_t queue_groups = 0;
  std::uint32_t queue_take = 0;
  std::uint32_t combine_wg = 0;
  std::uint64_t workspace_bytes = 0;    // partial O [splits, rows, dv] when splits > 1
  std::uint64_t partial_lse_bytes = 0;  // partial LSE [splits, rows] when splits > 1
  std::string why_splits;               // planner's reason for the split count
};

// Tiles from the device limits; `split_kv` asks for as many key slices as keep the device
// busy when there are few query rows (decode). Throws Error{unsupported} when a grid
// dimension exceeds maxComputeWorkGroupCount.
// `texel_buffers` false: Q, K and V are bound as storage buffers only (application buffers in
// record_attention need not allow texel views), which also rules out the decode kernel.
// `vec4_offsets` false: Q, K, V or O start at an offset that is not a multiple of 16 bytes,
// which rules out the tiled kernel (it reads and writes vec4s).
[[nodiscard]] FlashShape plan_flash(const detail::Problem& problem, const Device& device,
                                    bool split_kv, bool texel_buffers = true,
                                    bool vec4_offsets = true);

// K and V are 16-bit on the device, `type` f16 or bf16 (a 16-bit KvCache, or an f16 call's K
// and V uploaded as they are): marks the shape so the 16-bit variants and views are used.
// Returns false when the shape reads K/V through texel views the device cannot give that type
// (bf16 except as RGBA32UI; f16 elsewhere without RGBA16F/R16F support): plan again without
// texel buffers.
[[nodiscard]] bool use_half_kv(FlashShape& s, DType type, bool half_texels) noexcept;

// The fused kernel variant a shape runs (flash_attn*, flash_decode*, flash_tiled*).
[[nodiscard]] gpu::ShaderId flash_shader(const FlashShape& s) noexcept;

// The part of a plan's reason a fused shape decides: "<why_splits>; runs <shader>".
[[nodiscard]] std::string shape_reason(const FlashShape& s);

// Query rows one workgroup owns.
[[nodiscard]] std::uint32_t rows_per_workgroup(const FlashShape& s) noexcept;

// The head dim a kernel pads `d` to: few distinct values, so few pipelines to compile.
[[nodiscard]] std::uint32_t padded_head_dim(std::int64_t d) noexcept;

struct FlashIo {
  Binding q, k, v, mask, kv_lens, out,
      lse;                         // q/k/v/out padded to dk/dv; mask/kv_lens dummy when absent
  Binding partial_o, partial_lse;  // used when splits > 1
  Binding queue;  // the work queue's counter (4 bytes, zeroed by record_flash); dummy without
};

// Records the flash pass (and the combine pass when split). The returned descriptor sets
// must live until the command buffer has completed.
[[nodiscard]] vk::raii::DescriptorSets record_flash(const vk::raii::Device& device,
                                                    const vk::raii::DescriptorPool& pool,
                                                    Pipelines& pipelines,
                                                    const vk::raii::CommandBuffer& cmd,
                                                    const detail::Problem& problem,
                                                    const FlashShape& shape, const FlashIo& io);

}  // namespace vkattn::vulkan
