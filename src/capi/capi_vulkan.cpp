// SPDX-License-Identifier: MIT
// The C form of the Vulkan interop (include/vkattn/vkattn_vulkan.h): a thin translation onto
// vkattn::Context::adopt and vkattn::record_attention, whose validation judges everything.
#include "vkattn/vkattn_vulkan.h"

#include <string>
#include <utility>

#include "capi/capi_common.hpp"
#include "vkattn/vulkan_interop.hpp"

struct vkattn_recording {
  vkattn::Recording recording;
};

namespace {

using namespace vkattn::capi;

// The reason vkattn_recording_plan hands out: valid until it runs again on this thread.
thread_local std::string t_recording_reason;

vkattn::DeviceTensor to_tensor(const vkattn_device_tensor& t) { return {t.buffer, t.offset}; }

}  // namespace

extern "C" {

void vkattn_external_vulkan_init(vkattn_external_vulkan* external) {
  if (external == nullptr) return;
  *external = defaults_with_size<vkattn_external_vulkan>();
  external->api_version = VK_API_VERSION_1_1;
}

void vkattn_device_inputs_init(vkattn_device_inputs* inputs) {
  if (inputs != nullptr) *inputs = defaults_with_size<vkattn_device_inputs>();
}

void vkattn_device_outputs_init(vkattn_device_outputs* outputs) {
  if (outputs != nullptr) *outputs = defaults_with_size<vkattn_device_outputs>();
}

vkattn_status vkattn_context_adopt(const vkattn_external_vulkan* external,
                                   const vkattn_options* options, vkattn_context** out) {
  return guarded([&] {
    require(out, "out");
    *out = nullptr;
    require(external, "external");
    require_size(*external, "external");
    vkattn::ExternalVulkan vk;
    vk.instance = external->instance;
    vk.physical_device = external->physical_device;
    vk.device = external->device;
    vk.queue = external->queue;
    vk.queue_family = external->queue_family;
    vk.api_version = external->api_version;
    vkattn::Context context = vkattn::Context::adopt(vk, to_options(options));
    *out = new vkattn_context{std::move(context)};
  });
}

vkattn_status vkattn_record_attention(vkattn_context* ctx, VkCommandBuffer cmd,
                                      const vkattn_attention_desc* desc,
                                      const vkattn_device_inputs* inputs,
                                      const vkattn_device_outputs* outputs,
                                      vkattn_recording** recording) {
  return guarded([&] {
    require(recording, "recording");
    *recording = nullptr;
    require(ctx, "ctx");
    require(desc, "desc");
    require(inputs, "inputs");
    require(outputs, "outputs");
    require_size(*inputs, "inputs");
    require_size(*outputs, "outputs");
    const vkattn::DeviceInputs in{to_tensor(inputs->q), to_tensor(inputs->k), to_tensor(inputs->v)};
    const vkattn::DeviceOutputs out{to_tensor(outputs->out), to_tensor(outputs->lse)};
    vkattn::Recording r = vkattn::record_attention(ctx->context, cmd, to_desc(*desc), in, out);
    *recording = new vkattn_recording{std::move(r)};
  });
}

vkattn_status vkattn_recording_plan(const vkattn_recording* recording, vkattn_plan* out) {
  return guarded([&] {
    require(recording, "recording");
    require(out, "out");
    require_size(*out, "out");
    to_c_plan(recording->recording.plan(), t_recording_reason, *out);
  });
}

void vkattn_recording_destroy(vkattn_recording* recording) { delete recording; }

}  // extern "C"
