// SPDX-License-Identifier: MIT
#pragma once

// Compute pipelines built lazily from the embedded SPIR-V: one shader module per ShaderId,
// one pipeline per (ShaderId, bindings, specialization values), a VkPipelineCache, and one
// descriptor-set layout of N storage buffers per N. Push constants are gpu::AttentionParams.
// Only pipelines a call needs are created: on lavapipe each one compiles with LLVM.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>

#include "interface.h"

#include "vulkan/shaders.hpp"
#include "vulkan/vk.hpp"

namespace vkattn::vulkan {

// Values of the specialization constants, indexed by the VKATTN_SPEC_* ids. Every id is
// always provided; a shader ignores the ones it does not declare.
using SpecValues = std::array<std::uint32_t, 10>;

struct PipelineKey {
  gpu::ShaderId shader;
  std::uint32_t bindings;  // storage buffers at bindings 0..bindings-1 of set 0
  SpecValues spec;
  std::uint32_t texel_mask = 0;  // bit i: binding i is a uniform texel buffer, not storage
  auto operator<=>(const PipelineKey&) const = default;
};

// A pipeline with the layouts it was created against (owned by Pipelines).
struct PipelineRef {
  vk::Pipeline pipeline;
  vk::PipelineLayout layout;
  vk::DescriptorSetLayout set_layout;
};

// A buffer bound as storage and the bytes of it the pass may touch.
struct Binding {
  vk::Buffer buffer;
  vk::DeviceSize bytes = 0;
  vk::BufferView view = {};   // set: bound as a uniform texel buffer through this view
  vk::DeviceSize offset = 0;  // where the bound range starts (application buffers)
};

// Points binding i of `set` at bindings[i], for i in 0..size-1.
void write_bindings(const vk::raii::Device& device, vk::DescriptorSet set,
                    std::span<const Binding> bindings);

// Binds `pipe` and `set`, pushes `params` and dispatches the (x, y, z) grid.
void dispatch(const vk::raii::CommandBuffer& cmd, const PipelineRef& pipe, vk::DescriptorSet set,
              const gpu::AttentionParams& params, std::uint64_t x, std::uint64_t y,
              std::uint64_t z);

// A global memory barrier between pipeline stages.
void memory_barrier(const vk::raii::CommandBuffer& cmd, vk::PipelineStageFlags src,
                    vk::PipelineStageFlags dst, vk::AccessFlags src_access,
                    vk::AccessFlags dst_access);

class Pipelines {
 public:
  // Throws Error{unsupported} when the device's push-constant space is too small.
  Pipelines(const vk::raii::Device& device, std::uint32_t max_push_constants);

  // The pipeline for `key`, creating it (and its module and layouts) on first use.
  [[nodiscard]] PipelineRef get(const PipelineKey& key);

 private:
  struct Layout {
    vk::raii::DescriptorSetLayout set = nullptr;
    vk::raii::PipelineLayout pipeline = nullptr;
  };
  Layout& layout_for(std::uint32_t bindings, std::uint32_t texel_mask);
  const vk::raii::ShaderModule& module_for(gpu::ShaderId id);

  const vk::raii::Device* device_;
  vk::raii::PipelineCache cache_ = nullptr;
  std::map<gpu::ShaderId, vk::raii::ShaderModule> modules_;
  std::map<std::pair<std::uint32_t, std::uint32_t>, Layout> layouts_;  // (bindings, texel_mask)
  std::map<PipelineKey, vk::raii::Pipeline> pipelines_;
};

}  // namespace vkattn::vulkan
