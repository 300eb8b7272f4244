// SPDX-License-Identifier: MIT
// libFuzzer target for call validation (src/core/validate.cpp).
//
// The input bytes decode into an AttentionDesc, tensor views (shape, strides, extent, null or
// not, dtype, aliasing), an optional mask, kv_lens and lse/probs spans. Every view points
// into its own heap allocation of exactly `extent` elements, so ASan's redzones sit right
// after the last element the caller claims to own.
//
// Contract checked:
//   * validate_call throws nothing but vkattn::Error (anything else escapes: a crash);
//   * when it accepts, the views really are in bounds and outputs do not alias inputs: the
//     CPU reference reads every element the views address and write_outputs writes every
//     output element (ASan), and an independent range computation here confirms no output
//     overlaps an input or another output.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "core/problem.hpp"
#include "cpu/reference.hpp"
#include "vkattn/error.hpp"

namespace {

using vkattn::AttentionDesc;
using vkattn::Dims4;
using vkattn::DType;

// Largest allocation per tensor, in elements. Small keeps the reference (O(B·Hq·Lq·Lkv·D))
// fast enough for thousands of executions per second.
constexpr std::size_t kMaxExtent = 768;

// An integer that is usually small and valid but sometimes an edge value the validator must
// refuse without overflowing: 0, negatives, just past a limit, near int64 max.
std::int64_t size_value(FuzzedDataProvider& in, std::int64_t small_max) {
  static constexpr std::array<std::int64_t, 8> kEdges{0,
                                                      -1,
                                                      257,
                                                      std::int64_t{1} << 31,
                                                      std::int64_t{1} << 40,
                                                      (std::int64_t{1} << 62) + 1,
                                                      std::numeric_limits<std::int64_t>::max(),
                                                      std::numeric_limits<std::int64_t>::min()};
  if (in.ConsumeIntegralInRange<int>(0, 15) == 0)
    return kEdges[in.ConsumeIntegralInRange<std::size_t>(0, 7)];
  return in.ConsumeIntegralInRange<std::int64_t>(1, small_max);
}

DType dtype_value(FuzzedDataProvider& in) {
  // 0..3 are the real types; 4 and 200 are not DTypes at all.
  static constexpr std::array<std::uint8_t, 6> kValues{0, 1, 2, 3, 4, 200};
  return static_cast<DType>(kValues[in.ConsumeIntegralInRange<std::size_t>(0, kValues.size() - 1)]);
}

float float_value(FuzzedDataProvider& in) {
  static constexpr std::array<float, 6> kEdges{0.0f,
                                               -1.0f,
                                               std::numeric_limits<float>::infinity(),
                                               -std::numeric_limits<float>::infinity(),
                                               std::numeric_limits<float>::quiet_NaN(),
                                               1e30f};
  if (in.ConsumeBool()) return kEdges[in.ConsumeIntegralInRange<std::size_t>(0, kEdges.size() - 1)];
  return in.ConsumeFloatingPointInRange<float>(0.0f, 60.0f);
}

// Wrapping arithmetic for the fuzzer's own stride guesses: edge sizes overflow them, and the
// validator (not this harness) is what must cope with the result.
std::int64_t wrap_mul(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}
std::int64_t wrap_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

// Elements the strides reach (max offset + 1), or 0 when it does not fit the allocation cap.
std::size_t reach_of(const Dims4& shape, const Dims4& strides) {
  constexpr std::int64_t kBig = std::int64_t{1} << 40;  // keeps the sum below inside __int128
  __int128 last = 0;
  for (std::size_t d = 0; d < 4; ++d) {
    if (shape[d] < 1 || strides[d] < 0 || shape[d] > kBig || strides[d] > kBig) return 0;
    last += static_cast<__int128>(shape[d] - 1) * strides[d];
  }
  return last + 1 > static_cast<__int128>(kMaxExtent) ? 0 : static_cast<std::size_t>(last + 1);
}

// One tensor's backing store plus the view fields the fuzzer chose for it.
struct Tensor {
  std::unique_ptr<std::uint8_t[]> storage;  // exactly extent·size_of(dtype) bytes
  void* data = nullptr;
  DType dtype = DType::f32;
  Dims4 shape{};
  Dims4 strides{};
  std::size_t extent = 0;
};

// Decodes a view that is usually consistent with `expected` (so validation gets past it and
// the interesting checks run) and sometimes perturbed in one field.
Tensor make_tensor(FuzzedDataProvider& in, const Dims4& expected, DType expected_dtype) {
  Tensor t;
  t.dtype = in.ConsumeIntegralInRange<int>(0, 7) == 0 ? dtype_value(in) : expected_dtype;
  t.shape = expected;
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0)
    t.shape[in.ConsumeIntegralInRange<std::size_t>(0, 3)] = size_value(in, 9);
  const auto [b, h, l, d] = t.shape;
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: t.strides = {wrap_mul(wrap_mul(h, l), d), wrap_mul(l, d), d, 1}; break;  // BHLD
    case 1: t.strides = {wrap_mul(wrap_mul(l, h), d), d, wrap_mul(h, d), 1}; break;  // BLHD
    case 2: {                                                                        // padded rows
      const std::int64_t row = wrap_add(d, 3);
      t.strides = {wrap_mul(wrap_mul(h, l), row), wrap_mul(l, row), row, 1};
      break;
    }
    default:  // anything, including 0, negative and overlapping strides
      for (auto& s : t.strides) s = in.ConsumeIntegralInRange<std::int64_t>(-2, 40);
  }
  // Extent: what the strides need, one short, or arbitrary; capped by the allocation limit.
  const std::size_t reach = reach_of(t.shape, t.strides);
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0: t.extent = reach > 0 ? reach - 1 : 0; break;
    case 1: t.extent = in.ConsumeIntegralInRange<std::size_t>(0, kMaxExtent); break;
    default: t.extent = reach;
  }
  const std::size_t elem = std::max<std::size_t>(vkattn::size_of(t.dtype), 1);
  t.storage = std::make_unique<std::uint8_t[]>(std::max<std::size_t>(t.extent * elem, 1));
  // Bytes 0..15: small finite values in every float format, and both bool values.
  for (std::size_t i = 0; i < t.extent * elem; ++i)
    t.storage[i] = static_cast<std::uint8_t>(i % 16);
  // A zero-extent view still gets a distinct non-null pointer (a 1-byte allocation).
  t.data = in.ConsumeIntegralInRange<int>(0, 15) == 0 ? nullptr : t.storage.get();
  return t;
}

