/* SPDX-License-Identifier: MIT */
#ifndef VKATTN_VKATTN_VULKAN_H_
#define VKATTN_VKATTN_VULKAN_H_

/**
 * @file
 * The C form of vkattn/vulkan_interop.hpp, for C callers that own Vulkan: adopt their
 * instance, device and queue (vkattn_context_adopt), and record attention into their command
 * buffers over their own buffers (vkattn_record_attention) without vkattn submitting anything.
 * C99, the conventions of vkattn/vkattn.h (statuses, struct_size, vkattn_last_error_message);
 * the only C header that includes <vulkan/vulkan.h>. docs/interop.md has the whole protocol.
 */

#include <vulkan/vulkan.h>

#include "vkattn/vkattn.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Vulkan objects the application created and keeps owning (vkattn::ExternalVulkan): vkattn
 * never destroys them, and the application destroys them only after every context adopting
 * them, and every recording made from such a context, is gone. Requirements: an instance
 * created with apiVersion >= 1.1 (said in `api_version`), a physical device of it reporting
 * Vulkan >= 1.1, a device created from it, and a queue of `queue_family`, a family with
 * VK_QUEUE_COMPUTE_BIT; the handles come from the system loader (libvulkan.so.1).
 */
typedef struct vkattn_external_vulkan {
  uint32_t struct_size; /**< sizeof(vkattn_external_vulkan), set by the _init function. */
  VkInstance instance;
  VkPhysicalDevice physical_device;
  VkDevice device;
  /** The queue vkattn_attention() submits to (recordings never submit); not used by the
   *  application from another thread during such a call. */
  VkQueue queue;
  uint32_t queue_family; /**< Family index `queue` belongs to. */
  /** VkApplicationInfo::apiVersion of the instance (default VK_API_VERSION_1_1). */
  uint32_t api_version;
} vkattn_external_vulkan;

/** One f32 tensor in an application buffer, contiguous from `offset` bytes into `buffer`
 *  (vkattn::DeviceTensor): `offset` a multiple of minStorageBufferOffsetAlignment, the
 *  buffer created with VK_BUFFER_USAGE_STORAGE_BUFFER_BIT. Frozen: its layout never changes. */
typedef struct vkattn_device_tensor {
  VkBuffer buffer;
  VkDeviceSize offset;
} vkattn_device_tensor;

/** Inputs of a recorded call, f32 contiguous BHLD: q [B, Hq, Lq, Dk], k [B, Hkv, Lkv, Dk],
 *  v [B, Hkv, Lkv, Dv] (no masks or kv_lens when recording). */
typedef struct vkattn_device_inputs {
  uint32_t struct_size; /**< sizeof(vkattn_device_inputs), set by the _init function. */
  vkattn_device_tensor q;
  vkattn_device_tensor k;
  vkattn_device_tensor v;
} vkattn_device_inputs;

/** Outputs of a recorded call: `out` f32 [B, Hq, Lq, Dv]; `lse` f32 [B, Hq, Lq], natural log,
 *  -inf for rows that see no key, or a VK_NULL_HANDLE buffer when not wanted. */
typedef struct vkattn_device_outputs {
  uint32_t struct_size; /**< sizeof(vkattn_device_outputs), set by the _init function. */
  vkattn_device_tensor out;
  vkattn_device_tensor lse;
} vkattn_device_outputs;

/** What one vkattn_record_attention() recorded, and the descriptor sets, workspace and
 *  device objects its commands use (vkattn::Recording). */
typedef struct vkattn_recording vkattn_recording;

/** Zeroes `external`, sets struct_size and api_version = VK_API_VERSION_1_1. Does nothing
 *  when NULL. */
void vkattn_external_vulkan_init(vkattn_external_vulkan* external);

/** Zeroes `inputs` (null buffers) and sets struct_size. Does nothing when NULL. */
void vkattn_device_inputs_init(vkattn_device_inputs* inputs);

/** Zeroes `outputs` (null buffers: no lse) and sets struct_size. Does nothing when NULL. */
void vkattn_device_outputs_init(vkattn_device_outputs* outputs);

/**
 * A context on the application's device (vkattn::Context::adopt): vkattn_attention() and KV
 * caches work on it as on any context, and vkattn_record_attention() records into the
 * application's command buffers. Destroy it with vkattn_context_destroy(), which leaves the
 * application's objects alive.
 * @param options NULL for the defaults; `backend` must be AUTO or VULKAN and `device` NULL
 *        (the device is the adopted one); `validation` installs no layer (the application's
 *        instance decides), and so is refused.
 * @param out receives the context on success and NULL on failure; must not be NULL.
 * @return VKATTN_INVALID_ARGUMENT for NULL handles, a family without compute, or options that
 *         do not apply; VKATTN_UNSUPPORTED below Vulkan 1.1.
 */
vkattn_status vkattn_context_adopt(const vkattn_external_vulkan* external,
                                   const vkattn_options* options, vkattn_context** out);

/**
 * Records softmax(scale·QKᵀ + causal/window)·V into `cmd`, a command buffer of the adopted
 * device in the recording state, over the application's buffers (vkattn::record_attention);
 * nothing is submitted. Before: make the inputs visible to compute-shader reads. After:
 * consume the outputs behind a barrier from VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT /
 * VK_ACCESS_SHADER_WRITE_BIT. vkattn binds its own pipeline, descriptor sets and push
 * constants: rebind yours afterwards. `desc` must be F32 without masks or kv_lens.
 * @param recording receives the recording on success and NULL on failure; must not be NULL.
 *        **Destroy it only after `cmd` has completed execution** (or was reset or freed
 *        unsubmitted): its workspace is in use until then. Any number may be in flight.
 * @return VKATTN_INVALID_ARGUMENT for a NULL command buffer or tensor buffer, a misaligned
 *         offset or a malformed desc; VKATTN_UNSUPPORTED on a context that did not adopt a
 *         device, for a tensor past maxStorageBufferRange or a forced kernel that does not
 *         apply; VKATTN_OUT_OF_MEMORY when the workspace cannot be allocated.
 */
vkattn_status vkattn_record_attention(vkattn_context* ctx, VkCommandBuffer cmd,
                                      const vkattn_attention_desc* desc,
                                      const vkattn_device_inputs* inputs,
                                      const vkattn_device_outputs* outputs,
                                      vkattn_recording** recording);

/**
 * The kernel a recording recorded and why. The reason is owned by the library and valid
 * until this function runs again on the same thread.
 * @param out filled by vkattn_plan_init(); must not be NULL.
 */
vkattn_status vkattn_recording_plan(const vkattn_recording* recording, vkattn_plan* out);

/** Destroys a recording (see vkattn_record_attention() for when). NULL is ignored. */
void vkattn_recording_destroy(vkattn_recording* recording);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* VKATTN_VKATTN_VULKAN_H_ */
