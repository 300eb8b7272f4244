// SPDX-License-Identifier: MIT
// VulkanBackend: plans, uploads, records one command buffer per call, submits, waits and
// downloads; translates every Vulkan failure into vkattn::Error at this boundary.
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <optional>
#include <set>
#include <string>

#include "core/backend.hpp"
#include "vkattn/error.hpp"
#include "vulkan/device.hpp"
#include "vulkan/errors.hpp"
#include "vulkan/flash.hpp"
#include "vulkan/gpu_timer.hpp"
#include "vulkan/kv_cache.hpp"
#include "vulkan/memory.hpp"
#include "vulkan/pipelines.hpp"
#include "vulkan/three_pass.hpp"
#include "vulkan/transfer.hpp"

namespace vkattn::detail {
namespace {

using vulkan::Access;
using vulkan::Role;

using vulkan::rethrow_translated;

std::string mib(std::uint64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%llu bytes (%.1f MiB)", static_cast<unsigned long long>(bytes),
                static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

std::uint64_t bytes_of(std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t d) {
  return static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b) *
         static_cast<std::uint64_t>(c) * static_cast<std::uint64_t>(d) * sizeof(float);
}

struct Sizes {
  std::uint64_t q, k, v, out, lse, mask, kv_lens, probs;
};

// Device sizes with the head dims a kernel stores (`dk`, `dv`: padded for flash).
Sizes sizes_of(const Problem& p, std::int64_t dk, std::int64_t dv) {
  return {bytes_of(p.batch, p.heads_q, p.len_q, dk),
          bytes_of(p.batch, p.heads_kv, p.kv_stride, dk),
          bytes_of(p.batch, p.heads_kv, p.kv_stride, dv),
          bytes_of(p.batch, p.heads_q, p.len_q, dv),
          bytes_of(p.batch, p.heads_q, p.len_q, 1),
          static_cast<std::uint64_t>(vulkan::mask_elements(p)) * sizeof(float),
          static_cast<std::uint64_t>(p.has_kv_lens ? p.batch : 0) * sizeof(std::int32_t),
          bytes_of(p.batch, p.heads_q, p.len_q, p.len_kv)};
}

// Every tensor bound as one storage buffer must fit maxStorageBufferRange (the probabilities
// readback is a transfer destination, never bound, so it is exempt). K and V of a KvCache are
// its own buffers, checked when it was made; an f16 or bf16 call's K and V go to the fused
// kernels as they are (`fused`).
void check_storage_range(const Problem& p, std::int64_t dk, std::int64_t dv,
                         std::uint64_t workspace, std::uint64_t range, bool fused) {
  const Sizes s = sizes_of(p, dk, dv);
  const std::uint64_t kv_div = p.kv_cache ? 0 : fused && p.dtype != DType::f32 ? 2 : 1;
  const std::pair<const char*, std::uint64_t> tensors[] = {{"q", s.q},
                                                           {"k", kv_div ? s.k / kv_div : 0},
                                                           {"v", kv_div ? s.v / kv_div : 0},
                                                           {"out", s.out},
                                                           {"lse", s.lse},
                                                           {"mask", s.mask},
                                                           {"the workspace", workspace}};
  for (const auto& [name, bytes] : tensors) {
    if (bytes > range) {
      throw Error(ErrorCode::unsupported,
                  std::string(name) + " needs " + mib(bytes) +
                      " on the device, above maxStorageBufferRange " + mib(range));
    }
  }
}

// The probabilities come back through one host-visible buffer of `bytes` in one allocation:
// refuse up front what no vkCreateBuffer / vkAllocateMemory could satisfy (calling them would
// be invalid usage) rather than fail inside the driver.
void check_readback(std::uint64_t bytes, const DeviceInfo& info) {
  const auto refuse = [&](ErrorCode code, const char* limit, std::uint64_t value) {
    throw Error(code, "the attention probabilities need " + mib(bytes) +
                          " in one host-visible buffer, above " + limit + " " + mib(value));
  };
  if (info.max_buffer_size != 0 && bytes > info.max_buffer_size)
    refuse(ErrorCode::unsupported, "maxBufferSize", info.max_buffer_size);
  if (info.max_allocation_size != 0 && bytes > info.max_allocation_size)
    refuse(ErrorCode::unsupported, "maxMemoryAllocationSize", info.max_allocation_size);
  if (bytes > info.host_visible_heap)
    refuse(ErrorCode::out_of_memory, "the largest host-visible heap", info.host_visible_heap);
}

vk::raii::DescriptorPool make_descriptor_pool(const vk::raii::Device& device) {
  // Flash on CPU drivers binds Q, K and V as uniform texel buffers.
  const std::array<vk::DescriptorPoolSize, 2> sizes{
      vk::DescriptorPoolSize{.type = vk::DescriptorType::eStorageBuffer, .descriptorCount = 64},
      vk::DescriptorPoolSize{.type = vk::DescriptorType::eUniformTexelBuffer,
                             .descriptorCount = 16}};
  // FREE_DESCRIPTOR_SET: the RAII sets free themselves after each call.
  return {device, vk::DescriptorPoolCreateInfo{
                      .flags = vk::DescriptorPoolCreateFlagBits::eFreeDescriptorSet,
                      .maxSets = 16,
                      .poolSizeCount = static_cast<std::uint32_t>(sizes.size()),
                      .pPoolSizes = sizes.data()}};
}

// Every Vulkan object of one backend, in creation order (destroyed in reverse).
struct State {
  explicit State(std::unique_ptr<vulkan::Device> device)
      : dev(std::move(device)),
        memory(dev->physical, dev->device, vulkan::largest_buffer(dev->info)),
        pipelines(dev->device, dev->info.max_push_constants),
        commands(
            dev->device,
            vk::CommandPoolCreateInfo{.flags = vk::CommandPoolCreateFlagBits::eResetCommandBuffer,
                                      .queueFamilyIndex = dev->queue_family}),
        cmd(std::move(vk::raii::CommandBuffers(
                          dev->device,
                          vk::CommandBufferAllocateInfo{.commandPool = *commands,
                                                        .level = vk::CommandBufferLevel::ePrimary,
                                                        .commandBufferCount = 1})
                          .front())),
        fence(dev->device, vk::FenceCreateInfo{}),
        descriptors(make_descriptor_pool(dev->device)),
        timer(*dev) {}

