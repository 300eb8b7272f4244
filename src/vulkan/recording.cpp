// SPDX-License-Identifier: MIT
// record_attention: the kernels recorded into the application's command buffer over its own
// buffers. Each Recording owns its descriptor sets and workspace (so recordings in flight
// never share scratch memory) and keeps the Context's device and pipelines alive.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "core/context_impl.hpp"
#include "vkattn/error.hpp"
#include "vkattn/vulkan_interop.hpp"
#include "vulkan/device.hpp"
#include "vulkan/errors.hpp"
#include "vulkan/flash.hpp"
#include "vulkan/memory.hpp"
#include "vulkan/pipelines.hpp"
#include "vulkan/three_pass.hpp"

namespace vkattn {

struct Recording::Impl {
  Impl(std::shared_ptr<const vulkan::Device> d, std::shared_ptr<vulkan::Pipelines> p)
      : dev(std::move(d)),
        pipelines(std::move(p)),
        memory(dev->physical, dev->device, vulkan::largest_buffer(dev->info)) {}

  // Destroyed in reverse order: the sets, their pool and the workspace go before the device.
  std::shared_ptr<const vulkan::Device> dev;
  std::shared_ptr<vulkan::Pipelines> pipelines;  // the recorded pipelines must outlive execution
  vulkan::Memory memory;                         // this recording's own workspace
  vk::raii::DescriptorPool pool = nullptr;
  std::optional<vk::raii::DescriptorSets> sets;
  Plan plan;
};

namespace {

using vulkan::Access;
using vulkan::Role;

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCode::invalid_argument, message);
}
[[noreturn]] void unsupported(const std::string& message) {
  throw Error(ErrorCode::unsupported, message);
}

std::uint64_t f32_bytes(std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t d) {
  return static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b) *
         static_cast<std::uint64_t>(c) * static_cast<std::uint64_t>(d) * sizeof(float);
}

struct NamedTensor {
  const char* name;
  DeviceTensor tensor;
  std::uint64_t bytes;
};

// Offsets and sizes against the device limits a descriptor write must respect.
void check_tensors(std::initializer_list<NamedTensor> tensors, const vk::PhysicalDeviceLimits& l) {
  for (const NamedTensor& t : tensors) {
    const std::string name = t.name;
    if (t.tensor.buffer == VK_NULL_HANDLE) invalid(name + ".buffer is null");
    const vk::DeviceSize align = l.minStorageBufferOffsetAlignment;
    if (align > 1 && t.tensor.offset % align != 0) {
      invalid(name + ".offset=" + std::to_string(t.tensor.offset) +
              " is not a multiple of minStorageBufferOffsetAlignment=" + std::to_string(align));
    }
    if (t.bytes > l.maxStorageBufferRange) {
      unsupported(
          name + " needs " + std::to_string(t.bytes) +
          " bytes as f32, above maxStorageBufferRange=" + std::to_string(l.maxStorageBufferRange));
    }
  }
}

// The backend's plan, except that the fused kernels read head dims padded to a few sizes
// (vulkan::padded_head_dim) and application tensors are unpadded: other sizes take three-pass.
Plan choose_plan(const detail::BackendImpl& backend, const detail::Problem& p, Kernel forced) {
  Plan plan = backend.plan(p, forced);
  if (plan.kernel == Kernel::three_pass) return plan;
  if (vulkan::padded_head_dim(p.dim_qk) == p.dim_qk && vulkan::padded_head_dim(p.dim_v) == p.dim_v)
    return plan;
  const std::string why = "head_dim=" + std::to_string(p.dim_qk) +
                          " / head_dim_v=" + std::to_string(p.dim_v) +
                          " is not a size the fused kernels read from unpadded application "
                          "buffers (16, 32, 48, 64, then multiples of 32)";
  if (forced != Kernel::automatic) {
    unsupported(std::string("kernel ") + to_string(forced) + " cannot be recorded: " + why +
                "; use three-pass or pad the tensors");
  }
  plan = backend.plan(p, Kernel::three_pass);
  plan.reason = "three-pass: " + why;
  return plan;
}

