// SPDX-License-Identifier: MIT
// Lazy shader modules, layouts and specialised compute pipelines.
#include "vulkan/pipelines.hpp"

#include <string>
#include <vector>

#include "interface.h"
#include "vkattn/error.hpp"

namespace vkattn::vulkan {

Pipelines::Pipelines(const vk::raii::Device& device, std::uint32_t max_push_constants)
    : device_(&device) {
  if (max_push_constants < sizeof(gpu::AttentionParams)) {
    throw Error(ErrorCode::unsupported,
                "maxPushConstantsSize " + std::to_string(max_push_constants) + " is below the " +
                    std::to_string(sizeof(gpu::AttentionParams)) + " bytes of AttentionParams");
  }
  cache_ = vk::raii::PipelineCache(device, vk::PipelineCacheCreateInfo{});
}

Pipelines::Layout& Pipelines::layout_for(std::uint32_t bindings, std::uint32_t texel_mask) {
  if (auto it = layouts_.find({bindings, texel_mask}); it != layouts_.end()) return it->second;
  std::vector<vk::DescriptorSetLayoutBinding> b(bindings);
  for (std::uint32_t i = 0; i < bindings; ++i) {
    b[i] = vk::DescriptorSetLayoutBinding{
        .binding = i,
        .descriptorType = ((texel_mask >> i) & 1u) != 0 ? vk::DescriptorType::eUniformTexelBuffer
                                                        : vk::DescriptorType::eStorageBuffer,
        .descriptorCount = 1,
        .stageFlags = vk::ShaderStageFlagBits::eCompute};
  }
  Layout layout;
  layout.set = vk::raii::DescriptorSetLayout(
      *device_, vk::DescriptorSetLayoutCreateInfo{.bindingCount = bindings, .pBindings = b.data()});
  const vk::PushConstantRange push{.stageFlags = vk::ShaderStageFlagBits::eCompute,
                                   .offset = 0,
                                   .size = sizeof(gpu::AttentionParams)};
  const vk::DescriptorSetLayout set = *layout.set;
  layout.pipeline = vk::raii::PipelineLayout(
      *device_, vk::PipelineLayoutCreateInfo{.setLayoutCount = 1,
                                             .pSetLayouts = &set,
                                             .pushConstantRangeCount = 1,
                                             .pPushConstantRanges = &push});
  return layouts_.emplace(std::pair{bindings, texel_mask}, std::move(layout)).first->second;
}

const vk::raii::ShaderModule& Pipelines::module_for(gpu::ShaderId id) {
  if (auto it = modules_.find(id); it != modules_.end()) return it->second;
  const auto words = gpu::shader_words(id);
  vk::raii::ShaderModule module(
      *device_, vk::ShaderModuleCreateInfo{.codeSize = words.size_bytes(), .pCode = words.data()});
  return modules_.emplace(id, std::move(module)).first->second;
}

PipelineRef Pipelines::get(const PipelineKey& key) {
  Layout& layout = layout_for(key.bindings, key.texel_mask);
  if (auto it = pipelines_.find(key); it == pipelines_.end()) {
    std::array<vk::SpecializationMapEntry, std::tuple_size_v<SpecValues>> entries{};
    for (std::uint32_t i = 0; i < entries.size(); ++i) {
      entries[i] = vk::SpecializationMapEntry{
          .constantID = i,
          .offset = static_cast<std::uint32_t>(i * sizeof(std::uint32_t)),
          .size = sizeof(std::uint32_t)};
    }
    const vk::SpecializationInfo spec{.mapEntryCount = static_cast<std::uint32_t>(entries.size()),
                                      .pMapEntries = entries.data(),
                                      .dataSize = sizeof(SpecValues),
                                      .pData = key.spec.data()};
    const vk::ComputePipelineCreateInfo info{
        .stage = vk::PipelineShaderStageCreateInfo{.stage = vk::ShaderStageFlagBits::eCompute,
                                                   .module = *module_for(key.shader),
                                                   .pName = "main",
                                                   .pSpecializationInfo = &spec},
        .layout = *layout.pipeline};
    pipelines_.emplace(key, vk::raii::Pipeline(*device_, cache_, info));
  }
  return {*pipelines_.at(key), *layout.pipeline, *layout.set};
}

void write_bindings(const vk::raii::Device& device, vk::DescriptorSet set,
                    std::span<const Binding> bindings) {
  std::vector<vk::DescriptorBufferInfo> infos;
  infos.reserve(bindings.size());
  std::vector<vk::WriteDescriptorSet> writes;
  for (std::uint32_t i = 0; i < bindings.size(); ++i) {
    const Binding& b = bindings[i];
    infos.push_back({.buffer = b.buffer, .offset = b.offset, .range = b.bytes});
    vk::WriteDescriptorSet w{.dstSet = set, .dstBinding = i, .descriptorCount = 1};
    if (b.view) {
      w.descriptorType = vk::DescriptorType::eUniformTexelBuffer;
      w.pTexelBufferView = &b.view;
    } else {
      w.descriptorType = vk::DescriptorType::eStorageBuffer;
      w.pBufferInfo = &infos.back();
    }
    writes.push_back(w);
  }
  device.updateDescriptorSets(writes, {});
}

void dispatch(const vk::raii::CommandBuffer& cmd, const PipelineRef& pipe, vk::DescriptorSet set,
              const gpu::AttentionParams& params, std::uint64_t x, std::uint64_t y,
              std::uint64_t z) {
  cmd.bindPipeline(vk::PipelineBindPoint::eCompute, pipe.pipeline);
  cmd.bindDescriptorSets(vk::PipelineBindPoint::eCompute, pipe.layout, 0, set, {});
  cmd.pushConstants<gpu::AttentionParams>(pipe.layout, vk::ShaderStageFlagBits::eCompute, 0,
                                          params);
  cmd.dispatch(static_cast<std::uint32_t>(x), static_cast<std::uint32_t>(y),
               static_cast<std::uint32_t>(z));
}

void memory_barrier(const vk::raii::CommandBuffer& cmd, vk::PipelineStageFlags src,
                    vk::PipelineStageFlags dst, vk::AccessFlags src_access,
                    vk::AccessFlags dst_access) {
  cmd.pipelineBarrier(src, dst, {},
                      vk::MemoryBarrier{.srcAccessMask = src_access, .dstAccessMask = dst_access},
                      {}, {});
}

}  // namespace vkattn::vulkan
