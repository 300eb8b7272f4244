/* SPDX-License-Identifier: MIT */
/* vkattn inside a C application that already uses Vulkan (include/vkattn/vkattn_vulkan.h):
 *   1. the application creates its instance, device and compute queue;
 *   2. vkattn_context_adopt wraps them (nothing is created or destroyed behind its back);
 *   3. the application's buffer holds Q, K, V, O and LSE at aligned offsets;
 *   4. vkattn_record_attention records into the application's command buffer, between the
 *      application's own barriers; the application submits and waits;
 *   5. the result is checked against a naive double-precision attention. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <vulkan/vulkan.h>

#include "vkattn/vkattn_vulkan.h"

#define VK_CHECK(call)                                                             \
  do {                                                                             \
    const VkResult r_ = (call);                                                    \
    if (r_ != VK_SUCCESS) {                                                        \
      fprintf(stderr, "interop_c: %s failed with VkResult %d\n", #call, (int)r_); \
      exit(1);                                                                     \
    }                                                                              \
  } while (0)

enum { B = 1, HQ = 4, HKV = 2, LQ = 16, LKV = 64, D = 64 };

/* softmax(QKᵀ/sqrt(D) with bottom-right causal)·V in double, BHLD, GQA; returns the largest
 * |got - want| over the output (infinity for a NaN). */
static double max_error(const float* q, const float* k, const float* v, const float* got) {
  const double scale = 1.0 / sqrt((double)D);
  double err = 0.0;
  double s[LKV];
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < HQ; ++h)
      for (int i = 0; i < LQ; ++i) {
        const float* qi = q + ((b * HQ + h) * LQ + i) * D;
        const int kvh = h / (HQ / HKV);
        const int visible = i + LKV - LQ + 1; /* bottom-right causal: keys j <= i + LKV - LQ */
        double m = -INFINITY, sum = 0.0;
        for (int j = 0; j < visible; ++j) {
          const float* kj = k + ((b * HKV + kvh) * LKV + j) * D;
          double dot = 0.0;
          for (int d = 0; d < D; ++d) dot += (double)qi[d] * kj[d];
          s[j] = dot * scale;
          if (s[j] > m) m = s[j];
        }
        for (int j = 0; j < visible; ++j) sum += (s[j] = exp(s[j] - m));
        for (int d = 0; d < D; ++d) {
          double want = 0.0;
          for (int j = 0; j < visible; ++j) want += s[j] / sum * v[((b * HKV + kvh) * LKV + j) * D + d];
          const double e = fabs((double)got[((b * HQ + h) * LQ + i) * D + d] - want);
          err = isnan(e) ? INFINITY : (e > err ? e : err);
        }
      }
  return err;
}

/* The next offset aligned for a storage buffer, after `floats` floats at `*at`. */
static VkDeviceSize place(VkDeviceSize* at, size_t floats, VkDeviceSize align) {
  const VkDeviceSize here = *at;
  *at = (*at + floats * sizeof(float) + align - 1) / align * align;
  return here;
}

