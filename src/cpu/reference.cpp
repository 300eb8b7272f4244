// SPDX-License-Identifier: MIT
// The oracle. Deliberately naive: one query row at a time, scores in double, a textbook
// max-subtracted softmax. Clarity over speed; see reference.hpp.
#include "cpu/reference.hpp"

#include <cmath>
#include <cstddef>
#include <limits>

#include "core/dtype.hpp"

namespace vkattn::detail {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

std::size_t to_index(std::int64_t i) noexcept { return static_cast<std::size_t>(i); }

// Index of dim `d` into a possibly broadcast mask: 0 where the mask has extent 1.
std::int64_t mask_index(const Problem& p, std::size_t d, std::int64_t i) noexcept {
  return p.mask_shape[d] == 1 ? 0 : i;
}

}  // namespace

bool key_visible(const Problem& p, std::int64_t kv_len, std::int64_t i, std::int64_t j) noexcept {
  if (j >= kv_len) return false;
  // The diagonal: top-left aligns query 0 with key 0; bottom-right aligns the last query with
  // the last visible key. A window without causal uses bottom-right, as FlashAttention does.
  std::int64_t diag = i;
  if (p.causal != Causal::top_left) diag += kv_len - p.len_q;
  if (p.causal != Causal::none && j > diag) return false;
  if (p.window_left >= 0 && j < diag - p.window_left) return false;
  if (p.window_right >= 0 && j > diag + p.window_right) return false;
  return true;
}

ReferenceResult reference_attention(const Problem& p, const AttentionInputs& in) {
  const std::int64_t B = p.batch, Hq = p.heads_q, Lq = p.len_q, Lkv = p.len_kv;
  const std::int64_t Dk = p.dim_qk, Dv = p.dim_v;
  const std::int64_t group = p.group();
  const double scale = p.scale;
  const double cap = p.softcap;

  ReferenceResult r;
  r.out.assign(to_index(B * Hq * Lq * Dv), 0.0);
  r.lse.assign(to_index(B * Hq * Lq), kNegInf);
  if (p.want_probs) r.probs.assign(to_index(B * Hq * Lq * Lkv), 0.0);

  // Scores of one row; -inf marks an excluded key (invisible, boolean-masked, or an
  // additive -inf), which contributes exactly zero weight.
  std::vector<double> s(to_index(Lkv));

  for (std::int64_t b = 0; b < B; ++b) {
    const std::int64_t kv_len = p.has_kv_lens ? in.kv_lens[to_index(b)] : Lkv;
    for (std::int64_t h = 0; h < Hq; ++h) {
      const std::int64_t hk = h / group;  // GQA: consecutive query heads share a KV head
      for (std::int64_t i = 0; i < Lq; ++i) {
        const std::int64_t row = (b * Hq + h) * Lq + i;
        double max_s = kNegInf;
        for (std::int64_t j = 0; j < Lkv; ++j) {
          double& sj = s[to_index(j)];
          sj = kNegInf;
          if (!key_visible(p, kv_len, i, j)) continue;
          double dot = 0.0;
          for (std::int64_t d = 0; d < Dk; ++d) {
            dot += static_cast<double>(
                       load_as_float(in.q.data, in.q.dtype, offset_of(in.q, b, h, i, d))) *
                   static_cast<double>(
                       load_as_float(in.k.data, in.k.dtype, offset_of(in.k, b, hk, j, d)));
          }
          double score = scale * dot;
          if (cap > 0.0) score = cap * std::tanh(score / cap);  // softcap comes before any mask
          if (p.mask != MaskKind::none) {
            const TensorView& m = *in.mask;
            const double mv = load_as_float(m.data, p.mask_dtype,
                                            offset_of(m, mask_index(p, 0, b), mask_index(p, 1, h),
                                                      mask_index(p, 2, i), mask_index(p, 3, j)));
            if (p.mask == MaskKind::boolean) {
              if (mv == 0.0) continue;
            } else {
              score += mv;
            }
          }
          sj = score;
          if (score > max_s) max_s = score;
        }
        // Nothing to attend to: the documented 0 output and -inf lse (already in place),
        // rather than the 0/0 = NaN a literal softmax would give.
        if (max_s == kNegInf) continue;

        double sum = 0.0;
        for (std::int64_t j = 0; j < Lkv; ++j) {
          double& sj = s[to_index(j)];
          sj = std::exp(sj - max_s);  // exp(-inf) = 0 for excluded keys
          sum += sj;
        }
        r.lse[to_index(row)] = max_s + std::log(sum);
        double* out_row = &r.out[to_index(row * Dv)];
        for (std::int64_t j = 0; j < Lkv; ++j) {
          const double w = s[to_index(j)] / sum;
          if (p.want_probs) r.probs[to_index(row * Lkv + j)] = w;
          if (w == 0.0) continue;
          for (std::int64_t d = 0; d < Dv; ++d) {
            out_row[d] += w * static_cast<double>(
                                  load_as_float(in.v.data, in.v.dtype, offset_of(in.v, b, hk, j, d)));
          }
        }
      }
    }
  }
  return r;
}

void write_outputs(const Problem& p, const ReferenceResult& r, const AttentionOutputs& out) {
  const MutableTensorView& o = out.out;
  for (std::int64_t b = 0; b < p.batch; ++b)
    for (std::int64_t h = 0; h < p.heads_q; ++h)
      for (std::int64_t i = 0; i < p.len_q; ++i)
        for (std::int64_t d = 0; d < p.dim_v; ++d) {
          const std::int64_t src = ((b * p.heads_q + h) * p.len_q + i) * p.dim_v + d;
          store_from_float(o.data, o.dtype, offset_of(o, b, h, i, d),
                           static_cast<float>(r.out[to_index(src)]));
        }
  if (!out.lse.empty()) {
    for (std::size_t i = 0; i < r.lse.size() && i < out.lse.size(); ++i)
      out.lse[i] = static_cast<float>(r.lse[i]);
  }
  if (!out.probs.empty() && !r.probs.empty()) {
    for (std::size_t i = 0; i < r.probs.size() && i < out.probs.size(); ++i)
      out.probs[i] = static_cast<float>(r.probs[i]);
  }
}

}  // namespace vkattn::detail
