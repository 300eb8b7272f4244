// SPDX-License-Identifier: MIT
#pragma once

/// @file
/// Value types that describe one attention problem: element types, strided tensor views,
/// the attention description, and the inputs and outputs of a call.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace vkattn {

class KvCache;

/// Storage type of a tensor. Arithmetic is always f32 on the GPU and double in the reference.
enum class DType : std::uint8_t {
  f32,      ///< IEEE binary32.
  f16,      ///< IEEE binary16.
  bf16,     ///< bfloat16 (upper half of a binary32).
  boolean,  ///< One byte per element, non-zero = true. Only for boolean masks.
};

/// Bytes per element of `t`.
[[nodiscard]] std::size_t size_of(DType t) noexcept;
/// Stable lower-case name, e.g. "f16".
[[nodiscard]] const char* to_string(DType t) noexcept;

/// Four extents or four strides, outermost first.
using Dims4 = std::array<std::int64_t, 4>;

/// A non-owning, strided view of a 4-D tensor in host memory.
///
/// The logical order of the dims is always [batch, heads, length, head_dim] (BHLD); other
/// memory layouts (e.g. BLHD) are expressed through `strides`, counted in elements.
/// `extent` is the number of elements readable (or writable) from `data`; it lets
/// validation reject strides that would run past the caller's allocation.
template <class Pointer>
struct BasicTensorView {
  Pointer data = nullptr;    ///< First element; must not be null.
  DType dtype = DType::f32;  ///< Storage type of every element.
  Dims4 shape{};             ///< Logical extents [B, H, L, D].
  Dims4 strides{};           ///< Element strides of the logical dims; >= 1 where extent > 1.
  std::size_t extent = 0;    ///< Elements available from `data` (allocation size / size_of).

  /// View of a contiguous BHLD array [B, H, L, D] with `extent` = B·H·L·D.
  static BasicTensorView bhld(Pointer data, DType dtype, std::int64_t b, std::int64_t h,
                              std::int64_t l, std::int64_t d) {
    return {data,
            dtype,
            {b, h, l, d},
            {h * l * d, l * d, d, 1},
            static_cast<std::size_t>(b * h * l * d)};
  }
  /// View of a contiguous BLHD array [B, L, H, D] (PyTorch `transpose(1, 2)` of BHLD,
  /// FlashAttention's native layout), exposed in logical BHLD order.
  static BasicTensorView blhd(Pointer data, DType dtype, std::int64_t b, std::int64_t h,
                              std::int64_t l, std::int64_t d) {
    return {data,
            dtype,
            {b, h, l, d},
            {l * h * d, d, h * d, 1},
            static_cast<std::size_t>(b * h * l * d)};
  }
};

/// Read-only tensor view (inputs).
using TensorView = BasicTensorView<const void*>;
/// Writable tensor view (outputs).
using MutableTensorView = BasicTensorView<void*>;

/// Causal masking and the alignment of its diagonal. The two alignments differ only when
/// len_q != len_kv.
enum class Causal : std::uint8_t {
  none,          ///< No causal mask.
  top_left,      ///< Key j visible to query i iff j <= i (PyTorch `is_causal=True`).
  bottom_right,  ///< Key j visible iff j <= i + kv_len - len_q (FlashAttention >= 2.1, KV caches).
};

/// Which implementation runs a call.
enum class Backend : std::uint8_t {
  automatic,  ///< Best Vulkan device, else the CPU.
  vulkan,     ///< Vulkan only; an error when no device is usable.
  cpu,        ///< The CPU fallback.
};

/// Which kernel family computes a call on the Vulkan backend.
enum class Kernel : std::uint8_t {
  automatic,   ///< The planner chooses.
  three_pass,  ///< QKᵀ, softmax, PV as separate passes; the only kernel that returns P.
  flash,       ///< Fused single pass with online softmax.
  split_kv,    ///< Split-KV decode partials plus a log-sum-exp combine.
};

/// Stable names, e.g. "three-pass", "bottom-right", "vulkan".
[[nodiscard]] const char* to_string(Causal c) noexcept;
[[nodiscard]] const char* to_string(Backend b) noexcept;
[[nodiscard]] const char* to_string(Kernel k) noexcept;

/// The problem: sizes, element type and every semantic option. Flows unchanged from the
/// API to the kernels. Matches PyTorch `scaled_dot_product_attention` unless stated; the
/// exact rules are in docs/semantics.md.
struct AttentionDesc {
  std::int64_t batch = 1;                  ///< B.
  std::int64_t heads_q = 1;                ///< Hq, query heads.
  std::optional<std::int64_t> heads_kv;    ///< Hkv (GQA/MQA); Hq must be a multiple. Default Hq.
  std::int64_t len_q = 0;                  ///< Lq, query rows per head.
  std::int64_t len_kv = 0;                 ///< Lkv, keys per head.
  std::int64_t head_dim = 0;               ///< Dk, shared by Q and K.
  std::optional<std::int64_t> head_dim_v;  ///< Dv, of V and the output. Default Dk.
  std::optional<float> scale;              ///< Multiplies QKᵀ. Default 1/sqrt(Dk).
  DType dtype = DType::f32;                ///< Storage type of Q, K, V and the output.
  Causal causal = Causal::none;            ///< Causal mask and its alignment.
  /// Sliding window around the diagonal: key j is visible to query i iff
  /// diag(i) - window_left <= j <= diag(i) + window_right; -1 means unbounded on that side.
  /// diag(i) follows `causal`'s alignment, or bottom-right (FlashAttention's `window_size`)
  /// when `causal` is none.
  std::int64_t window_left = -1;
  std::int64_t window_right = -1;  ///< See window_left. Must be -1 or 0 with causal.
  float softcap = 0.0f;            ///< If > 0: s <- softcap·tanh(s/softcap) before masks.
};

/// Inputs of one call. Q is [B, Hq, Lq, Dk], K is [B, Hkv, Lkv, Dk], V is [B, Hkv, Lkv, Dv]
/// in logical order (any strides).
struct AttentionInputs {
  TensorView q;
  TensorView k;  ///< Must be empty (null data) when `kv_cache` is given.
  TensorView v;  ///< Must be empty (null data) when `kv_cache` is given.
  /// Optional mask broadcastable to [B, Hq, Lq, Lkv] (each dim equal or 1; prepend 1s for
  /// 2-D or 3-D masks). dtype boolean: true = attend. dtype f32/f16/bf16: added to the scores
  /// after scale and softcap; -inf allowed.
  std::optional<TensorView> mask;
  /// Optional per-batch key lengths [B]: keys at index >= kv_lens[b] are invisible.
  std::span<const std::int32_t> kv_lens;
  /// Optional K and V kept on the device (vkattn/kv_cache.hpp), used instead of `k` and `v`.
  /// Must come from the same Context, with `len_kv == kv_cache->length()` and matching
  /// batch, heads_kv and head dims. Not with probabilities on the Vulkan backend.
  const KvCache* kv_cache = nullptr;
};

/// Outputs of one call.
struct AttentionOutputs {
  MutableTensorView out;   ///< [B, Hq, Lq, Dv] in the input dtype.
  std::span<float> lse;    ///< Optional natural-log sum-exp per row, contiguous [B, Hq, Lq].
  std::span<float> probs;  ///< Optional probabilities, contiguous [B, Hq, Lq, Lkv] (three-pass).
};

}  // namespace vkattn