template <class View>
View view_of(const Tensor& t) {
  return View{static_cast<decltype(View::data)>(t.data), t.dtype, t.shape, t.strides, t.extent};
}

struct ByteRange {
  std::uintptr_t begin = 0, end = 0;
};

template <class View>
ByteRange touched(const View& v) {
  std::int64_t last = 0;
  for (std::size_t d = 0; d < 4; ++d) last += (v.shape[d] - 1) * v.strides[d];
  const auto begin = reinterpret_cast<std::uintptr_t>(v.data);
  return {begin, begin + static_cast<std::uintptr_t>(last + 1) * vkattn::size_of(v.dtype)};
}

template <class T>
ByteRange touched(std::span<T> s) {
  const auto begin = reinterpret_cast<std::uintptr_t>(s.data());
  return {begin, begin + s.size_bytes()};
}

bool overlap(ByteRange a, ByteRange b) {
  return a.begin != a.end && b.begin != b.end && a.begin < b.end && b.begin < a.end;
}

[[noreturn]] void property_violated(const char* what) {
  std::fprintf(stderr, "fuzz_validate: accepted a call that %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);

  AttentionDesc desc;
  desc.batch = size_value(in, 2);
  desc.heads_q = size_value(in, 4);
  if (in.ConsumeBool()) desc.heads_kv = size_value(in, 4);
  desc.len_q = size_value(in, 9);
  desc.len_kv = size_value(in, 9);
  desc.head_dim = size_value(in, 8);
  if (in.ConsumeBool()) desc.head_dim_v = size_value(in, 8);
  if (in.ConsumeBool()) desc.scale = float_value(in);
  desc.dtype = in.ConsumeIntegralInRange<int>(0, 7) == 0
                   ? dtype_value(in)
                   : static_cast<DType>(in.ConsumeIntegralInRange<int>(0, 2));
  desc.causal = static_cast<vkattn::Causal>(in.ConsumeIntegralInRange<int>(0, 3));
  desc.window_left = in.ConsumeIntegralInRange<std::int64_t>(-2, 9);
  desc.window_right = in.ConsumeIntegralInRange<std::int64_t>(-2, 9);
  if (in.ConsumeBool()) desc.softcap = float_value(in);

  const std::int64_t hkv = desc.heads_kv.value_or(desc.heads_q);
  const std::int64_t dv = desc.head_dim_v.value_or(desc.head_dim);
  const Dims4 q_dims{desc.batch, desc.heads_q, desc.len_q, desc.head_dim};
  const Tensor q = make_tensor(in, q_dims, desc.dtype);
  const Tensor k = make_tensor(in, {desc.batch, hkv, desc.len_kv, desc.head_dim}, desc.dtype);
  const Tensor v = make_tensor(in, {desc.batch, hkv, desc.len_kv, dv}, desc.dtype);
  Tensor out = make_tensor(in, {desc.batch, desc.heads_q, desc.len_q, dv}, desc.dtype);

  vkattn::AttentionInputs inputs{view_of<vkattn::TensorView>(q),
                                 view_of<vkattn::TensorView>(k),
                                 view_of<vkattn::TensorView>(v),
                                 std::nullopt,
                                 {}};
  // Aliasing: sometimes the output points into Q's allocation (validation must refuse it).
  if (q.data != nullptr && in.ConsumeIntegralInRange<int>(0, 15) == 0) {
    const std::size_t elem = std::max<std::size_t>(vkattn::size_of(q.dtype), 1);
    const std::size_t off = in.ConsumeIntegralInRange<std::size_t>(0, q.extent);
    out.data = q.storage.get() + off * elem;
    out.extent = std::min(out.extent, q.extent - off);
    out.dtype = q.dtype;
  }

  Tensor mask;
  if (in.ConsumeBool()) {
    // Each dim the target's or 1 (broadcast), occasionally something else.
    Dims4 mdims{desc.batch, desc.heads_q, desc.len_q, desc.len_kv};
    for (auto& d : mdims)
      if (in.ConsumeBool()) d = 1;
    mask = make_tensor(in, mdims, in.ConsumeBool() ? DType::boolean : dtype_value(in));
    inputs.mask = view_of<vkattn::TensorView>(mask);
  }

  std::vector<std::int32_t> kv_lens;
  if (in.ConsumeBool()) {
    const std::size_t n = in.ConsumeBool()
                              ? static_cast<std::size_t>(std::clamp<std::int64_t>(desc.batch, 0, 4))
                              : in.ConsumeIntegralInRange<std::size_t>(1, 4);
    for (std::size_t i = 0; i < n; ++i)
      kv_lens.push_back(in.ConsumeIntegralInRange<std::int32_t>(-1, 10));
    inputs.kv_lens = kv_lens;
  }

  // lse and probs: the exact size when it is small, else an arbitrary small size.
  const auto span_size = [&](std::int64_t want) -> std::size_t {
    if (!in.ConsumeBool()) return 0;  // not requested
    if (want > 0 && want <= static_cast<std::int64_t>(kMaxExtent) && in.ConsumeBool())
      return static_cast<std::size_t>(want);
    return in.ConsumeIntegralInRange<std::size_t>(1, 64);
  };
  // Only a size hint, so overflow just means "no exact size" (-1).
  std::int64_t rows = -1;
  std::int64_t cells = -1;
  if (desc.batch > 0 && desc.heads_q > 0 && desc.len_q > 0 && desc.len_kv > 0 &&
      (__builtin_mul_overflow(desc.batch, desc.heads_q, &rows) ||
       __builtin_mul_overflow(rows, desc.len_q, &rows) ||
       __builtin_mul_overflow(rows, desc.len_kv, &cells))) {
    rows = cells = -1;
  }
  std::vector<float> lse(span_size(rows));
  std::vector<float> probs(span_size(cells));
  const vkattn::AttentionOutputs outputs{view_of<vkattn::MutableTensorView>(out), lse, probs};

  vkattn::detail::Problem problem;
  try {
    problem = vkattn::detail::validate_call(desc, inputs, outputs);
  } catch (const vkattn::Error&) {
    return 0;  // the documented outcome for a bad call
  }

  // Accepted: check no output overlaps an input or another output, independently.
  const std::array<ByteRange, 5> in_ranges{touched(inputs.q), touched(inputs.k), touched(inputs.v),
                                           inputs.mask ? touched(*inputs.mask) : ByteRange{},
                                           touched(inputs.kv_lens)};
  const std::array<ByteRange, 3> out_ranges{touched(outputs.out), touched(outputs.lse),
                                            touched(outputs.probs)};
  for (std::size_t o = 0; o < out_ranges.size(); ++o) {
    for (const ByteRange& r : in_ranges)
      if (overlap(out_ranges[o], r)) property_violated("has an output aliasing an input");
    for (std::size_t o2 = o + 1; o2 < out_ranges.size(); ++o2)
      if (overlap(out_ranges[o], out_ranges[o2])) property_violated("has two aliasing outputs");
  }
  // And every addressed element is inside its allocation (ASan reports otherwise).
  const vkattn::detail::ReferenceResult result =
      vkattn::detail::reference_attention(problem, inputs);
  vkattn::detail::write_outputs(problem, result, outputs);
  return 0;
}