  std::unique_ptr<vulkan::Device> dev;  // first: destroyed after everything made from it
  vulkan::Memory memory;
  vulkan::Pipelines pipelines;
  vk::raii::CommandPool commands;
  vk::raii::CommandBuffer cmd;
  vk::raii::Fence fence;
  vk::raii::DescriptorPool descriptors;
  vulkan::GpuTimer timer;
};

class VulkanBackend;

// Layers (the validation layer) keep globals that their own static destructors free; those
// are registered when the loader opens the layer, after any Context the application holds in
// a static was constructed, so they run first and a later vkDestroy* crashes inside the layer.
// An atexit handler registered after the layer loaded runs before them and releases every
// live backend's Vulkan objects while the layers still work.
class LiveBackends {
 public:
  static LiveBackends& get() {
    static LiveBackends* live = new LiveBackends;  // never destroyed: used by the atexit handler
    return *live;
  }
  void add(VulkanBackend* b) {
    std::lock_guard lock(mutex_);
    // First backend since the last went away: its layers may be freshly loaded.
    if (live_.empty()) std::atexit(&release_all);
    live_.insert(b);
  }
  void remove(VulkanBackend* b) {
    std::lock_guard lock(mutex_);
    live_.erase(b);
  }
  static void release_all();

 private:
  std::mutex mutex_;
  std::set<VulkanBackend*> live_;
};

class VulkanBackend final : public BackendImpl {
 public:
  explicit VulkanBackend(std::unique_ptr<vulkan::Device> device)
      : state_(std::make_shared<State>(std::move(device))),
        info_(state_->dev->info),
        limits_(state_->dev->limits) {
    LiveBackends::get().add(this);
  }
  ~VulkanBackend() override {
    LiveBackends::get().remove(this);
    release();
  }
  VulkanBackend(const VulkanBackend&) = delete;
  VulkanBackend& operator=(const VulkanBackend&) = delete;

  // Destroys every Vulkan object now (process exit), except what a live Recording still
  // shares; later calls report the device lost.
  void release() noexcept {
    try {
      // An adopted device's other queues are the application's: waiting on the whole device
      // would need them synchronised. Every submission of ours was waited for already.
      if (state_ && !state_->dev->adopted) state_->dev->device.waitIdle();
    } catch (...) {
      // Destruction proceeds even when the device is already lost.
    }
    kv_caches_.release_all();  // their buffers belong to the device released next
    state_.reset();
  }

