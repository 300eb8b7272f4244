// SPDX-License-Identifier: MIT
// vkattn inside an application that already uses Vulkan (plain C API here):
//   1. the application creates its instance, device and compute queue;
//   2. vkattn::Context::adopt wraps them (nothing is created or destroyed behind its back);
//   3. the application's buffer holds Q, K, V, O and LSE at aligned offsets;
//   4. vkattn::record_attention records into the application's command buffer, between the
//      application's own barriers; the application submits and waits;
//   5. the result is checked against a naive double-precision attention, and against
//      Context::attention (host pointers) on the same adopted device.
#include <vulkan/vulkan.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "vkattn/vkattn.hpp"
#include "vkattn/vulkan_interop.hpp"

#define VK_CHECK(call)                                                               \
  do {                                                                               \
    const VkResult r_ = (call);                                                      \
    if (r_ != VK_SUCCESS) {                                                          \
      std::fprintf(stderr, "interop: %s failed with VkResult %d\n", #call, (int)r_); \
      std::exit(1);                                                                  \
    }                                                                                \
  } while (0)

namespace {

constexpr int B = 1, HQ = 4, HKV = 2, LQ = 16, LKV = 64, D = 64;

// softmax(QKᵀ/sqrt(D) with bottom-right causal)·V in double, BHLD, GQA.
std::vector<double> naive_attention(const float* q, const float* k, const float* v) {
  std::vector<double> out(static_cast<std::size_t>(B * HQ * LQ * D), 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < HQ; ++h)
      for (int i = 0; i < LQ; ++i) {
        const float* qi = q + ((b * HQ + h) * LQ + i) * D;
        const int kvh = h / (HQ / HKV);
        const int visible = i + LKV - LQ + 1;  // bottom-right causal: keys j <= i + LKV - LQ
        std::vector<double> s(static_cast<std::size_t>(visible));
        double m = -INFINITY, sum = 0.0;
        for (int j = 0; j < visible; ++j) {
          const float* kj = k + ((b * HKV + kvh) * LKV + j) * D;
          double dot = 0.0;
          for (int d = 0; d < D; ++d) dot += static_cast<double>(qi[d]) * kj[d];
          s[static_cast<std::size_t>(j)] = dot * scale;
          m = std::max(m, dot * scale);
        }
        for (double& x : s) sum += (x = std::exp(x - m));
        double* oi = out.data() + ((b * HQ + h) * LQ + i) * D;
        for (int j = 0; j < visible; ++j) {
          const float* vj = v + ((b * HKV + kvh) * LKV + j) * D;
          for (int d = 0; d < D; ++d) oi[d] += s[static_cast<std::size_t>(j)] / sum * vj[d];
        }
      }
  return out;
}

double max_error(const float* got, const std::vector<double>& want) {
  double e = 0.0;
  for (std::size_t i = 0; i < want.size(); ++i)
    e = std::max(e, std::abs(static_cast<double>(got[i]) - want[i]));
  return std::isnan(e) ? INFINITY : e;
}

}  // namespace

int main() {
  // --- 1. The application's Vulkan objects.
  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "vkattn interop example";
  app.apiVersion = VK_API_VERSION_1_1;  // vkattn needs >= 1.1
  VkInstanceCreateInfo ici{};
  ici.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  ici.pApplicationInfo = &app;
  VkInstance instance = VK_NULL_HANDLE;
  VK_CHECK(vkCreateInstance(&ici, nullptr, &instance));

  std::uint32_t count = 0;
  VK_CHECK(vkEnumeratePhysicalDevices(instance, &count, nullptr));
  std::vector<VkPhysicalDevice> physicals(count);
  VK_CHECK(vkEnumeratePhysicalDevices(instance, &count, physicals.data()));
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  std::uint32_t family = 0;
  for (VkPhysicalDevice pd : physicals) {
    std::uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
    std::vector<VkQueueFamilyProperties> families(n);
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, families.data());
    for (std::uint32_t f = 0; f < n && physical == VK_NULL_HANDLE; ++f)
      if (families[f].queueFlags & VK_QUEUE_COMPUTE_BIT) {
        physical = pd;
        family = f;
      }
    if (physical != VK_NULL_HANDLE) break;
  }
  if (physical == VK_NULL_HANDLE) {
    std::fprintf(stderr, "interop: no Vulkan device with a compute queue\n");
    return 1;
  }
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{};
  qci.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  qci.queueFamilyIndex = family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{};
  dci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  VkDevice device = VK_NULL_HANDLE;
  VK_CHECK(vkCreateDevice(physical, &dci, nullptr, &device));
  VkQueue queue = VK_NULL_HANDLE;
  vkGetDeviceQueue(device, family, 0, &queue);

  // --- 3. One host-visible buffer: Q, K, V, O, LSE at offsets aligned for storage buffers.
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(physical, &props);
  const VkDeviceSize align =
      std::max<VkDeviceSize>(props.limits.minStorageBufferOffsetAlignment, 4);
  const auto place = [&](VkDeviceSize& at, std::size_t floats) {
    const VkDeviceSize here = at;
    at = (at + floats * sizeof(float) + align - 1) / align * align;
    return here;
  };
  const std::size_t nq = B * HQ * LQ * D, nk = B * HKV * LKV * D, nlse = B * HQ * LQ;
  VkDeviceSize total = 0;
  const VkDeviceSize q_at = place(total, nq), k_at = place(total, nk), v_at = place(total, nk),
                     o_at = place(total, nq), lse_at = place(total, nlse);

  VkBufferCreateInfo bci{};

  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.size = total;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;  // all vkattn needs
  VkBuffer buffer = VK_NULL_HANDLE;
  VK_CHECK(vkCreateBuffer(device, &bci, nullptr, &buffer));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device, buffer, &req);
  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(physical, &mem);
  const VkMemoryPropertyFlags host =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  VkMemoryAllocateInfo mai{};
  mai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = mem.memoryTypeCount;
  for (std::uint32_t t = 0; t < mem.memoryTypeCount; ++t)
    if ((req.memoryTypeBits & (1u << t)) && (mem.memoryTypes[t].propertyFlags & host) == host) {
      mai.memoryTypeIndex = t;
      break;
    }
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VK_CHECK(vkAllocateMemory(device, &mai, nullptr, &memory));
  VK_CHECK(vkBindBufferMemory(device, buffer, memory, 0));
  void* mapped = nullptr;
  VK_CHECK(vkMapMemory(device, memory, 0, VK_WHOLE_SIZE, 0, &mapped));
  const auto at = [&](VkDeviceSize offset) {
    return reinterpret_cast<float*>(static_cast<char*>(mapped) + offset);
  };
  std::uint32_t seed = 12345;
  for (VkDeviceSize offset : {q_at, k_at, v_at}) {
    const std::size_t n = offset == q_at ? nq : nk;
    for (std::size_t i = 0; i < n; ++i) {
      seed = seed * 1664525u + 1013904223u;
      at(offset)[i] = static_cast<float>(seed >> 8) / 8388608.0f - 1.0f;  // [-1, 1)
    }
  }
  const std::vector<double> want = naive_attention(at(q_at), at(k_at), at(v_at));

  VkCommandPoolCreateInfo pci{};

  pci.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  pci.queueFamilyIndex = family;
  VkCommandPool pool = VK_NULL_HANDLE;
  VK_CHECK(vkCreateCommandPool(device, &pci, nullptr, &pool));
  VkCommandBufferAllocateInfo cai{};
  cai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  cai.commandPool = pool;
  cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cai.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VK_CHECK(vkAllocateCommandBuffers(device, &cai, &cmd));

  int status = 0;
  try {
    // --- 2. Adopt: the Context uses these objects and never destroys them.
    vkattn::ExternalVulkan external;
    external.instance = instance;
    external.physical_device = physical;
    external.device = device;
    external.queue = queue;
    external.queue_family = family;
    external.api_version = app.apiVersion;
    vkattn::Context ctx = vkattn::Context::adopt(external);

    vkattn::AttentionDesc desc;
    desc.batch = B;
    desc.heads_q = HQ;
    desc.heads_kv = HKV;
    desc.len_q = LQ;
    desc.len_kv = LKV;
    desc.head_dim = D;
    desc.causal = vkattn::Causal::bottom_right;

    // --- 4. Record between the application's barriers; the application submits.
    VkCommandBufferBeginInfo begin{};
    begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    VK_CHECK(vkBeginCommandBuffer(cmd, &begin));
    VkMemoryBarrier before{};
    before.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    before.srcAccessMask = VK_ACCESS_HOST_WRITE_BIT;  // or whatever produced Q, K, V
    before.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_HOST_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                         1, &before, 0, nullptr, 0, nullptr);
    const vkattn::Recording recording =
        vkattn::record_attention(ctx, cmd, desc, {{buffer, q_at}, {buffer, k_at}, {buffer, v_at}},
                                 {{buffer, o_at}, {buffer, lse_at}});
    VkMemoryBarrier after{};
    after.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    after.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;  // vkattn's outputs
    after.dstAccessMask = VK_ACCESS_HOST_READ_BIT;     // or whatever consumes them
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0,
                         1, &after, 0, nullptr, 0, nullptr);
    VK_CHECK(vkEndCommandBuffer(cmd));
    VkFenceCreateInfo fci{};
    fci.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    VkFence fence = VK_NULL_HANDLE;
    VK_CHECK(vkCreateFence(device, &fci, nullptr, &fence));
    VkSubmitInfo submit{};
    submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &cmd;
    VK_CHECK(vkQueueSubmit(queue, 1, &submit, fence));
    VK_CHECK(
        vkWaitForFences(device, 1, &fence, VK_TRUE, std::numeric_limits<std::uint64_t>::max()));
    vkDestroyFence(device, fence, nullptr);
    // `recording` may go now: the command buffer has completed.

    // --- 5. Check against the naive reference and the host-pointer API.
    const double recorded_err = max_error(at(o_at), want);
    std::vector<float> host_out(nq);
    vkattn::AttentionInputs in;
    in.q = vkattn::TensorView::bhld(at(q_at), vkattn::DType::f32, B, HQ, LQ, D);
    in.k = vkattn::TensorView::bhld(at(k_at), vkattn::DType::f32, B, HKV, LKV, D);
    in.v = vkattn::TensorView::bhld(at(v_at), vkattn::DType::f32, B, HKV, LKV, D);
    vkattn::AttentionOutputs out;
    out.out = vkattn::MutableTensorView::bhld(host_out.data(), vkattn::DType::f32, B, HQ, LQ, D);
    ctx.attention(desc, in, out);
    const double host_err = max_error(host_out.data(), want);
    std::printf("interop: %s, recorded %s (%s): max |error| %.2e; host API: %.2e\n",
                ctx.device().name.c_str(), vkattn::to_string(recording.plan().kernel),
                recording.plan().reason.c_str(), recorded_err, host_err);
    if (!(recorded_err < 1e-4 && host_err < 1e-4)) status = 1;
  } catch (const vkattn::Error& e) {
    std::fprintf(stderr, "interop: vkattn error (%s): %s\n", vkattn::to_string(e.code()), e.what());
    status = 1;
  }
  // The Context and the Recording are gone: the application destroys its objects.
  vkDestroyCommandPool(device, pool, nullptr);
  vkDestroyBuffer(device, buffer, nullptr);
  vkFreeMemory(device, memory, nullptr);
  vkDestroyDevice(device, nullptr);
  vkDestroyInstance(instance, nullptr);
  return status;
}
