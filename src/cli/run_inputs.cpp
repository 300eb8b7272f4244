// SPDX-License-Identifier: MIT
#include "cli/run_inputs.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>

#include "cli/errors.hpp"
#include "core/parse.hpp"

namespace vkattn::cli {

namespace {

float parse_float(const char* option, const std::string& text) {
  float value = 0.0f;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value))
    throw BadInput(std::string(option) + " '" + text + "': expected a finite number");
  return value;
}

std::int64_t parse_window_side(std::string_view text, const std::string& whole) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < -1)
    throw BadInput("--window '" + whole +
                   "': expected LEFT,RIGHT with integers >= -1 (-1 = unbounded)");
  return value;
}

npy::Array load(const char* option, const std::string& path) {
  try {
    return npy::read(path);
  } catch (const npy::Error& e) {
    throw BadInput(std::string(option) + ": " + e.what());
  }
}

// A zero-element array has no storage, but views must not be null.
const void* data_of(const npy::Array& a) {
  static const std::uint64_t empty = 0;
  return a.data.empty() ? static_cast<const void*>(&empty) : a.data.data();
}

DType storage_dtype(const char* option, const npy::Array& a) {
  switch (a.type) {
    case npy::Type::f32: return DType::f32;
    case npy::Type::f16: return DType::f16;
    default:
      throw BadInput(std::string(option) + ": dtype " + npy::type_name(a.type) +
                     " is not supported: expected float32 or float16");
  }
}

// The logical [B, H, L, D] extents of a rank-4 q, k or v in `layout`.
Dims4 logical_dims(const char* option, const npy::Array& a, bool blhd) {
  if (a.shape.size() != 4)
    throw BadInput(std::string(option) + ": expected a 4-D array " +
                   (blhd ? "[B, L, H, D]" : "[B, H, L, D]") + ", got shape " +
                   shape_string(a.shape));
  if (blhd) return {a.shape[0], a.shape[2], a.shape[1], a.shape[3]};
  return {a.shape[0], a.shape[1], a.shape[2], a.shape[3]};
}

void require_equal(std::int64_t got, std::int64_t want, const char* what, const RunInputs& r,
                   const char* option) {
  if (got == want) return;
  throw BadInput(std::string("shape mismatch: ") + option + " has " + what + " " +
                 std::to_string(got) + ", expected " + std::to_string(want) + " (q " +
                 shape_string(r.q.shape) + ", k " + shape_string(r.k.shape) + ", v " +
                 shape_string(r.v.shape) + ")");
}

void load_mask(RunInputs& r, const std::string& path) {
  npy::Array m = load("--mask", path);
  if (m.type != npy::Type::boolean && m.type != npy::Type::f32 && m.type != npy::Type::f16)
    throw BadInput(
        std::string("--mask: dtype ") + npy::type_name(m.type) +
        " is not supported: expected bool (true = attend) or float32/float16 (additive)");
  if (m.shape.size() < 2 || m.shape.size() > 4)
    throw BadInput(
        "--mask: expected rank 2, 3 or 4 ([Lq, Lkv], [H, Lq, Lkv] or [B, H, Lq, Lkv]), got shape " +
        shape_string(m.shape));
  const AttentionDesc& d = r.desc;
  const Dims4 target{d.batch, d.heads_q, d.len_q, d.len_kv};
  const std::size_t lead = 4 - m.shape.size();
  for (std::size_t i = 0; i < 4; ++i) {
    const std::int64_t dim = i < lead ? 1 : m.shape[i - lead];
    if (dim != 1 && dim != target[i])
      throw BadInput("--mask: shape " + shape_string(m.shape) +
                     " is not broadcastable to [B, Hq, Lq, Lkv] = " +
                     shape_string({target.begin(), target.end()}));
    r.mask_shape[i] = dim;
  }
  r.mask = std::move(m);
}

void load_kv_lens(RunInputs& r, const std::string& path) {
  const npy::Array a = load("--kv-lens", path);
  if (a.type != npy::Type::i32 && a.type != npy::Type::i64)
    throw BadInput(std::string("--kv-lens: dtype ") + npy::type_name(a.type) +
                   " is not supported: expected int32 or int64");
  if (a.shape.size() != 1 || a.shape[0] != r.desc.batch)
    throw BadInput("--kv-lens: expected shape (" + std::to_string(r.desc.batch) +
                   ",) (one length per batch), got " + shape_string(a.shape));
  r.kv_lens.resize(a.count());
  for (std::size_t i = 0; i < r.kv_lens.size(); ++i) {
    std::int64_t value = 0;
    if (a.type == npy::Type::i32) {
      std::int32_t v32 = 0;
      std::memcpy(&v32, a.data.data() + 4 * i, 4);  // little-endian host (x86, ARM)
      value = v32;
    } else {
      std::memcpy(&value, a.data.data() + 8 * i, 8);
    }
    if (value < 0 || value > r.desc.len_kv)
      throw BadInput("--kv-lens: value " + std::to_string(value) + " at index " +
                     std::to_string(i) + " is outside [0, Lkv=" + std::to_string(r.desc.len_kv) +
                     "]");
    r.kv_lens[i] = static_cast<std::int32_t>(value);
  }
}

