// SPDX-License-Identifier: MIT
#pragma once

/// @file
/// Context (the entry point), its Options, DeviceInfo and Plan.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vkattn/kv_cache.hpp"
#include "vkattn/types.hpp"

namespace vkattn {

struct ExternalVulkan;  // vkattn/vulkan_interop.hpp
namespace detail {
struct ContextAccess;
}

/// How a Context is created. Environment overrides are applied by `from_environment`.
struct Options {
  Backend backend = Backend::automatic;  ///< Which backend to use.
  /// Vulkan device to use: "" = the best one (discrete > integrated > virtual > cpu),
  /// a decimal index into `Context::list_devices()`, or a case-insensitive name substring.
  std::string device;
  Kernel kernel = Kernel::automatic;  ///< Force a kernel family (tests, benchmarks).
  /// Enable VK_LAYER_KHRONOS_validation and route its messages to `on_validation_message`.
  bool validation = false;
  /// Called (from any thread) for each validation warning or error. When empty, messages go
  /// to stderr.
  std::function<void(std::string_view message)> on_validation_message;

  /// Returns `base` with the documented environment overrides applied:
  /// VKATTN_BACKEND (auto|vulkan|cpu), VKATTN_DEVICE (index or name substring),
  /// VKATTN_KERNEL (auto|three-pass|flash|split-kv), VKATTN_VALIDATION (0|1).
  /// @throws Error{invalid_argument} for an unknown value, naming the variable.
  [[nodiscard]] static Options from_environment(Options base);
  /// `from_environment(Options{})`.
  [[nodiscard]] static Options from_environment();
};

/// What a backend runs on, and the limits its kernels rely on.
struct DeviceInfo {
  Backend backend = Backend::cpu;  ///< vulkan or cpu.
  std::string name;                ///< e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
  std::string type;                ///< discrete | integrated | virtual | cpu | other.
  std::string driver;              ///< Driver name and info, e.g. "llvmpipe Mesa 22.3.6".
  std::string api_version;         ///< Vulkan version, e.g. "1.3.230"; empty on cpu.
  std::uint32_t vendor_id = 0;
  std::uint32_t index = 0;  ///< Position in list_devices().
  std::uint32_t subgroup_size = 1;
  std::uint32_t max_shared_memory = 0;          ///< maxComputeSharedMemorySize, bytes.
  std::uint32_t max_workgroup_invocations = 0;  ///< maxComputeWorkGroupInvocations.
  std::uint64_t max_storage_buffer_range = 0;   ///< maxStorageBufferRange, bytes.
  std::uint32_t max_push_constants = 0;         ///< maxPushConstantsSize, bytes.
  bool shader_float16 = false;                  ///< shaderFloat16 feature.
  bool storage_16bit = false;                   ///< storageBuffer16BitAccess feature.
  /// The compute queue writes timestamps (timestampValidBits > 0), so calls report GPU time
  /// in CallStats::gpu_seconds.
  bool timestamps = false;
  float timestamp_period_ns = 0.0f;  ///< Nanoseconds per timestamp tick.
  /// maxBufferSize (Vulkan 1.3 / VK_KHR_maintenance4), bytes; 0 when the device does not
  /// report it.
  std::uint64_t max_buffer_size = 0;
  std::uint64_t max_allocation_size = 0;  ///< maxMemoryAllocationSize (Vulkan 1.1), bytes.
  std::uint64_t host_visible_heap = 0;    ///< Largest host-visible memory heap, bytes.
  unsigned threads = 1;                   ///< Worker threads (cpu backend).
};

/// The planner's decision for one problem on one backend.
struct Plan {
  Kernel kernel = Kernel::three_pass;  ///< Chosen kernel family (never automatic).
  std::string reason;                  ///< One line, e.g. "three-pass: probabilities requested".
  std::int64_t rows_per_chunk = 0;     ///< Query rows per chunk (three-pass).
  std::uint64_t workspace_bytes = 0;   ///< Device workspace the plan allocates.
};

/// Timing (and plan) of one `Context::attention` call.
struct CallStats {
  /// Time on the device between the inputs having arrived and the kernels having finished
  /// (timestamp queries; three-pass includes copying P out of its workspace), in seconds.
  /// Empty on the CPU backend, on devices whose compute queue has no timestamps
  /// (`DeviceInfo::timestamps`), and before the first successful call.
  std::optional<double> gpu_seconds;
  /// Host wall-clock time of the whole call as the caller saw it: validation, planning,
  /// packing and upload, submission, waiting, download and unpacking (and waiting for other
  /// threads' calls on the same Context), in seconds. 0 before the first successful call.
  double host_seconds = 0.0;
  /// What the call ran. Unlike `Context::plan(desc)`, made with the call's inputs: over an
  /// f16 or bf16 KvCache its reason names the 16-bit kernel variant. Empty reason before the
  /// first successful call.
  Plan plan;
};

/// A backend bound to one device. Move-only. Calls on one Context are serialised
/// internally, so a Context may be shared between threads.
class Context {
 public:
  /// Creates a context. With Backend::automatic, falls back to the CPU when there is no
  /// Vulkan loader or usable device. Environment overrides are NOT applied here; pass
  /// `Options::from_environment(opts)` to honour them.
  /// @throws Error{unsupported} when Backend::vulkan is requested and no device is usable;
  ///         Error{invalid_argument} when `device` matches nothing.
  [[nodiscard]] static Context create(const Options& options = {});