  [[nodiscard]] const DeviceInfo& info() const noexcept override { return info_; }
  [[nodiscard]] std::optional<double> last_gpu_seconds() const noexcept override {
    return last_gpu_seconds_;
  }

  // Aliasing owners: a Recording keeps the whole State (device, pipelines) alive.
  [[nodiscard]] std::shared_ptr<const vulkan::Device> vulkan_device() const override {
    return state_ ? std::shared_ptr<const vulkan::Device>(state_, state_->dev.get()) : nullptr;
  }
  [[nodiscard]] std::shared_ptr<vulkan::Pipelines> vulkan_pipelines() const override {
    return state_ ? std::shared_ptr<vulkan::Pipelines>(state_, &state_->pipelines) : nullptr;
  }

  [[nodiscard]] Plan plan(const Problem& problem, Kernel forced) const override {
    if (!state_)
      throw Error(ErrorCode::device_lost, "the Vulkan backend was released at process exit");
    const auto [kernel, reason] = choose_kernel(problem, forced);
    Plan plan;
    plan.kernel = kernel;
    if (kernel == Kernel::three_pass) {
      check_storage_range(problem, problem.dim_qk, problem.dim_v, 0, limits_.maxStorageBufferRange,
                          false);
      if (problem.want_probs) check_readback(sizes_of(problem, 1, 1).probs, info_);
      const vulkan::ThreePassShape shape = vulkan::plan_three_pass(problem, *state_->dev);
      plan.reason = reason;
      plan.rows_per_chunk = shape.rows_per_chunk;
      plan.workspace_bytes = shape.workspace_bytes;
    } else {
      // The tensors first: a problem too large for a buffer is refused for that, whatever its
      // grid would be.
      check_storage_range(problem, vulkan::padded_head_dim(problem.dim_qk),
                          vulkan::padded_head_dim(problem.dim_v), 0,
                          limits_.maxStorageBufferRange, true);
      const vulkan::FlashShape shape = plan_fused(problem, kernel == Kernel::split_kv);
      check_storage_range(problem, shape.dk, shape.dv, shape.workspace_bytes,
                          limits_.maxStorageBufferRange, true);
      plan.reason = reason + "; " + vulkan::shape_reason(shape);
      plan.rows_per_chunk = problem.len_q;
      plan.workspace_bytes = shape.workspace_bytes + shape.partial_lse_bytes;
    }
    return plan;
  }

  [[nodiscard]] std::unique_ptr<KvStorage> create_kv_storage(const KvCacheDesc& desc) override {
    if (!state_)
      throw Error(ErrorCode::device_lost, "the Vulkan backend was released at process exit");
    try {
      return std::make_unique<vulkan::DeviceKvStorage>(*state_->dev, kv_caches_, desc);
    } catch (...) {
      rethrow_translated(false);
    }
  }

  void run(const Problem& problem, const Plan& plan, const AttentionInputs& in,
           const AttentionOutputs& out) override {
    if (!state_)
      throw Error(ErrorCode::device_lost, "the Vulkan backend was released at process exit");
    if (lost_)
      throw Error(ErrorCode::device_lost,
                  "the Vulkan device was lost earlier; recreate the Context");
    try {
      run_call(problem, plan, in, out);
    } catch (...) {
      try {
        rethrow_translated(false);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::device_lost) lost_ = true;
        throw;
      }
    }
  }

 private:
  // The fused kernels' shape for `p`. 16-bit K/V (an f16 or bf16 cache, or an f16/bf16 call's
  // K and V, uploaded as they are) are read through 16-bit variants, or texel views where the
  // device has a format for them (use_half_kv); else the plan is made again without texel
  // buffers.
  [[nodiscard]] vulkan::FlashShape plan_fused(const Problem& p, bool split) const {
    const vulkan::Device& dev = *state_->dev;
    vulkan::FlashShape shape = vulkan::plan_flash(p, dev, split);
    if (p.kv_dtype != DType::f32 && !vulkan::use_half_kv(shape, p.kv_dtype, dev.half_texels)) {
      shape = vulkan::plan_flash(p, dev, split, /*texel_buffers=*/false);
      (void)vulkan::use_half_kv(shape, p.kv_dtype, dev.half_texels);
    }
    return shape;
  }