vk::raii::DescriptorPool make_pool(const vk::raii::Device& device) {
  // Flash + combine bind 7 + 4 buffers in 2 sets; three-pass 5 + 2 + 3 in 3 sets.
  const vk::DescriptorPoolSize size{.type = vk::DescriptorType::eStorageBuffer,
                                    .descriptorCount = 16};
  // FREE_DESCRIPTOR_SET: vk::raii::DescriptorSets free themselves.
  return {device, vk::DescriptorPoolCreateInfo{
                      .flags = vk::DescriptorPoolCreateFlagBits::eFreeDescriptorSet,
                      .maxSets = 3,
                      .poolSizeCount = 1,
                      .pPoolSizes = &size}};
}

// The application's command buffer seen through vk::raii for the record_* helpers, released
// (never freed) when done.
struct BorrowedCommandBuffer {
  BorrowedCommandBuffer(const vk::raii::Device& device, VkCommandBuffer raw)
      : cmd(device, raw, VK_NULL_HANDLE) {}
  BorrowedCommandBuffer(const BorrowedCommandBuffer&) = delete;
  BorrowedCommandBuffer& operator=(const BorrowedCommandBuffer&) = delete;
  ~BorrowedCommandBuffer() { (void)cmd.release(); }
  vk::raii::CommandBuffer cmd;
};

vulkan::Binding bind(const DeviceTensor& t, std::uint64_t bytes) {
  return {.buffer = t.buffer, .bytes = bytes, .view = {}, .offset = t.offset};
}
vulkan::Binding bind(const vulkan::Slot& slot, std::uint64_t bytes) {
  return {.buffer = *slot.device.buffer, .bytes = bytes, .view = {}, .offset = 0};
}

void record(Recording::Impl& r, VkCommandBuffer raw, const detail::Problem& p,
            const DeviceInputs& in, const DeviceOutputs& out) {
  const vulkan::Device& dev = *r.dev;
  const std::uint64_t q_bytes = f32_bytes(p.batch, p.heads_q, p.len_q, p.dim_qk);
  const std::uint64_t k_bytes = f32_bytes(p.batch, p.heads_kv, p.len_kv, p.dim_qk);
  const std::uint64_t v_bytes = f32_bytes(p.batch, p.heads_kv, p.len_kv, p.dim_v);
  const std::uint64_t o_bytes = f32_bytes(p.batch, p.heads_q, p.len_q, p.dim_v);
  const std::uint64_t lse_bytes = f32_bytes(p.batch, p.heads_q, p.len_q, 1);

  // Masks and kv_lens are not recorded: their bindings point at a small dummy.
  const vulkan::Binding dummy = bind(r.memory.get(Role::dummy, 256, Access::device), 256);
  // The kernels always write LSE; without the application's, into scratch.
  const vulkan::Binding lse =
      p.want_lse ? bind(out.lse, lse_bytes)
                 : bind(r.memory.get(Role::lse, lse_bytes, Access::device), lse_bytes);
  // The application's tensors, bound in place by either kernel family.
  const vulkan::Binding q = bind(in.q, q_bytes), k = bind(in.k, k_bytes), v = bind(in.v, v_bytes),
                        o = bind(out.out, o_bytes);
  r.pool = make_pool(dev.device);
  BorrowedCommandBuffer cmd(dev.device, raw);
  if (r.plan.kernel == Kernel::three_pass) {
    const vulkan::ThreePassShape shape = vulkan::plan_three_pass(p, dev);
    const vulkan::ThreePassIo io{
        q,
        k,
        v,
        dummy,
        dummy,
        o,
        lse,
        bind(r.memory.get(Role::workspace, shape.workspace_bytes, Access::device),
             shape.workspace_bytes),
        vk::Buffer{}};
    r.sets.emplace(
        vulkan::record_three_pass(dev.device, r.pool, *r.pipelines, cmd.cmd, p, shape, io));
    return;
  }
  // Texel views need UNIFORM_TEXEL_BUFFER usage and texel-aligned offsets that application
  // buffers need not have; storage reads compute the same result. The tiled kernel reads
  // vec4s, which need 16-byte offsets (minStorageBufferOffsetAlignment may be 4).
  const bool vec4_offsets = in.q.offset % 16 == 0 && in.k.offset % 16 == 0 &&
                            in.v.offset % 16 == 0 && out.out.offset % 16 == 0;
  const bool split = r.plan.kernel == Kernel::split_kv;
  const vulkan::FlashShape shape =
      vulkan::plan_flash(p, dev, split, /*texel_buffers=*/false, vec4_offsets);
  // The backend's plan described the shape it would run over its own (texel) buffers; say
  // what is recorded instead: its reason ends with that shape's shape_reason().
  const std::string planned = vulkan::shape_reason(vulkan::plan_flash(p, dev, split));
  if (r.plan.reason.ends_with(planned)) {
    r.plan.reason.replace(r.plan.reason.size() - planned.size(), planned.size(),
                          vulkan::shape_reason(shape));
    r.plan.workspace_bytes = shape.workspace_bytes + shape.partial_lse_bytes;
  }
  const std::uint64_t work_bytes = std::max<std::uint64_t>(shape.workspace_bytes, 256);
  const std::uint64_t plse_bytes = std::max<std::uint64_t>(shape.partial_lse_bytes, 256);
  const vulkan::FlashIo io{
      q,
      k,
      v,
      dummy,
      dummy,
      o,
      lse,
      bind(r.memory.get(Role::workspace, work_bytes, Access::device), work_bytes),
      bind(r.memory.get(Role::partial_lse, plse_bytes, Access::device), plse_bytes),
      shape.work_queue ? bind(r.memory.get(Role::queue, 256, Access::device), 256) : dummy};
  r.sets.emplace(vulkan::record_flash(dev.device, r.pool, *r.pipelines, cmd.cmd, p, shape, io));
}

}  // namespace

