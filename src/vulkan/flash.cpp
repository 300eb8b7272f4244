// SPDX-License-Identifier: MIT
// Flash and split-KV: tile choice, split count, and recording.
#include "vulkan/flash.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <thread>

#include "vkattn/error.hpp"
#include "vulkan/shaders.hpp"
#include "vulkan/transfer.hpp"
#include "vulkan/tuning.hpp"

namespace vkattn::vulkan {
namespace {

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; }

// llvmpipe ends shader loops after 65,535 iterations in total per invocation; in
// flash_attn.comp only the key loop is a loop (once per key block), plus the combine-free
// set-up, so a slice holds at most this many key blocks.
constexpr std::uint64_t kLoopBudget = 60000;

std::atomic<bool> g_force_tiled{false};
std::atomic<bool> g_force_storage_buffers{false};
std::atomic<std::uint32_t> g_work_queue_take{0};

// flash_tiled.comp's shape, or false when one tile of 8 keys does not fit the device's shared
// memory. Chosen from a sweep on an H200 (docs/performance.md, "NVIDIA H200"):
// - 128 threads: whole subgroups on every GPU.
// - Prefill (at least half a workgroup of rows per KV head): 128 floats of q and accumulator
//   per thread, rows·(dk + dv)/tpr: at D=128 4 rows over 8 lanes (5% faster than 2 over 4),
//   2 rows over 4 lanes below, 1 over 4 above; 16-key tiles (D=128: 22-25 TFLOP/s against 19-21
//   with 32 keys and 20-22 with 8; D=64: 25 against 21 with 32 keys, from L=2048).
// - Fewer rows (decode): one row a thread, and lanes per row doubled while the workgroup has
//   more row slots than the KV head has rows (GQA 4:1 at D=128: a subgroup of 32 per row);
//   8-key tiles (14% faster than 16 over 8192 and 32768 keys).
bool plan_tiled(const detail::Problem& p, const Device& device, FlashShape& s) {
  // A row's lanes must share a subgroup in whatever subgroup size the pipeline gets.
  const std::uint32_t subgroup = std::max<std::uint32_t>(
      std::min(device.info.subgroup_size, device.min_subgroup_size), 1);
  const auto& limits = device.limits;
  const std::uint32_t wg = std::min<std::uint32_t>(std::max<std::uint32_t>(128, subgroup),
                                                   limits.maxComputeWorkGroupInvocations);
  const auto rows_per_head = static_cast<std::uint64_t>(p.group() * p.len_q);
  const bool prefill = rows_per_head >= wg / 2;
  const std::uint32_t dims = s.dk + s.dv;
  std::uint32_t tpr = 4;
  std::uint32_t rows = 1;
  if (prefill && dims == 256) {
    tpr = 8;
    rows = 4;
  } else if (prefill && dims < 256) {
    rows = 2;
  }
  // Lanes of a row sit in one subgroup, and each owns whole RGBA chunks of every row.
  const auto divides_dims = [&](std::uint32_t t) {
    return s.dk % (4 * t) == 0 && s.dv % (4 * t) == 0;
  };
  tpr = std::min(tpr, subgroup);
  while (tpr > 1 && !divides_dims(tpr)) tpr /= 2;
  while (2 * tpr <= std::min<std::uint32_t>(subgroup, 32) && divides_dims(2 * tpr) &&
         std::uint64_t{wg / tpr * rows} > rows_per_head)
    tpr *= 2;
  const std::uint64_t bytes_per_key = std::uint64_t{dims} * sizeof(float);
  std::uint32_t bn = prefill ? 16 : 8;
  while (bn > 8 && bn * bytes_per_key + 64 > limits.maxComputeSharedMemorySize) bn /= 2;
  if (bn * bytes_per_key + 64 > limits.maxComputeSharedMemorySize) return false;
  s.tiled = true;
  s.decode_kernel = false;
  s.shuffle_loads = false;
  s.texel = 0;
  s.key_block = bn;
  s.sg = subgroup;
  s.wg = wg;
  s.rows = rows;
  s.tpr = tpr;
  return true;
}

}  // namespace

