// SPDX-License-Identifier: MIT
// Timestamp queries around the kernels of one command buffer (see gpu_timer.hpp).
#include "vulkan/gpu_timer.hpp"

namespace vkattn::vulkan {

GpuTimer::GpuTimer(const Device& device) {
  if (device.timestamp_valid_bits == 0) return;
  pool_ = vk::raii::QueryPool(
      device.device,
      vk::QueryPoolCreateInfo{.queryType = vk::QueryType::eTimestamp, .queryCount = 2});
  mask_ = device.timestamp_valid_bits >= 64 ? ~std::uint64_t{0}
                                            : (std::uint64_t{1} << device.timestamp_valid_bits) - 1;
  seconds_per_tick_ = static_cast<double>(device.info.timestamp_period_ns) * 1e-9;
}

void GpuTimer::start(const vk::raii::CommandBuffer& cmd) const {
  if (!*pool_) return;
  // Queries must be reset before each write; in-command-buffer resets are ordered before the
  // timestamps that follow them.
  cmd.resetQueryPool(*pool_, 0, 2);
  // Bottom of pipe: written once every earlier command (the uploads) has completed, so the
  // interval starts when the inputs are on the device.
  cmd.writeTimestamp(vk::PipelineStageFlagBits::eBottomOfPipe, *pool_, 0);
}

void GpuTimer::stop(const vk::raii::CommandBuffer& cmd) const {
  if (!*pool_) return;
  // Written once the kernels (and any copies recorded among them) have completed.
  cmd.writeTimestamp(vk::PipelineStageFlagBits::eBottomOfPipe, *pool_, 1);
}

std::optional<double> GpuTimer::seconds() const {
  if (!*pool_) return std::nullopt;
  // The fence has signalled, so eWait returns at once; it also makes a missing result an
  // error rather than garbage.
  const auto [result, ticks] = pool_.getResults<std::uint64_t>(
      0, 2, 2 * sizeof(std::uint64_t), sizeof(std::uint64_t),
      vk::QueryResultFlagBits::e64 | vk::QueryResultFlagBits::eWait);
  if (result != vk::Result::eSuccess) return std::nullopt;
  // Masked subtraction: correct across a wrap of the valid bits.
  const std::uint64_t elapsed = (ticks[1] - ticks[0]) & mask_;
  return static_cast<double>(elapsed) * seconds_per_tick_;
}

}  // namespace vkattn::vulkan