Recording::Recording(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Recording::Recording(Recording&&) noexcept = default;
Recording& Recording::operator=(Recording&&) noexcept = default;
Recording::~Recording() = default;

const Plan& Recording::plan() const noexcept {
  static const Plan kEmpty{};
  return impl_ ? impl_->plan : kEmpty;
}

Recording record_attention(Context& context, VkCommandBuffer cmd, const AttentionDesc& desc,
                           const DeviceInputs& in, const DeviceOutputs& out) {
  try {
    Context::Impl* ctx = detail::ContextAccess::impl(context);
    if (ctx == nullptr) invalid("record_attention: the Context was moved from");
    if (cmd == VK_NULL_HANDLE) invalid("record_attention: cmd is null");
    detail::Problem p = detail::validate_desc(desc);
    p.want_lse = out.lse.buffer != VK_NULL_HANDLE;
    if (p.dtype != DType::f32) {
      // The device layout is f32; reading f16/bf16 data as f32 would be silently wrong.
      unsupported(std::string("record_attention reads f32 tensors; desc.dtype=") +
                  to_string(p.dtype) + " is not supported when recording");
    }

    // Pipelines are created lazily and the backend's planner reads shared state.
    std::lock_guard lock(ctx->backend->call_mutex);
    std::shared_ptr<const vulkan::Device> dev = ctx->backend->vulkan_device();
    if (dev == nullptr) {
      if (ctx->backend->info().backend != Backend::vulkan)
        unsupported("record_attention needs a Vulkan Context; this one runs on the CPU backend");
      throw Error(ErrorCode::device_lost, "the Vulkan backend was released at process exit");
    }
    std::initializer_list<NamedTensor> tensors{
        {"in.q", in.q, f32_bytes(p.batch, p.heads_q, p.len_q, p.dim_qk)},
        {"in.k", in.k, f32_bytes(p.batch, p.heads_kv, p.len_kv, p.dim_qk)},
        {"in.v", in.v, f32_bytes(p.batch, p.heads_kv, p.len_kv, p.dim_v)},
        {"out.out", out.out, f32_bytes(p.batch, p.heads_q, p.len_q, p.dim_v)}};
    check_tensors(tensors, dev->limits);
    if (p.want_lse)
      check_tensors({{"out.lse", out.lse, f32_bytes(p.batch, p.heads_q, p.len_q, 1)}}, dev->limits);

    auto impl = std::make_unique<Recording::Impl>(dev, ctx->backend->vulkan_pipelines());
    impl->plan = choose_plan(*ctx->backend, p, ctx->forced);
    record(*impl, cmd, p, in, out);
    return Recording(std::move(impl));
  } catch (...) {
    vulkan::rethrow_translated(false);
  }
}

}  // namespace vkattn