bool use_half_kv(FlashShape& s, DType type, bool half_texels) noexcept {
  s.kv_half = true;
  s.kv_bf16 = type == DType::bf16;
  // RGBA texel kernels read 8 values a texel (RGBA32UI) where each lane's share of a row
  // is whole such texels: half the texel fetches (which bound the decode kernel on CPU
  // drivers), and the only texel view bf16 has.
  s.kv_packed = s.texel == 4 && s.dk % (8 * s.sg) == 0 && s.dv % (8 * s.sg) == 0;
  return s.texel == 0 || s.kv_packed || (!s.kv_bf16 && half_texels);
}

void set_force_tiled(bool on) noexcept { g_force_tiled.store(on); }
void set_force_storage_buffers(bool on) noexcept { g_force_storage_buffers.store(on); }
void set_work_queue_take(std::uint32_t tiles) noexcept { g_work_queue_take.store(tiles); }

std::string shape_reason(const FlashShape& s) {
  return s.why_splits + "; runs " + gpu::shader_name(flash_shader(s));
}

std::uint32_t rows_per_workgroup(const FlashShape& s) noexcept {
  if (s.tiled) return s.wg / s.tpr * s.rows;
  return s.decode_kernel ? s.rows : s.wg / s.dim_split * s.rows;
}

std::uint32_t padded_head_dim(std::int64_t d) noexcept {
  // Multiples of 16 (a multiple of the shader's SG) up to 64, then of 32: at most 10
  // distinct values for 1..256, so few pipelines to compile.
  const auto u = static_cast<std::uint32_t>(d);
  return u <= 64 ? std::max(16u, (u + 15) / 16 * 16) : (u + 31) / 32 * 32;
}