  /// Creates a Vulkan context on the application's own instance, device and queue (declared
  /// in vkattn/vulkan_interop.hpp, which documents the requirements). The context never
  /// destroys them. `options.kernel` is honoured; `options.device` must be empty, `backend`
  /// automatic or vulkan, and `validation` false (the instance's layers and messengers are
  /// the application's).
  /// @throws Error{invalid_argument} for a null handle, a queue family out of range or
  ///         without compute, a physical device not of `instance`, or such options;
  ///         Error{unsupported} for Vulkan < 1.1.
  [[nodiscard]] static Context adopt(const ExternalVulkan& external, const Options& options = {});

  /// Every Vulkan device the loader reports (empty without a loader). Never throws.
  [[nodiscard]] static std::vector<DeviceInfo> list_devices() noexcept;

  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context();

  /// The device (or CPU) this context computes on.
  [[nodiscard]] const DeviceInfo& device() const noexcept;

  /// Validates `desc` and decides how it would run with K and V of `desc.dtype` (a call over
  /// a KvCache of another dtype may run another variant of the same kernel: see
  /// CallStats::plan). `want_probs` asks for P.
  /// @throws Error{invalid_argument|unsupported} naming the field and value.
  [[nodiscard]] Plan plan(const AttentionDesc& desc, bool want_probs = false) const;

  /// Computes softmax(scale·QKᵀ + masks)·V. Validates everything first; on error nothing
  /// is written. @throws Error.
  void attention(const AttentionDesc& desc, const AttentionInputs& in, const AttentionOutputs& out);

  /// Timing and plan of the most recent `attention` call on this Context; a call that threw resets
  /// it to `CallStats{}`. With several threads sharing the Context, the most recent call to finish.
  /// Never throws.
  [[nodiscard]] CallStats last_call_stats() const noexcept;

  /// Creates an empty KV cache in this context's memory (device buffers on Vulkan, host
  /// memory on the CPU backend) holding `desc.capacity` rows per (batch, KV head).
  /// @throws Error{invalid_argument} for a malformed desc; Error{unsupported} when a buffer
  ///         would exceed the device's maxStorageBufferRange; Error{out_of_memory}.
  [[nodiscard]] KvCache create_kv_cache(const KvCacheDesc& desc);

  class Impl;

 private:
  explicit Context(std::unique_ptr<Impl> impl);
  friend struct detail::ContextAccess;  // record_attention (vulkan_interop.hpp) reaches Impl
  std::unique_ptr<Impl> impl_;
};

}  // namespace vkattn
