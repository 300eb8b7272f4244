// SPDX-License-Identifier: MIT
// Validation: the only place user-supplied descriptions and views are trusted or rejected.
// Everything below this file reads the normalised Problem and may assume it is consistent.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include "core/problem.hpp"
#include "vkattn/error.hpp"

namespace vkattn::detail {
namespace {

// A single tensor past this many elements is refused as unsupported: far beyond any device
// buffer, and it keeps every offset product comfortably inside int64.
constexpr std::int64_t kMaxTensorElements = std::int64_t{1} << 40;
// The score matrix [B, Hq, Lq, Lkv] is never stored whole by the fused kernels (long-context
// prefill legitimately passes 2^40), so it is only kept clear of int64 overflow.
constexpr std::int64_t kMaxScoreElements = std::int64_t{1} << 62;
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

[[noreturn]] void fail(ErrorCode code, const std::string& message) { throw Error(code, message); }
[[noreturn]] void invalid(const std::string& message) {
  fail(ErrorCode::invalid_argument, message);
}

std::string dims_string(const Dims4& d) {
  std::ostringstream s;
  s << '[' << d[0] << ", " << d[1] << ", " << d[2] << ", " << d[3] << ']';
  return s.str();
}

// a·b for non-negative operands; false when it would overflow int64.
bool checked_mul(std::int64_t a, std::int64_t b, std::int64_t& result) noexcept {
  if (a != 0 && b > kInt64Max / a) return false;
  result = a * b;
  return true;
}

// Element count of `dims` (all >= 1), or throws unsupported naming `what` when past `limit`.
std::int64_t element_count(std::string_view what, const Dims4& dims,
                           std::int64_t limit = kMaxTensorElements) {
  std::int64_t n = 1;
  for (std::int64_t d : dims) {
    if (!checked_mul(n, d, n) || n > limit) {
      fail(ErrorCode::unsupported, std::string(what) + " " + dims_string(dims) + " has more than " +
                                       std::to_string(limit) + " elements");
    }
  }
  return n;
}

void require_positive(std::string_view field, std::int64_t value) {
  if (value < 1) invalid(std::string(field) + "=" + std::to_string(value) + " must be >= 1");
}

void require_head_dim(std::string_view field, std::int64_t value) {
  require_positive(field, value);
  if (value > kMaxHeadDim) {
    fail(ErrorCode::unsupported, std::string(field) + "=" + std::to_string(value) +
                                     " exceeds the largest supported head dim " +
                                     std::to_string(kMaxHeadDim));
  }
}

void require_window(std::string_view field, std::int64_t value) {
  if (value < -1) {
    invalid(std::string(field) + "=" + std::to_string(value) + " must be -1 (unbounded) or >= 0");
  }
}

// The names of a view's four logical dims, for messages like "q.shape[1]=4 does not match
// heads_q=8".
using DimNames = std::array<const char*, 4>;

// Checks one view: data, dtype, shape, strides (non-negative, >= 1 where it matters,
// non-overlapping) and that the furthest reachable element lies inside `extent`.
// Returns the number of elements the strides reach (max offset + 1).
template <class View>
std::int64_t check_view(std::string_view name, const View& v, const Dims4& expected,
                        const DimNames& dim_names) {
  const std::string n(name);
  if (v.data == nullptr) invalid(n + ".data is null");
  for (std::size_t d = 0; d < 4; ++d) {
    if (v.shape[d] != expected[d]) {
      invalid(n + ".shape[" + std::to_string(d) + "]=" + std::to_string(v.shape[d]) +
              " does not match " + dim_names[d] + "=" + std::to_string(expected[d]) + " (" + n +
              ".shape=" + dims_string(v.shape) + ", expected " + dims_string(expected) + ")");
    }
  }
  for (std::size_t d = 0; d < 4; ++d) {
    const std::int64_t s = v.strides[d];
    if (s < 0) {
      invalid(n + ".strides[" + std::to_string(d) + "]=" + std::to_string(s) +
              " is negative (negative strides are not supported)");
    }
    if (s < 1 && v.shape[d] > 1) {
      invalid(n + ".strides[" + std::to_string(d) + "]=" + std::to_string(s) +
              " must be >= 1 where " + n + ".shape[" + std::to_string(d) +
              "]=" + std::to_string(v.shape[d]) + " > 1");
    }
  }

  // Non-overlap: ordering the dims of extent > 1 by stride, each dim must step over the
  // whole span of the previous one; otherwise two logical indices share an element, and a
  // write (or a GPU upload that assumes a bijection) would be ambiguous.
  std::array<std::size_t, 4> order{0, 1, 2, 3};
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return v.strides[a] < v.strides[b]; });
  std::int64_t reach = 1;  // elements spanned by the dims checked so far
  std::size_t prev = 4;
  for (std::size_t d : order) {
    if (v.shape[d] <= 1) continue;
    if (v.strides[d] < reach) {
      invalid(n + ".strides overlap: strides[" + std::to_string(d) +
              "]=" + std::to_string(v.strides[d]) + " is smaller than strides[" +
              std::to_string(prev) + "]=" + std::to_string(v.strides[prev]) + " * shape[" +
              std::to_string(prev) + "]=" + std::to_string(v.shape[prev]) + " (" + n +
              ".strides=" + dims_string(v.strides) + ", shape=" + dims_string(v.shape) + ")");
    }
    if (!checked_mul(v.strides[d], v.shape[d], reach)) {
      invalid(n + ".strides=" + dims_string(v.strides) + " overflow int64 offsets");
    }
    prev = d;
  }