FlashShape plan_flash(const detail::Problem& p, const Device& device, bool split_kv,
                      bool texel_buffers, bool vec4_offsets) {
  FlashShape s;
  const std::uint32_t subgroup = std::max<std::uint32_t>(device.info.subgroup_size, 1);
  const bool cpu_device = device.info.type == "cpu";
  s.dk = padded_head_dim(p.dim_qk);
  s.dv = padded_head_dim(p.dim_v);
  // Shuffle-shared K/V loads need the subgroup to be exactly SG lanes dividing the padded
  // head dims (multiples of 16): true of CPU drivers, whose subgroup is one SIMD register.
  s.shuffle_loads = cpu_device && subgroup <= 16 && 16 % subgroup == 0;
  s.sg = s.shuffle_loads ? subgroup : 16;
  if (cpu_device) {
    // CPU drivers run one workgroup per thread: a single subgroup needs no barriers. Every
    // broadcast K/V element feeds `rows` FMAs per lane (more rows: fewer loads per FMA).
    // Few rows per KV head (decode) must not leave lanes idle: rows shrink to what there is,
    // and when even one row per lane leaves lanes over, the surplus lanes split the head
    // dim (dim_split groups): decode with GQA 4:1 runs 4 rows x 2 groups, MHA decode 1 row
    // x 8 (docs/performance.md).
    s.wg = subgroup;
    const std::uint64_t rows_per_head = static_cast<std::uint64_t>(p.group() * p.len_q);
    s.rows = 1;
    while (s.shuffle_loads && s.dim_split < subgroup &&
           std::uint64_t{subgroup / s.dim_split} >= 2 * rows_per_head)
      s.dim_split *= 2;
    // LLVM's compile time grows with the unrolled body (rows · head dim): cap it so a
    // D=256 pipeline compiles in seconds, not minutes.
    const std::uint32_t max_rows = std::max<std::uint32_t>(1, 512 / std::max(s.dk, s.dv));
    while (s.rows < std::min<std::uint32_t>(8, max_rows) &&
           std::uint64_t{s.wg} * s.rows < rows_per_head)
      s.rows *= 2;
    // Keys per step: more keys load and store each accumulator element less often per key.
    // Measured on lavapipe (min CPU time, 8 vs 4 keys): prefill D=32/64/128/256 10-20%
    // faster, decode 1.4x; D=96 (three 32-float chunks) 25% slower, so head dims that are not
    // powers of two keep 4.
    const bool pow2_dims = (s.dk & (s.dk - 1)) == 0 && (s.dv & (s.dv - 1)) == 0;
    s.key_block = pow2_dims || s.dim_split > 1 ? 8 : 4;
  } else {
    // GPUs: several subgroups per workgroup to hide latency; one row per invocation keeps
    // the register file (q, acc: dk + dv floats) within bounds.
    s.wg = std::min<std::uint32_t>(std::max<std::uint32_t>(64, subgroup),
                                   device.limits.maxComputeWorkGroupInvocations);
    s.rows = 1;
    s.key_block = 2;
  }
  // CPU drivers fetch texels with vector loads but read storage buffers lane by lane
  // (llvmpipe 22.3, docs/performance.md); RGBA32F texels (4 floats a lane) need head dims
  // that are whole chunks of 4·SG floats. Texel buffers are limited to maxTexelBufferElements.
  const auto limit = static_cast<std::uint64_t>(device.limits.maxTexelBufferElements);
  const auto kv_rows = static_cast<std::uint64_t>(p.batch * p.heads_kv * p.kv_stride);
  const auto q_rows = static_cast<std::uint64_t>(p.batch * p.heads_q * p.len_q);
  const std::uint32_t width = s.dk % (4 * s.sg) == 0 && s.dv % (4 * s.sg) == 0 ? 4 : 1;
  // RGBA texels serve Q as well (flash_attn.comp binds it as a texel buffer at width 4).
  const std::uint64_t q_texels = width == 4 ? q_rows * s.dk / 4 : 0;
  if (texel_buffers && !g_force_storage_buffers.load() && s.shuffle_loads &&
      kv_rows * std::max(s.dk, s.dv) / width <= limit &&
      q_texels <= limit)
    s.texel = width;
  // Few rows per KV head (the lanes would split the head dim) through RGBA texels: the decode
  // kernel, in which every lane works on all the rows over its own slice of the head dim
  // (flash_decode.comp), SG keys a step.
  if (s.dim_split > 1 && s.texel == 4) {
    const auto rows_per_head = static_cast<std::uint32_t>(p.group() * p.len_q);
    s.decode_kernel = true;
    s.dim_split = 1;
    s.rows = 1;
    while (s.rows < rows_per_head) s.rows *= 2;
    s.key_block = s.sg;
  }
  // GPUs run the shared-memory kernel (flash_tiled.comp) where one K/V tile fits.
  if ((!cpu_device || g_force_tiled.load()) && vec4_offsets && plan_tiled(p, device, s))
    s.dim_split = 1;
  s.combine_wg = std::min<std::uint32_t>(std::max<std::uint32_t>(64, subgroup),
                                         device.limits.maxComputeWorkGroupInvocations);

  const auto group = static_cast<std::uint64_t>(p.group());
  const std::uint64_t row_blocks =
      ceil_div(group * static_cast<std::uint64_t>(p.len_q), rows_per_workgroup(s));
  const auto kv_heads = static_cast<std::uint64_t>(p.batch * p.heads_kv);
  const std::uint64_t key_blocks = ceil_div(static_cast<std::uint64_t>(p.len_kv), s.key_block);

  std::uint64_t splits = 1;
  s.why_splits = "one pass over the keys";
  if (split_kv) {
    // Enough workgroups to fill the device: CPU threads on a CPU driver, a few waves of an
    // unknown number of GPU cores otherwise; never slices shorter than 16 key blocks (4
    // tiles of the tiled kernel).
    const std::uint64_t target =
        cpu_device ? 2ull * std::max(1u, std::thread::hardware_concurrency()) : 512;
    const std::uint64_t min_blocks = s.tiled ? 4 : 16;
    splits = std::clamp<std::uint64_t>(ceil_div(target, row_blocks * kv_heads), 1,
                                       std::max<std::uint64_t>(1, key_blocks / min_blocks));
    splits = std::min<std::uint64_t>(splits, 64);
    s.why_splits = splits == 1 ? std::string("one key slice fills the device")
                               : std::to_string(splits) + " key slices to fill the device";
  }
  // The tiled kernel also loops per tile over its shared-memory copies (K and V, 128 threads)
  // and its 8-key steps.
  const std::uint64_t loops_per_block =
      s.tiled ? 1 + 2 * ceil_div(std::uint64_t{s.key_block} * std::max(s.dk, s.dv) / 4, s.wg) +
                    s.key_block / 8
              : 1;
  const std::uint64_t blocks_per_slice = kLoopBudget / loops_per_block;
  if (device.loop_limited && ceil_div(key_blocks, splits) > blocks_per_slice) {
    splits = ceil_div(key_blocks, blocks_per_slice);
    s.why_splits = std::to_string(splits) + " key slices to stay under llvmpipe's loop limit";
  }
  s.splits = static_cast<std::uint32_t>(splits);

  // llvmpipe splits a dispatch's workgroups evenly between its threads before any runs, so
  // the thread the host slows down decides the time while the others idle (8-19% of the
  // cores' time in flash prefill on lavapipe, docs/performance.md). Through a work queue
  // (shaders/work_queue.glsl) every thread keeps taking tiles until none are left. Each
  // workgroup's take is bounded by the loop budget (a tile's key blocks and one more), and
  // there are enough workgroups that every thread's share of them could take 4 times its
  // share of the tiles (fewer where the device's grid limit says so, but never too few for
  // every tile; else one workgroup per tile).
  const std::uint64_t tiles = row_blocks * kv_heads * splits;
  if (cpu_device && s.shuffle_loads && !s.tiled && tiles > 1) {
    std::uint64_t take =
        std::max<std::uint64_t>(1, kLoopBudget / (ceil_div(key_blocks, splits) + 1));
    if (const std::uint32_t cap = g_work_queue_take.load(); cap != 0)
      take = std::min<std::uint64_t>(take, cap);
    const std::uint64_t threads = std::max(1u, std::thread::hardware_concurrency());
    const std::uint64_t groups = std::min<std::uint64_t>(
        {tiles, device.limits.maxComputeWorkGroupCount[0],
         std::max(std::max<std::uint64_t>(64, 4 * threads), ceil_div(4 * tiles, take))});
    if (groups * take >= tiles) {
      s.work_queue = true;
      s.queue_take = static_cast<std::uint32_t>(take);
      s.queue_groups = static_cast<std::uint32_t>(groups);
    }
  }

  const auto& count = device.limits.maxComputeWorkGroupCount;
  if (row_blocks > count[0] || kv_heads > count[1] || splits > count[2]) {
    throw Error(ErrorCode::unsupported,
                "flash: grid " + std::to_string(row_blocks) + "x" + std::to_string(kv_heads) + "x" +
                    std::to_string(splits) + " exceeds maxComputeWorkGroupCount");
  }
  if (s.splits > 1) {
    const auto rows_total = static_cast<std::uint64_t>(p.batch * p.heads_q * p.len_q);
    s.workspace_bytes = std::uint64_t{s.splits} * rows_total * s.dv * sizeof(float);
    s.partial_lse_bytes = std::uint64_t{s.splits} * rows_total * sizeof(float);
  }
  if (s.decode_kernel) s.why_splits += "; every lane on all rows (decode kernel)";
  if (s.work_queue) s.why_splits += "; workgroups take tiles from a queue";
  if (s.tiled) {
    s.why_splits += "; shared-memory tiles of " + std::to_string(s.key_block) + " keys, " +
                    std::to_string(s.tpr) + " lanes per row (tiled kernel)";
  }
  s.features = (p.mask != detail::MaskKind::none ? VKATTN_FEATURE_MASK : 0u) |
               (p.softcap > 0.0f ? VKATTN_FEATURE_SOFTCAP : 0u);
  return s;
}

