// SPDX-License-Identifier: MIT
#pragma once

/// @file
/// Using vkattn inside an application that already owns Vulkan: adopt its instance, device
/// and queue (`Context::adopt`), and record attention into its command buffers over its own
/// buffers (`record_attention`) without vkattn submitting anything. The only public header
/// that includes <vulkan/vulkan.h>; see docs/interop.md for a complete example.

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>

#include "vkattn/context.hpp"
#include "vkattn/types.hpp"

namespace vkattn {

/// Vulkan objects the application created and keeps owning. `Context::adopt` never destroys
/// them; the application destroys them only after every Context adopting them (and every
/// Recording made from such a Context) is gone.
///
/// Requirements: an instance created with `apiVersion` >= 1.1 (say which in `api_version`),
/// a physical device of that instance reporting Vulkan >= 1.1, a device created from it, and a
/// queue of `queue_family`, a family with VK_QUEUE_COMPUTE_BIT. vkattn enables no device
/// feature or extension of its own, so any such device works. vkattn calls Vulkan through the
/// system loader (libvulkan.so.1, opened at run time), so the handles must come from that
/// loader: true when the application links libvulkan or loads it with volk.
struct ExternalVulkan {
  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical_device = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  /// The queue `Context::attention` submits to (recordings never submit). The application
  /// must not use it from another thread during a `Context::attention` call: vkQueueSubmit
  /// needs external synchronisation.
  VkQueue queue = VK_NULL_HANDLE;
  std::uint32_t queue_family = 0;  ///< Family index `queue` belongs to.
  /// `VkApplicationInfo::apiVersion` the instance was created with (>= VK_API_VERSION_1_1).
  std::uint32_t api_version = VK_API_VERSION_1_1;
};

/// One tensor in an application-owned buffer: f32 elements, contiguous, starting at `offset`
/// bytes into `buffer`. `offset` must be a multiple of the device's
/// minStorageBufferOffsetAlignment; the tensor's bytes must fit maxStorageBufferRange and lie
/// inside the buffer. The buffer needs VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.
struct DeviceTensor {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
};

/// Inputs of a recorded call, f32, contiguous BHLD: q [B, Hq, Lq, Dk], k [B, Hkv, Lkv, Dk],
/// v [B, Hkv, Lkv, Dv]. Masks and kv_lens are not supported when recording (use
/// `AttentionDesc::causal` and the window, or the host API).
struct DeviceInputs {
  DeviceTensor q;
  DeviceTensor k;
  DeviceTensor v;
};

/// Outputs of a recorded call: `out` f32 contiguous [B, Hq, Lq, Dv]; `lse` optional (null
/// buffer = not wanted) f32 [B, Hq, Lq], natural log, -inf for rows that see no key.
struct DeviceOutputs {
  DeviceTensor out;
  DeviceTensor lse;
};

/// What a `record_attention` call recorded, and the descriptor sets, workspace and device
/// objects its commands use. Move-only. **Keep it alive until the command buffer it was
/// recorded into has completed execution** (or was reset or freed without being submitted):
/// destroying it earlier frees memory the GPU may still be using. Each Recording owns its
/// workspace, so any number of them can be in flight at once. It keeps the Context's device
/// objects alive, so it may outlive the Context (never the application's VkDevice).
class Recording {
 public:
  Recording(Recording&&) noexcept;
  Recording& operator=(Recording&&) noexcept;
  Recording(const Recording&) = delete;
  Recording& operator=(const Recording&) = delete;
  ~Recording();

  /// The kernel that was recorded and why (e.g. "three-pass: head_dim=80 is not a padded
  /// size the fused kernels read from application buffers").
  [[nodiscard]] const Plan& plan() const noexcept;

  struct Impl;

 private:
  explicit Recording(std::unique_ptr<Impl> impl);
  friend Recording record_attention(Context&, VkCommandBuffer, const AttentionDesc&,
                                    const DeviceInputs&, const DeviceOutputs&);
  std::unique_ptr<Impl> impl_;
};

/// Records softmax(scale·QKᵀ + causal/window)·V into `cmd` (a primary or secondary compute
/// command buffer of the adopted device, in the recording state), reading and writing the
/// application's buffers. Nothing is submitted: the application owns synchronisation.
///
/// - Before: make the inputs visible to compute-shader reads, e.g. a barrier with dstStageMask
///   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT and dstAccessMask VK_ACCESS_SHADER_READ_BIT (and
///   nothing may still read or write `out`/`lse`).
/// - vkattn records its own barriers between its passes, and binds its own compute pipeline,
///   descriptor sets and push constants: rebind yours afterwards.
/// - After: outputs are written by compute shaders. Consume them behind a barrier with
///   srcStageMask VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT and srcAccessMask
///   VK_ACCESS_SHADER_WRITE_BIT (dst: your stage and access, e.g. TRANSFER/TRANSFER_READ or
///   HOST/HOST_READ).
///
/// Kernel choice follows `Context::plan` (and a forced `Options::kernel`), with one rule more:
/// the fused kernels (flash, split-kv) read head dims padded to 16, 32, 48, 64, then multiples
/// of 32, so for other Dk or Dv the three-pass kernel is recorded.
///
/// Thread-safety: serialised with the Context's other calls; the command buffer needs the
/// application's usual external synchronisation.
/// @throws Error{invalid_argument} for a null command buffer or tensor buffer, a misaligned
///         offset, or a malformed desc; Error{unsupported} on a CPU Context, for a tensor above
///         maxStorageBufferRange, desc.dtype other than f32, or a forced fused kernel with an unpadded head dim;
///         Error{out_of_memory} when the workspace cannot be allocated.
[[nodiscard]] Recording record_attention(Context& context, VkCommandBuffer cmd,
                                         const AttentionDesc& desc, const DeviceInputs& in,
                                         const DeviceOutputs& out);

}  // namespace vkattn