int main(void) {
  /* --- 1. The application's Vulkan objects. */
  VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "vkattn C interop example";
  app.apiVersion = VK_API_VERSION_1_1; /* vkattn needs >= 1.1 */
  VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ici.pApplicationInfo = &app;
  VkInstance instance = VK_NULL_HANDLE;
  VK_CHECK(vkCreateInstance(&ici, NULL, &instance));

  VkPhysicalDevice physicals[16];
  uint32_t count = 16;
  const VkResult listed = vkEnumeratePhysicalDevices(instance, &count, physicals);
  if (listed != VK_SUCCESS && listed != VK_INCOMPLETE) VK_CHECK(listed);
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  uint32_t family = 0;
  for (uint32_t p = 0; p < count && physical == VK_NULL_HANDLE; ++p) {
    VkQueueFamilyProperties families[16];
    uint32_t n = 16;
    vkGetPhysicalDeviceQueueFamilyProperties(physicals[p], &n, families);
    for (uint32_t f = 0; f < n && physical == VK_NULL_HANDLE; ++f)
      if (families[f].queueFlags & VK_QUEUE_COMPUTE_BIT) {
        physical = physicals[p];
        family = f;
      }
  }
  if (physical == VK_NULL_HANDLE) {
    fprintf(stderr, "interop_c: no Vulkan device with a compute queue\n");
    return 1;
  }
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  VkDevice device = VK_NULL_HANDLE;
  VK_CHECK(vkCreateDevice(physical, &dci, NULL, &device));
  VkQueue queue = VK_NULL_HANDLE;
  vkGetDeviceQueue(device, family, 0, &queue);

  /* --- 3. One host-visible buffer: Q, K, V, O, LSE at offsets aligned for storage buffers. */
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(physical, &props);
  const VkDeviceSize align = props.limits.minStorageBufferOffsetAlignment > 4
                                 ? props.limits.minStorageBufferOffsetAlignment
                                 : 4;
  const size_t nq = B * HQ * LQ * D, nk = B * HKV * LKV * D, nlse = B * HQ * LQ;
  VkDeviceSize total = 0;
  const VkDeviceSize q_at = place(&total, nq, align), k_at = place(&total, nk, align),
                     v_at = place(&total, nk, align), o_at = place(&total, nq, align),
                     lse_at = place(&total, nlse, align);
  VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = total;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT; /* all vkattn needs */
  VkBuffer buffer = VK_NULL_HANDLE;
  VK_CHECK(vkCreateBuffer(device, &bci, NULL, &buffer));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device, buffer, &req);
  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(physical, &mem);
  const VkMemoryPropertyFlags host =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = mem.memoryTypeCount;
  for (uint32_t t = 0; t < mem.memoryTypeCount; ++t)
    if ((req.memoryTypeBits & (1u << t)) && (mem.memoryTypes[t].propertyFlags & host) == host) {
      mai.memoryTypeIndex = t;
      break;
    }
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VK_CHECK(vkAllocateMemory(device, &mai, NULL, &memory));
  VK_CHECK(vkBindBufferMemory(device, buffer, memory, 0));
  void* mapped = NULL;
  VK_CHECK(vkMapMemory(device, memory, 0, VK_WHOLE_SIZE, 0, &mapped));
  float* const q = (float*)((char*)mapped + q_at);
  float* const k = (float*)((char*)mapped + k_at);
  float* const v = (float*)((char*)mapped + v_at);
  const float* const o = (const float*)((char*)mapped + o_at);
  uint32_t seed = 12345;
  for (size_t i = 0; i < nq + 2 * nk; ++i) {
    seed = seed * 1664525u + 1013904223u;
    const float x = (float)(seed >> 8) / 8388608.0f - 1.0f; /* [-1, 1) */
    if (i < nq) q[i] = x;
    else if (i < nq + nk) k[i - nq] = x;
    else v[i - nq - nk] = x;
  }

  VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.queueFamilyIndex = family;
  VkCommandPool pool = VK_NULL_HANDLE;
  VK_CHECK(vkCreateCommandPool(device, &pci, NULL, &pool));
  VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cai.commandPool = pool;
  cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cai.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VK_CHECK(vkAllocateCommandBuffers(device, &cai, &cmd));

  /* --- 2. Adopt: the context uses these objects and never destroys them. */
  vkattn_external_vulkan external;
  vkattn_external_vulkan_init(&external);
  external.instance = instance;
  external.physical_device = physical;
  external.device = device;
  external.queue = queue;
  external.queue_family = family;
  external.api_version = app.apiVersion;
  vkattn_context* ctx = NULL;
  vkattn_recording* recording = NULL;
  int status = 1;
  if (vkattn_context_adopt(&external, NULL, &ctx) != VKATTN_OK) goto fail;

  vkattn_attention_desc desc;
  vkattn_attention_desc_init(&desc);
  desc.batch = B;
  desc.heads_q = HQ;
  desc.heads_kv = HKV;
  desc.len_q = LQ;
  desc.len_kv = LKV;
  desc.head_dim = D;
  desc.causal = VKATTN_CAUSAL_BOTTOM_RIGHT;
  vkattn_device_inputs in;
  vkattn_device_inputs_init(&in);
  in.q.buffer = in.k.buffer = in.v.buffer = buffer;
  in.q.offset = q_at;
  in.k.offset = k_at;
  in.v.offset = v_at;
  vkattn_device_outputs out;
  vkattn_device_outputs_init(&out);
  out.out.buffer = out.lse.buffer = buffer;
  out.out.offset = o_at;
  out.lse.offset = lse_at;

  /* --- 4. Record between the application's barriers; the application submits. */
  VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VK_CHECK(vkBeginCommandBuffer(cmd, &begin));
  VkMemoryBarrier before = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  before.srcAccessMask = VK_ACCESS_HOST_WRITE_BIT; /* or whatever produced Q, K, V */
  before.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_HOST_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                       &before, 0, NULL, 0, NULL);
  if (vkattn_record_attention(ctx, cmd, &desc, &in, &out, &recording) != VKATTN_OK) goto fail;
  VkMemoryBarrier after = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  after.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT; /* vkattn's outputs */
  after.dstAccessMask = VK_ACCESS_HOST_READ_BIT;    /* or whatever consumes them */
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                       &after, 0, NULL, 0, NULL);
  VK_CHECK(vkEndCommandBuffer(cmd));
  VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence fence = VK_NULL_HANDLE;
  VK_CHECK(vkCreateFence(device, &fci, NULL, &fence));
  VkSubmitInfo submit = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cmd;
  VK_CHECK(vkQueueSubmit(queue, 1, &submit, fence));
  VK_CHECK(vkWaitForFences(device, 1, &fence, VK_TRUE, UINT64_MAX));
  vkDestroyFence(device, fence, NULL);

  /* --- 5. Check against the naive reference. */
  vkattn_plan plan;
  vkattn_plan_init(&plan);
  if (vkattn_recording_plan(recording, &plan) != VKATTN_OK) goto fail;
  const double err = max_error(q, k, v, o);
  printf("interop_c: %s, recorded %s: max |error| %.2e\n", vkattn_device_name(ctx), plan.reason,
         err);
  status = err < 1e-4 ? 0 : 1;

fail:
  if (status != 0 && vkattn_last_error_message()[0] != '\0')
    fprintf(stderr, "interop_c: %s\n", vkattn_last_error_message());
  /* The command buffer has completed (or was never submitted): the recording may go, then the
   * context; the application's objects stay alive until it destroys them itself. */
  vkattn_recording_destroy(recording);
  vkattn_context_destroy(ctx);
  vkDestroyCommandPool(device, pool, NULL);
  vkDestroyBuffer(device, buffer, NULL);
  vkFreeMemory(device, memory, NULL);
  vkDestroyDevice(device, NULL);
  vkDestroyInstance(instance, NULL);
  return status;
}
