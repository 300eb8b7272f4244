// SPDX-License-Identifier: MIT
#pragma once

// Shared by the robustness tests (test_threads.cpp, test_limits.cpp): one self-contained
// attention call (inputs, outputs, the reference) that can be run on any Context and checked.

#include <sstream>
#include <string>

#include "core/problem.hpp"
#include "cpu/reference.hpp"
#include "testutil.hpp"

namespace vkattn::test {

// Options for a CPU context (field by field: designated initializers trip -Wextra's
// missing-field-initializers on the members left out).
inline Options cpu_options() {
  Options o;
  o.backend = Backend::cpu;
  return o;
}

// An f32 problem without options, B = Hq = Hkv = 1 unless given.
inline AttentionDesc plain_desc(std::int64_t len_q, std::int64_t len_kv, std::int64_t dim,
                                std::int64_t heads = 1) {
  AttentionDesc d;
  d.heads_q = heads;
  d.len_q = len_q;
  d.len_kv = len_kv;
  d.head_dim = dim;
  return d;
}

// A small problem with seeded inputs and its own output buffers, BHLD contiguous.
struct SmallCall {
  AttentionDesc desc;
  HostTensor q, k, v, out;
  std::vector<float> lse;
  std::uint64_t seed;

  SmallCall(const AttentionDesc& d, std::uint64_t s)
      : desc(d),
        q(random_tensor(d.dtype, count(d.heads_q, d.len_q, d.head_dim), s)),
        k(random_tensor(d.dtype, count(hkv(), d.len_kv, d.head_dim), s + 1)),
        v(random_tensor(d.dtype, count(hkv(), d.len_kv, dv()), s + 2)),
        out(d.dtype, count(d.heads_q, d.len_q, dv())),
        lse(count(d.heads_q, d.len_q, 1)),
        seed(s) {}

  [[nodiscard]] std::int64_t hkv() const { return desc.heads_kv.value_or(desc.heads_q); }
  [[nodiscard]] std::int64_t dv() const { return desc.head_dim_v.value_or(desc.head_dim); }
  [[nodiscard]] std::size_t count(std::int64_t h, std::int64_t l, std::int64_t d) const {
    return static_cast<std::size_t>(desc.batch * h * l * d);
  }

  [[nodiscard]] AttentionInputs inputs() const {
    const DType t = desc.dtype;
    return {TensorView::bhld(q.data(), t, desc.batch, desc.heads_q, desc.len_q, desc.head_dim),
            TensorView::bhld(k.data(), t, desc.batch, hkv(), desc.len_kv, desc.head_dim),
            TensorView::bhld(v.data(), t, desc.batch, hkv(), desc.len_kv, dv()),
            std::nullopt,
            {}};
  }
  [[nodiscard]] AttentionOutputs outputs() {
    return {
        MutableTensorView::bhld(out.data(), desc.dtype, desc.batch, desc.heads_q, desc.len_q, dv()),
        lse,
        {}};
  }

  [[nodiscard]] std::string str() const {
    std::ostringstream s;
    s << "B=" << desc.batch << " Hq=" << desc.heads_q << " Hkv=" << hkv() << " Lq=" << desc.len_q
      << " Lkv=" << desc.len_kv << " Dk=" << desc.head_dim << " Dv=" << dv()
      << " dtype=" << to_string(desc.dtype) << " causal=" << to_string(desc.causal)
      << " seed=" << seed;
    return s.str();
  }

  // Runs on `ctx` and returns "" when out and lse match the reference, else what differs.
  [[nodiscard]] std::string run_and_check(Context& ctx) {
    ctx.attention(desc, inputs(), outputs());
    const detail::Problem p = detail::validate_call(desc, inputs(), outputs());
    const detail::ReferenceResult ref = detail::reference_attention(p, inputs());
    const Tolerance tol = tolerance_for(desc.dtype);
    const Comparison o = compare([&](std::size_t i) { return out.get(i); }, ref.out, tol, 1.0);
    // lse is f32 whatever the storage type; the storage type's bound is loose enough for it
    // and still far tighter than the difference a result from another call would make.
    const Comparison l = compare([&](std::size_t i) { return lse[i]; }, ref.lse, tol, 1.0);
    std::ostringstream s;
    if (!o.ok) s << "out differs (max rel " << o.max_rel_err << " at " << o.worst << ") ";
    if (!l.ok) s << "lse differs (max rel " << l.max_rel_err << " at " << l.worst << ") ";
    if (s.tellp() > 0) s << "for " << str();
    return s.str();
  }
};

}  // namespace vkattn::test