  // Overrun: the furthest element is sum((shape-1)·stride); with non-overlapping strides it
  // is bounded by `reach` above, so this cannot overflow.
  std::int64_t last = 0;
  for (std::size_t d = 0; d < 4; ++d) last += (v.shape[d] - 1) * v.strides[d];
  const auto needed = static_cast<std::uint64_t>(last) + 1;
  if (needed > v.extent) {
    invalid(n + ".extent=" + std::to_string(v.extent) + " elements but strides reach element " +
            std::to_string(last) + " (" + n + ".shape=" + dims_string(v.shape) +
            ", strides=" + dims_string(v.strides) + ")");
  }
  return last + 1;
}

// A byte range [begin, end) of host memory, for the best-effort aliasing check.
struct Range {
  const char* name;
  std::uintptr_t begin;
  std::uintptr_t end;
};

template <class View>
Range range_of(const char* name, const View& v, std::int64_t elements) {
  const auto begin = reinterpret_cast<std::uintptr_t>(v.data);
  return {name, begin, begin + static_cast<std::uintptr_t>(elements) * size_of(v.dtype)};
}

template <class T>
Range range_of(const char* name, std::span<T> s) {
  const auto begin = reinterpret_cast<std::uintptr_t>(s.data());
  return {name, begin, begin + s.size_bytes()};
}

void check_disjoint(const Range& a, const Range& b) {
  if (a.begin == a.end || b.begin == b.end) return;
  if (a.begin < b.end && b.begin < a.end) {
    invalid(std::string(a.name) + " overlaps " + b.name +
            " in memory; outputs must not alias inputs or each other");
  }
}

// The cache stands in for k and v: they must be empty, and the call's sizes must be the
// cache's. Returns the cache's row stride between (batch, KV head) slices (its capacity).
std::int64_t check_kv_cache(const KvCache& cache, const AttentionInputs& in, const Problem& p) {
  if (in.k.data != nullptr || in.v.data != nullptr) {
    invalid(std::string(in.k.data != nullptr ? "k" : "v") +
            ".data is set although kv_cache is given; the cache supplies K and V, so k and v "
            "must be empty");
  }
  const KvCacheDesc& c = cache.desc();
  const std::pair<const char*, std::pair<std::int64_t, std::int64_t>> sizes[] = {
      {"batch", {p.batch, c.batch}},
      {"heads_kv", {p.heads_kv, c.heads_kv}},
      {"head_dim", {p.dim_qk, c.head_dim}},
      {"head_dim_v", {p.dim_v, c.head_dim_v.value_or(c.head_dim)}},
      {"len_kv", {p.len_kv, cache.length()}}};
  for (const auto& [name, values] : sizes) {
    if (values.first != values.second) {
      invalid(std::string(name) + "=" + std::to_string(values.first) + " does not match the " +
              "kv_cache's " + (std::string_view(name) == "len_kv" ? "length" : name) + "=" +
              std::to_string(values.second));
    }
  }
  return c.capacity;
}

}  // namespace