gpu::ShaderId flash_shader(const FlashShape& s) noexcept {
  using gpu::ShaderId;
  if (s.tiled) {
    return !s.kv_half ? ShaderId::flash_tiled
           : s.kv_bf16 ? ShaderId::flash_tiled_kv_bf16
                       : ShaderId::flash_tiled_kv_half;
  }
  if (s.decode_kernel) {
    return !s.kv_packed ? ShaderId::flash_decode
           : s.kv_bf16  ? ShaderId::flash_decode_kv_bf16
                        : ShaderId::flash_decode_kv_packed;
  }
  // RGBA16F/R16F views widen f16 themselves; bf16 only ever comes packed (use_half_kv).
  if (s.texel == 4) {
    return !s.kv_packed ? ShaderId::flash_attn_texel4
           : s.kv_bf16  ? ShaderId::flash_attn_texel4_kv_bf16
                        : ShaderId::flash_attn_texel4_kv_packed;
  }
  if (s.texel == 1) return ShaderId::flash_attn_texel;
  return !s.kv_half ? ShaderId::flash_attn
         : s.kv_bf16 ? ShaderId::flash_attn_kv_bf16
                     : ShaderId::flash_attn_kv_half;
}

vk::raii::DescriptorSets record_flash(const vk::raii::Device& device,
                                      const vk::raii::DescriptorPool& pool, Pipelines& pipelines,
                                      const vk::raii::CommandBuffer& cmd, const detail::Problem& p,
                                      const FlashShape& s, const FlashIo& io) {
  const bool split = s.splits > 1;
  const PipelineRef flash = pipelines.get(
      {flash_shader(s), 8,
       SpecValues{s.wg, s.rows, s.key_block, s.tiled ? s.tpr : s.sg, s.dk,
                  s.shuffle_loads ? 1u : 0u, s.dv, s.features, s.dim_split, s.work_queue ? 1u : 0u},
       s.texel == 4   ? 0b111u
       : s.texel == 1 ? 0b110u
                      : 0u});
  std::array<vk::DescriptorSetLayout, 2> layouts{flash.set_layout, {}};
  PipelineRef combine{};
  if (split) {
    combine = pipelines.get(
        {gpu::ShaderId::combine, 4, SpecValues{s.combine_wg, 0, 0, 0, 0, s.splits, s.dv}});
    layouts[1] = combine.set_layout;
  }
  vk::raii::DescriptorSets sets(device,
                                vk::DescriptorSetAllocateInfo{.descriptorPool = *pool,
                                                              .descriptorSetCount = split ? 2u : 1u,
                                                              .pSetLayouts = layouts.data()});
  const std::array<Binding, 8> flash_bindings{io.q,
                                              io.k,
                                              io.v,
                                              io.mask,
                                              io.kv_lens,
                                              split ? io.partial_o : io.out,
                                              split ? io.partial_lse : io.lse,
                                              io.queue};
  write_bindings(device, *sets[0], flash_bindings);

  gpu::AttentionParams params = base_params(p);
  const auto group = static_cast<std::uint64_t>(p.group());
  const std::uint64_t row_blocks =
      ceil_div(group * static_cast<std::uint64_t>(p.len_q), rows_per_workgroup(s));
  if (s.work_queue) {
    // The counter starts at 0 each time the commands run, after any earlier use of it.
    memory_barrier(cmd, vk::PipelineStageFlagBits::eComputeShader,
                   vk::PipelineStageFlagBits::eTransfer,
                   vk::AccessFlagBits::eShaderRead | vk::AccessFlagBits::eShaderWrite,
                   vk::AccessFlagBits::eTransferWrite);
    cmd.fillBuffer(io.queue.buffer, io.queue.offset, sizeof(std::uint32_t), 0);
    memory_barrier(cmd, vk::PipelineStageFlagBits::eTransfer,
                   vk::PipelineStageFlagBits::eComputeShader, vk::AccessFlagBits::eTransferWrite,
                   vk::AccessFlagBits::eShaderRead | vk::AccessFlagBits::eShaderWrite);
    params.grid_x = static_cast<std::uint32_t>(row_blocks);
    params.grid_z = s.splits;
    params.queue_take = s.queue_take;
    dispatch(cmd, flash, *sets[0], params, s.queue_groups, 1, 1);
  } else {
    dispatch(cmd, flash, *sets[0], params, row_blocks,
             static_cast<std::uint64_t>(p.batch * p.heads_kv), s.splits);
  }

  if (split) {
    const std::array<Binding, 4> combine_bindings{io.partial_o, io.partial_lse, io.out, io.lse};
    write_bindings(device, *sets[1], combine_bindings);
    // The combine pass reads every split's partial output.
    memory_barrier(cmd, vk::PipelineStageFlagBits::eComputeShader,
                   vk::PipelineStageFlagBits::eComputeShader, vk::AccessFlagBits::eShaderWrite,
                   vk::AccessFlagBits::eShaderRead);
    const std::uint64_t elements = static_cast<std::uint64_t>(p.batch * p.heads_q * p.len_q) * s.dv;
    const std::uint64_t groups = ceil_div(elements, s.combine_wg);
    // Grids wider than 65535 (every device's minimum maxComputeWorkGroupCount) fold into y;
    // the shader linearises (x, y).
    const std::uint64_t x = std::min<std::uint64_t>(groups, 65535);
    dispatch(cmd, combine, *sets[1], params, x, ceil_div(groups, x), 1);
  }
  return sets;
}

}  // namespace vkattn::vulkan