  // The planner's rules, in order; each returns the one-line reason Plan carries.
  static std::pair<Kernel, std::string> choose_kernel(const Problem& p, Kernel forced) {
    // The three-pass shaders read K/V with unpadded rows of len_kv; a cache is padded to the
    // fused kernels' head dims with capacity rows per slice.
    if (p.kv_cache && (p.want_probs || forced == Kernel::three_pass)) {
      throw Error(ErrorCode::unsupported,
                  std::string("a kv_cache is read by the flash and split-kv kernels only; ") +
                      (p.want_probs ? "probabilities need three-pass" : "three-pass was forced") +
                      " (pass k and v as host views instead)");
    }
    if (p.want_probs) {
      // Only the three-pass kernel materialises P.
      if (forced == Kernel::flash || forced == Kernel::split_kv) {
        throw Error(ErrorCode::unsupported,
                    std::string("kernel ") + to_string(forced) +
                        " cannot return attention probabilities; use three-pass");
      }
      return {Kernel::three_pass, "three-pass: probabilities requested"};
    }
    if (forced != Kernel::automatic) return {forced, std::string(to_string(forced)) + ": forced"};
    // Few query rows per KV head over many keys: one workgroup per KV head would leave the
    // device idle, so slice the keys (decode, KV caches).
    const std::int64_t rows_per_kv_head = p.group() * p.len_q;
    if (p.len_q <= 16 && p.len_kv >= 512 && rows_per_kv_head <= 64) {
      return {Kernel::split_kv,
              "split-kv: Lq=" + std::to_string(p.len_q) + ", Lkv=" + std::to_string(p.len_kv)};
    }
    return {Kernel::flash, "flash: fused online softmax, O(L) memory"};
  }