KvCacheDesc validate_kv_desc(const KvCacheDesc& desc) {
  require_positive("kv_cache.batch", desc.batch);
  require_positive("kv_cache.heads_kv", desc.heads_kv);
  require_positive("kv_cache.capacity", desc.capacity);
  require_head_dim("kv_cache.head_dim", desc.head_dim);
  if (desc.head_dim_v) require_head_dim("kv_cache.head_dim_v", *desc.head_dim_v);
  if (desc.dtype != DType::f32 && desc.dtype != DType::f16 && desc.dtype != DType::bf16)
    invalid(std::string("kv_cache.dtype=") + to_string(desc.dtype) + " must be f32, f16 or bf16");
  KvCacheDesc d = desc;
  d.head_dim_v = desc.head_dim_v.value_or(desc.head_dim);
  element_count("kv_cache k", {d.batch, d.heads_kv, d.capacity, d.head_dim});
  element_count("kv_cache v", {d.batch, d.heads_kv, d.capacity, *d.head_dim_v});
  return d;
}

std::int64_t validate_kv_append(const KvCacheDesc& desc, std::int64_t length, const TensorView& k,
                                const TensorView& v) {
  const auto check_dtype = [](const char* name, const TensorView& t) {
    if (t.dtype != DType::f32 && t.dtype != DType::f16 && t.dtype != DType::bf16) {
      invalid(std::string(name) + ".dtype=" + to_string(t.dtype) + " must be f32, f16 or bf16");
    }
  };
  if (k.data == nullptr) invalid("k.data is null");
  if (v.data == nullptr) invalid("v.data is null");
  check_dtype("k", k);
  check_dtype("v", v);
  const std::int64_t n = k.shape[2];
  if (n < 1) invalid("k.shape[2]=" + std::to_string(n) + " must be >= 1 (rows to append)");
  const std::int64_t dv = desc.head_dim_v.value_or(desc.head_dim);
  check_view("k", k, {desc.batch, desc.heads_kv, n, desc.head_dim},
             {"kv_cache.batch", "kv_cache.heads_kv", "appended rows", "kv_cache.head_dim"});
  check_view(
      "v", v, {desc.batch, desc.heads_kv, n, dv},
      {"kv_cache.batch", "kv_cache.heads_kv", "k.shape[2] (appended rows)", "kv_cache.head_dim_v"});
  if (n > desc.capacity - length) {
    invalid("appending " + std::to_string(n) + " rows to a kv_cache holding " +
            std::to_string(length) + " of its capacity=" + std::to_string(desc.capacity) +
            " rows would overflow it");
  }
  return n;
}