void parse_semantics(RunInputs& r, const RunArgs& args) {
  AttentionDesc& d = r.desc;
  if (args.scale) d.scale = parse_float("--scale", *args.scale);
  if (args.softcap) d.softcap = parse_float("--softcap", *args.softcap);
  if (args.causal) {
    const auto c = detail::parse_causal(*args.causal);
    if (!c)
      throw BadInput("--causal '" + *args.causal + "': expected none, top-left or bottom-right");
    d.causal = *c;
  }
  if (args.window) {
    const std::string& w = *args.window;
    const auto comma = w.find(',');
    if (comma == std::string::npos)
      throw BadInput("--window '" + w +
                     "': expected LEFT,RIGHT with integers >= -1 (-1 = unbounded)");
    d.window_left = parse_window_side(std::string_view(w).substr(0, comma), w);
    d.window_right = parse_window_side(std::string_view(w).substr(comma + 1), w);
  }
}

}  // namespace

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

RunInputs load_run_inputs(const RunArgs& args) {
  RunInputs r;
  if (args.layout != "bhld" && args.layout != "blhd")
    throw BadInput("--layout '" + args.layout + "': expected bhld or blhd");
  r.blhd = args.layout == "blhd";
  // Option values first: a typo should not wait for large files to load.
  parse_semantics(r, args);

  r.q = load("--q", args.q);
  r.k = load("--k", args.k);
  r.v = load("--v", args.v);
  const DType dtype = storage_dtype("--q", r.q);
  if (storage_dtype("--k", r.k) != dtype || storage_dtype("--v", r.v) != dtype)
    throw BadInput(std::string("q, k and v must share one dtype: q is ") +
                   npy::type_name(r.q.type) + ", k " + npy::type_name(r.k.type) + ", v " +
                   npy::type_name(r.v.type));
  const Dims4 q = logical_dims("--q", r.q, r.blhd);
  const Dims4 k = logical_dims("--k", r.k, r.blhd);
  const Dims4 v = logical_dims("--v", r.v, r.blhd);
  require_equal(k[0], q[0], "batch", r, "--k");
  require_equal(v[0], q[0], "batch", r, "--v");
  require_equal(v[1], k[1], "heads", r, "--v");
  require_equal(v[2], k[2], "length", r, "--v");
  require_equal(k[3], q[3], "head dim", r, "--k");

  AttentionDesc& d = r.desc;
  d.batch = q[0];
  d.heads_q = q[1];
  d.heads_kv = k[1];
  d.len_q = q[2];
  d.len_kv = k[2];
  d.head_dim = q[3];
  d.head_dim_v = v[3];
  d.dtype = dtype;

  if (args.mask) load_mask(r, *args.mask);
  if (args.kv_lens) load_kv_lens(r, *args.kv_lens);
  return r;
}

AttentionInputs RunInputs::views() const {
  const auto view = [this](const npy::Array& a, std::int64_t h, std::int64_t l, std::int64_t dim) {
    return blhd ? TensorView::blhd(data_of(a), desc.dtype, desc.batch, h, l, dim)
                : TensorView::bhld(data_of(a), desc.dtype, desc.batch, h, l, dim);
  };
  AttentionInputs in;
  in.q = view(q, desc.heads_q, desc.len_q, desc.head_dim);
  in.k = view(k, *desc.heads_kv, desc.len_kv, desc.head_dim);
  in.v = view(v, *desc.heads_kv, desc.len_kv, *desc.head_dim_v);
  if (mask) {
    const Dims4& s = mask_shape;
    TensorView m;
    m.data = data_of(*mask);
    m.dtype = mask->type == npy::Type::boolean ? DType::boolean
              : mask->type == npy::Type::f16   ? DType::f16
                                               : DType::f32;
    m.shape = s;
    m.strides = {s[1] * s[2] * s[3], s[2] * s[3], s[3], 1};
    m.extent = mask->count();
    in.mask = m;
  }
  in.kv_lens = kv_lens;
  return in;
}

std::vector<std::int64_t> RunInputs::out_shape() const {
  const std::int64_t dv = *desc.head_dim_v;
  if (blhd) return {desc.batch, desc.len_q, desc.heads_q, dv};
  return {desc.batch, desc.heads_q, desc.len_q, dv};
}

}  // namespace vkattn::cli