  void run_call(const Problem& p, const Plan& plan, const AttentionInputs& in,
                const AttentionOutputs& out) {
    State& st = *state_;
    last_gpu_seconds_.reset();  // a call that fails reports no time
    vulkan::Memory& memory = st.memory;
    const vk::raii::CommandBuffer& cmd = st.cmd;
    const bool fused = plan.kernel != Kernel::three_pass;
    vulkan::ThreePassShape shape;
    vulkan::FlashShape fshape;
    if (fused) {
      fshape = plan_fused(p, plan.kernel == Kernel::split_kv);
    } else {
      shape = vulkan::plan_three_pass(p, *st.dev);
    }
    // Flash kernels read zero-padded head dims (see flash_attn.comp).
    const std::int64_t dk = fused ? fshape.dk : p.dim_qk;
    const std::int64_t dv = fused ? fshape.dv : p.dim_v;
    const std::uint64_t workspace_bytes = fused ? fshape.workspace_bytes : shape.workspace_bytes;
    check_storage_range(p, dk, dv, workspace_bytes, limits_.maxStorageBufferRange, fused);
    Sizes s = sizes_of(p, dk, dv);
    const bool want_probs = !out.probs.empty();
    const bool cached = in.kv_cache != nullptr;
    const bool half_kv = fused && fshape.kv_half && !cached;  // 16-bit K/V uploaded as they are
    if (half_kv) {
      s.k /= 2;
      s.v /= 2;
    }

    // Upload: pack straight into mapped memory (or the staging twin). A KV cache is already
    // on the device: its buffers are bound in place of K and V.
    vulkan::Slot& q = memory.get(Role::q, s.q, Access::upload);
    vulkan::Slot* k = cached ? nullptr : &memory.get(Role::k, s.k, Access::upload);
    vulkan::Slot* v = cached ? nullptr : &memory.get(Role::v, s.v, Access::upload);
    vulkan::Slot& dummy = memory.get(Role::dummy, 256, Access::device);
    vulkan::Slot* mask = s.mask > 0 ? &memory.get(Role::mask, s.mask, Access::upload) : nullptr;
    vulkan::Slot* lens =
        s.kv_lens > 0 ? &memory.get(Role::kv_lens, s.kv_lens, Access::upload) : nullptr;
    vulkan::Slot& o = memory.get(Role::out, s.out, Access::download);
    vulkan::Slot& lse = memory.get(Role::lse, s.lse, Access::download);
    vulkan::Slot& work =
        memory.get(Role::workspace, std::max<std::uint64_t>(workspace_bytes, 256), Access::device);
    vulkan::Slot* probs =
        want_probs ? &memory.get(Role::probs, s.probs, Access::readback) : nullptr;

    vulkan::pack_bhld(in.q, static_cast<float*>(q.host()), dk);
    if (half_kv) {
      vulkan::pack_bhld_half(in.k, static_cast<std::uint16_t*>(k->host()), dk);
      vulkan::pack_bhld_half(in.v, static_cast<std::uint16_t*>(v->host()), dv);
    } else if (!cached) {
      vulkan::pack_bhld(in.k, static_cast<float*>(k->host()), dk);
      vulkan::pack_bhld(in.v, static_cast<float*>(v->host()), dv);
    }
    if (mask != nullptr) vulkan::pack_mask(*in.mask, static_cast<float*>(mask->host()));
    if (lens != nullptr) std::memcpy(lens->host(), in.kv_lens.data(), s.kv_lens);

    const vulkan::Binding dummy_binding{*dummy.device.buffer, 256};
    const vulkan::Binding q_b{*q.device.buffer, s.q};
    const std::pair<vulkan::Binding, vulkan::Binding> kv =
        cached ? vulkan::kv_cache_bindings(*in.kv_cache)
               : std::pair{vulkan::Binding{*k->device.buffer, s.k},
                           vulkan::Binding{*v->device.buffer, s.v}};
    const vulkan::Binding k_b = kv.first, v_b = kv.second;
    const vulkan::Binding mask_b =
        mask != nullptr ? vulkan::Binding{*mask->device.buffer, s.mask} : dummy_binding;
    const vulkan::Binding lens_b =
        lens != nullptr ? vulkan::Binding{*lens->device.buffer, s.kv_lens} : dummy_binding;
    const vulkan::Binding o_b{*o.device.buffer, s.out}, lse_b{*lse.device.buffer, s.lse};

    using Stage = vk::PipelineStageFlagBits;
    using Acc = vk::AccessFlagBits;
    const auto barrier = [&](vk::PipelineStageFlags src, vk::PipelineStageFlags dst,
                             vk::AccessFlags sa, vk::AccessFlags da) {
      cmd.pipelineBarrier(src, dst, {}, vk::MemoryBarrier{.srcAccessMask = sa, .dstAccessMask = da},
                          {}, {});
    };
    const auto copy = [&](vk::Buffer from, vk::Buffer to, vk::DeviceSize bytes) {
      cmd.copyBuffer(from, to, vk::BufferCopy{.srcOffset = 0, .dstOffset = 0, .size = bytes});
    };

    cmd.reset();
    cmd.begin(vk::CommandBufferBeginInfo{.flags = vk::CommandBufferUsageFlagBits::eOneTimeSubmit});
    bool staged_inputs = false;
    for (auto [slot, bytes] :
         {std::pair{&q, s.q}, {k, s.k}, {v, s.v}, {mask, s.mask}, {lens, s.kv_lens}}) {
      if (slot == nullptr || !slot->staged()) continue;
      copy(*slot->staging.buffer, *slot->device.buffer, bytes);
      staged_inputs = true;
    }
    // Staged inputs must land before the shaders read them.
    if (staged_inputs)
      barrier(Stage::eTransfer, Stage::eComputeShader, Acc::eTransferWrite, Acc::eShaderRead);
    st.timer.start(cmd);  // GPU time covers the kernels only, not uploads or downloads

    // Texel views of K and V (flash on CPU drivers); they must outlive the submission.
    std::vector<vk::raii::BufferView> views;
    const vk::raii::DescriptorSets sets = [&] {
      if (fused) {
        const std::uint64_t lse_bytes = std::max<std::uint64_t>(fshape.partial_lse_bytes, 256);
        vulkan::Slot& partial_lse = memory.get(Role::partial_lse, lse_bytes, Access::device);
        vulkan::Binding q_in = q_b, k_in = k_b, v_in = v_b;
        if (fshape.texel) {
          // RGBA texels are read for Q too; R32F ones for K and V only. f16 K and V are
          // viewed as RGBA16F (R16F), whose fetch widens them, or for the packed decode
          // variant as RGBA32UI.
          views.reserve(3);
          for (vulkan::Binding* b : {&k_in, &v_in, fshape.texel == 4 ? &q_in : nullptr}) {
            if (b == nullptr) continue;
            const bool half = fshape.kv_half && b != &q_in;
            const vk::Format format =
                half && fshape.kv_packed ? vk::Format::eR32G32B32A32Uint  // 8 halves a texel
                : fshape.texel == 4      ? (half ? vk::Format::eR16G16B16A16Sfloat
                                                 : vk::Format::eR32G32B32A32Sfloat)
                                         : (half ? vk::Format::eR16Sfloat : vk::Format::eR32Sfloat);
            b->view = *views.emplace_back(
                st.dev->device, vk::BufferViewCreateInfo{
                                    .buffer = b->buffer, .format = format, .offset = 0,
                                    .range = b->bytes});
          }
        }
        const vulkan::FlashIo io{
            q_in,
            k_in,
            v_in,
            mask_b,
            lens_b,
            o_b,
            lse_b,
            {*work.device.buffer, std::max<std::uint64_t>(workspace_bytes, 256)},
            {*partial_lse.device.buffer, lse_bytes},
            fshape.work_queue
                ? vulkan::Binding{*memory.get(Role::queue, 256, Access::device).device.buffer, 256}
                : dummy_binding};
        return vulkan::record_flash(st.dev->device, st.descriptors, st.pipelines, cmd, p, fshape,
                                    io);
      }
      const vulkan::ThreePassIo io{q_b,
                                   k_b,
                                   v_b,
                                   mask_b,
                                   lens_b,
                                   o_b,
                                   lse_b,
                                   {*work.device.buffer, shape.workspace_bytes},
                                   probs != nullptr ? *probs->device.buffer : vk::Buffer{}};
      return vulkan::record_three_pass(st.dev->device, st.descriptors, st.pipelines, cmd, p, shape,
                                       io);
    }();
    st.timer.stop(cmd);

    // O and LSE (and P copies) are read next by transfers to staging or by the host.
    barrier(Stage::eComputeShader | Stage::eTransfer, Stage::eTransfer | Stage::eHost,
            Acc::eShaderWrite | Acc::eTransferWrite, Acc::eTransferRead | Acc::eHostRead);
    if (o.staged()) copy(*o.device.buffer, *o.staging.buffer, s.out);
    if (lse.staged()) copy(*lse.device.buffer, *lse.staging.buffer, s.lse);
    // Results copied to staging become visible to the host after the fence.
    barrier(Stage::eTransfer, Stage::eHost, Acc::eTransferWrite, Acc::eHostRead);
    cmd.end();

    const vk::CommandBuffer raw = *cmd;
    st.dev->queue.submit(vk::SubmitInfo{.commandBufferCount = 1, .pCommandBuffers = &raw},
                         *st.fence);
    const vk::Result waited =
        st.dev->device.waitForFences(*st.fence, VK_TRUE, std::numeric_limits<std::uint64_t>::max());
    st.dev->device.resetFences(*st.fence);
    if (waited != vk::Result::eSuccess) {
      throw Error(ErrorCode::vulkan_error, "vkWaitForFences returned " + vk::to_string(waited));
    }
    last_gpu_seconds_ = st.timer.seconds();

    vulkan::unpack_bhld(static_cast<const float*>(o.host()), out.out, dv);
    if (!out.lse.empty()) std::memcpy(out.lse.data(), lse.host(), out.lse.size_bytes());
    if (probs != nullptr) std::memcpy(out.probs.data(), probs->host(), out.probs.size_bytes());
  }