Problem validate_desc(const AttentionDesc& desc) {
  Problem p;
  require_positive("batch", desc.batch);
  require_positive("heads_q", desc.heads_q);
  if (desc.heads_kv) require_positive("heads_kv", *desc.heads_kv);
  require_positive("len_q", desc.len_q);
  require_positive("len_kv", desc.len_kv);
  require_head_dim("head_dim", desc.head_dim);
  if (desc.head_dim_v) require_head_dim("head_dim_v", *desc.head_dim_v);

  p.batch = desc.batch;
  p.heads_q = desc.heads_q;
  p.heads_kv = desc.heads_kv.value_or(desc.heads_q);
  p.len_q = desc.len_q;
  p.len_kv = desc.len_kv;
  p.dim_qk = desc.head_dim;
  p.dim_v = desc.head_dim_v.value_or(desc.head_dim);
  if (p.heads_q % p.heads_kv != 0) {
    invalid("heads_q=" + std::to_string(p.heads_q) +
            " is not a multiple of heads_kv=" + std::to_string(p.heads_kv));
  }

  switch (desc.dtype) {
    case DType::f32:
    case DType::f16:
    case DType::bf16: break;
    case DType::boolean:
      invalid("dtype=bool is only valid for masks; q, k, v and out need f32, f16 or bf16");
    default: invalid("dtype=" + std::to_string(static_cast<int>(desc.dtype)) + " is not a DType");
  }
  p.dtype = desc.dtype;
  p.kv_dtype = desc.dtype;

  switch (desc.causal) {
    case Causal::none:
    case Causal::top_left:
    case Causal::bottom_right: break;
    default:
      invalid("causal=" + std::to_string(static_cast<int>(desc.causal)) + " is not a Causal");
  }
  p.causal = desc.causal;

  if (desc.scale) {
    if (!std::isfinite(*desc.scale))
      invalid("scale=" + std::to_string(*desc.scale) + " is not finite");
    p.scale = *desc.scale;
  } else {
    p.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(p.dim_qk)));
  }
  if (!std::isfinite(desc.softcap) || desc.softcap < 0.0f) {
    invalid("softcap=" + std::to_string(desc.softcap) + " must be finite and >= 0 (0 = off)");
  }
  p.softcap = desc.softcap;

  require_window("window_left", desc.window_left);
  require_window("window_right", desc.window_right);
  // Causal already hides every key right of the diagonal, so a positive right window would
  // silently do nothing; reject it rather than guess. -1 and 0 mean the same thing here.
  if (desc.causal != Causal::none && desc.window_right > 0) {
    invalid("window_right=" + std::to_string(desc.window_right) +
            ": window_right must be -1 or 0 with causal=" + to_string(desc.causal));
  }
  p.window_left = desc.window_left;
  p.window_right = desc.window_right;
  p.kv_stride = p.len_kv;

  // Guard every size a backend will multiply out, before anyone does.
  element_count("q", {p.batch, p.heads_q, p.len_q, p.dim_qk});
  element_count("k", {p.batch, p.heads_kv, p.len_kv, p.dim_qk});
  element_count("v", {p.batch, p.heads_kv, p.len_kv, p.dim_v});
  element_count("out", {p.batch, p.heads_q, p.len_q, p.dim_v});
  element_count("the score matrix", {p.batch, p.heads_q, p.len_q, p.len_kv}, kMaxScoreElements);
  return p;
}

