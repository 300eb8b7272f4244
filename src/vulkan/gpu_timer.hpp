// SPDX-License-Identifier: MIT
#pragma once

// GPU time of one submission from two timestamp queries: one written when the uploads before
// the kernels have finished, one when the kernels have. Absent on queues without timestamps.

#include <cstdint>
#include <optional>

#include "vulkan/device.hpp"
#include "vulkan/vk.hpp"

namespace vkattn::vulkan {

class GpuTimer {
 public:
  // Creates the query pool when `device`'s compute queue writes timestamps.
  explicit GpuTimer(const Device& device);

  // Records a reset of both queries and the start timestamp. Call after the upload copies
  // and their barrier, before the first kernel.
  void start(const vk::raii::CommandBuffer& cmd) const;
  // Records the end timestamp. Call after the last kernel, before the download copies.
  void stop(const vk::raii::CommandBuffer& cmd) const;
  // Seconds between the two timestamps of the submission that has completed (call after its
  // fence); nullopt without timestamp support.
  [[nodiscard]] std::optional<double> seconds() const;

 private:
  vk::raii::QueryPool pool_ = nullptr;  // null: no timestamps on this queue
  std::uint64_t mask_ = 0;              // the timestampValidBits low bits
  double seconds_per_tick_ = 0.0;
};

}  // namespace vkattn::vulkan