  // Live KV caches of this backend (they share its ownership, so it outlives them).
  vulkan::KvRegistry kv_caches_;
  std::shared_ptr<State> state_;  // null after release(); Recordings may share it
  DeviceInfo info_;
  vk::PhysicalDeviceLimits limits_;
  bool lost_ = false;
  std::optional<double> last_gpu_seconds_;  // of the last run() that completed
};

void LiveBackends::release_all() {
  LiveBackends& self = get();
  std::lock_guard lock(self.mutex_);
  for (VulkanBackend* b : self.live_) b->release();
}

}  // namespace

std::unique_ptr<BackendImpl> make_vulkan_backend(const Options& options) {
  try {
    return std::make_unique<VulkanBackend>(vulkan::open_device(options));
  } catch (...) {
    rethrow_translated(true);
  }
}

std::unique_ptr<BackendImpl> adopt_vulkan_backend(const ExternalVulkan& external,
                                                  const Options& options) {
  try {
    return std::make_unique<VulkanBackend>(vulkan::adopt_device(external, options));
  } catch (...) {
    rethrow_translated(true);
  }
}

std::vector<DeviceInfo> list_vulkan_devices() noexcept {
  try {
    return vulkan::enumerate_devices();
  } catch (...) {
    return {};  // no loader, no driver, or any failure: no devices
  }
}

}  // namespace vkattn::detail