Problem validate_call(const AttentionDesc& desc, const AttentionInputs& in,
                      const AttentionOutputs& out) {
  Problem p = validate_desc(desc);

  const auto check_data_view = [&](const char* name, const auto& v, const Dims4& expected,
                                   const DimNames& names) {
    if (v.data == nullptr) invalid(std::string(name) + ".data is null");
    if (v.dtype != p.dtype) {
      invalid(std::string(name) + ".dtype=" + to_string(v.dtype) +
              " does not match dtype=" + to_string(p.dtype));
    }
    return check_view(name, v, expected, names);
  };
  const std::int64_t q_reach = check_data_view("q", in.q, {p.batch, p.heads_q, p.len_q, p.dim_qk},
                                               {"batch", "heads_q", "len_q", "head_dim"});
  std::int64_t k_reach = 0;
  std::int64_t v_reach = 0;
  p.kv_stride = p.len_kv;
  if (in.kv_cache != nullptr) {
    p.kv_stride = check_kv_cache(*in.kv_cache, in, p);
    p.kv_cache = true;
    p.kv_dtype = in.kv_cache->desc().dtype;
  } else {
    k_reach = check_data_view("k", in.k, {p.batch, p.heads_kv, p.len_kv, p.dim_qk},
                              {"batch", "heads_kv", "len_kv", "head_dim"});
    v_reach = check_data_view("v", in.v, {p.batch, p.heads_kv, p.len_kv, p.dim_v},
                              {"batch", "heads_kv", "len_kv", "head_dim_v"});
  }
  const std::int64_t out_reach =
      check_data_view("out", out.out, {p.batch, p.heads_q, p.len_q, p.dim_v},
                      {"batch", "heads_q", "len_q", "head_dim_v"});

  Range mask_range{"mask", 0, 0};
  if (in.mask) {
    const TensorView& m = *in.mask;
    if (m.data == nullptr) invalid("mask.data is null");
    switch (m.dtype) {
      case DType::boolean: p.mask = MaskKind::boolean; break;
      case DType::f32:
      case DType::f16:
      case DType::bf16: p.mask = MaskKind::additive; break;
      default:
        invalid("mask.dtype=" + std::to_string(static_cast<int>(m.dtype)) + " is not a DType");
    }
    p.mask_dtype = m.dtype;
    // Broadcasting: a mask dim is either the target dim or 1; the view is checked against
    // its own shape once that holds.
    const Dims4 target{p.batch, p.heads_q, p.len_q, p.len_kv};
    static constexpr DimNames kMaskDims{"batch", "heads_q", "len_q", "len_kv"};
    for (std::size_t d = 0; d < 4; ++d) {
      if (m.shape[d] != target[d] && m.shape[d] != 1) {
        invalid("mask.shape[" + std::to_string(d) + "]=" + std::to_string(m.shape[d]) +
                " must be " + kMaskDims[d] + "=" + std::to_string(target[d]) +
                " or 1 (mask.shape=" + dims_string(m.shape) + " does not broadcast to " +
                dims_string(target) + ")");
      }
    }
    p.mask_shape = m.shape;
    mask_range = range_of("mask", m, check_view("mask", m, m.shape, kMaskDims));
  }

  if (!in.kv_lens.empty()) {
    if (static_cast<std::int64_t>(in.kv_lens.size()) != p.batch) {
      invalid("kv_lens.size()=" + std::to_string(in.kv_lens.size()) +
              " does not match batch=" + std::to_string(p.batch));
    }
    for (std::size_t b = 0; b < in.kv_lens.size(); ++b) {
      const std::int32_t len = in.kv_lens[b];
      if (len < 0 || len > p.len_kv) {
        invalid("kv_lens[" + std::to_string(b) + "]=" + std::to_string(len) +
                " must be in [0, len_kv=" + std::to_string(p.len_kv) + "]");
      }
    }
    p.has_kv_lens = true;
  }

  // Sizes fit in int64 (validate_desc bounded them), so these products cannot overflow.
  const std::int64_t rows = p.batch * p.heads_q * p.len_q;
  if (!out.lse.empty()) {
    if (static_cast<std::int64_t>(out.lse.size()) != rows) {
      invalid("lse.size()=" + std::to_string(out.lse.size()) +
              " must be batch*heads_q*len_q=" + std::to_string(rows));
    }
    p.want_lse = true;
  }
  if (!out.probs.empty()) {
    const std::int64_t cells = rows * p.len_kv;
    if (static_cast<std::int64_t>(out.probs.size()) != cells) {
      invalid("probs.size()=" + std::to_string(out.probs.size()) +
              " must be batch*heads_q*len_q*len_kv=" + std::to_string(cells));
    }
    p.want_probs = true;
  }

  // Best effort aliasing check on address ranges: an output sharing memory with an input
  // would be read after it is partly written (CPU) or race with the upload (GPU). Ranges
  // interleaved without sharing an element (e.g. packed buffers) are rejected too; the
  // caller can always pass a separate output.
  const std::array<Range, 5> inputs{range_of("q", in.q, q_reach), range_of("k", in.k, k_reach),
                                    range_of("v", in.v, v_reach), mask_range,
                                    range_of("kv_lens", in.kv_lens)};
  const std::array<Range, 3> outputs{range_of("out", out.out, out_reach), range_of("lse", out.lse),
                                     range_of("probs", out.probs)};
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    for (const Range& i : inputs) check_disjoint(outputs[o], i);
    for (std::size_t o2 = o + 1; o2 < outputs.size(); ++o2) check_disjoint(outputs[o], outputs[o2]);
  }
  return p;
}

}  // namespace vkattn::detail
