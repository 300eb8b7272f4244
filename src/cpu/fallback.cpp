// SPDX-License-Identifier: MIT
// The CPU fallback driver: splits a problem into tasks, streams K/V blocks through an
// online softmax per task, and writes the outputs. The hot loops (block products, exp,
// transposes) live in fallback_kernels.inc; this file holds the semantics (visibility,
// masks, softcap, GQA, dtype conversion) and the scheduling.
//
// A task is (batch, KV head, a chunk of the query heads that share it, a block of query
// rows). Its rows are the (query head, query row) pairs, so GQA heads share each K/V block
// load and a decode step (Lq = 1) still gives the block products `group` rows. Per K/V block
// of kBlockKv keys: S = (scale·Q)·Kᵀ, softcap, mask, visibility; online softmax;
// O = O·alpha + P·V. When there are too few tasks to keep every thread busy (decode with
// few heads), each task's key range is split and the partial results merged by their LSE.
// When several tasks read one KV head with the same key blocks (prefill), its blocks are
// packed once per call into a shared workspace instead of once per task (run_in_waves).
#include "cpu/fallback.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <vector>

#include "core/dtype.hpp"
#include "cpu/fallback_kernels.hpp"
#include "cpu/thread_pool.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

namespace vkattn::detail {
namespace {

using i64 = std::int64_t;

constexpr i64 kBlockKv = 64;  // keys per block: S block and a 16-column strip fit in L1
// Rows per task: amortises packing each K/V block over many rows (240 measured ~5% faster
// than 120; Q, S and O of 240 rows still fit the 512 KiB L2 of the machines we tuned on);
// a multiple of the AVX2 gemm's 6-row register tile so no short remainder tile runs.
constexpr i64 kTargetRows = 240;
// Up to this many rows, scores come from dot products over K rows in place and V is read in
// place: packing a block costs as much as the product when it serves only a few rows.
constexpr i64 kDirectRows = 8;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::size_t idx(i64 v) noexcept { return static_cast<std::size_t>(v); }
i64 round_up(i64 v, i64 m) noexcept { return (v + m - 1) / m * m; }
i64 ceil_div(i64 a, i64 b) noexcept { return (a + b - 1) / b; }

const FallbackKernels& pick_kernels(CpuIsa isa) noexcept {
  if (isa == CpuIsa::automatic && cpu_runs_avx2_kernels()) {
    if (const FallbackKernels* k = fallback_kernels_avx2()) return *k;
  }
  return fallback_kernels_generic();
}

// Keys visible to query row i: the closed interval [lo, hi] (empty when lo > hi). The rule
// of key_visible (reference.cpp) and shaders/common.glsl, solved for j: every condition is
// a bound on j, so a row always sees one contiguous run of keys. lo and hi never decrease
// with i, which is what lets a task bound its key range by its first and last row.
struct Interval {
  i64 lo, hi;
};
Interval visible_keys(const Problem& p, i64 kv_len, i64 i) noexcept {
  i64 diag = i;
  if (p.causal != Causal::top_left) diag += kv_len - p.len_q;
  Interval r{0, kv_len - 1};
  if (p.causal != Causal::none) r.hi = std::min(r.hi, diag);
  if (p.window_left >= 0) r.lo = std::max(r.lo, diag - p.window_left);
  if (p.window_right >= 0) r.hi = std::min(r.hi, diag + p.window_right);
  return r;
}

// n elements of a strided view (element stride `step`) as float times `mul`.
void load_floats(const void* base, DType t, i64 offset, i64 step, i64 n, float mul,
                 float* dst) noexcept {
  if (t == DType::f32) {
    const float* src = static_cast<const float*>(base) + offset;
    if (step == 1) {  // the common case, and one the compiler vectorises
      for (i64 e = 0; e < n; ++e) dst[e] = src[e] * mul;
    } else {
      for (i64 e = 0; e < n; ++e) dst[e] = src[e * step] * mul;
    }
    return;
  }
  load_row(base, t, idx(offset), step, n, dst);  // f16 and bf16: a vectorised conversion
  for (i64 e = 0; e < n; ++e) dst[e] *= mul;
}

// How a problem is cut into tasks; fixed per call.
struct Tiling {
  i64 gchunk = 1;  // query heads per task (of the `group` sharing a KV head)
  i64 n_gchunks = 1;
  i64 bq = 1;  // query rows per task
  i64 n_qblocks = 1;
  i64 rows = 1;  // gchunk·bq: the most rows a task has
  i64 dvp = 8;   // Dv rounded up to the vector width: the O accumulator's row length
  i64 tasks = 0;
  i64 splits = 1;  // key-range pieces per task (split-KV)
  // Shared packs: each KV head's blocks are packed once, by a pass before its tasks run, and
  // the tasks' gemms read them (heads_per_wave > 0). Every task then runs the same key blocks
  // from key 0, which holds without a left window.
  i64 heads_per_wave = 0;
  i64 blocks_per_head = 0;  // ceil(Lkv / kBlockKv)
  i64 kt_floats = 0;        // Kᵀ panels of one block: kBlockKv·Dk
  i64 block_floats = 0;     // Kᵀ and V panels of one block
  [[nodiscard]] i64 tasks_per_head() const noexcept { return n_gchunks * n_qblocks; }
};

Tiling make_tiling(const Problem& p, unsigned threads, std::size_t shared_pack_bytes) {
  Tiling t;
  const i64 group = p.group();
  t.gchunk = std::min(group, kTargetRows);
  t.n_gchunks = ceil_div(group, t.gchunk);
  t.bq = std::clamp<i64>(kTargetRows / t.gchunk, 1, p.len_q);
  t.n_qblocks = ceil_div(p.len_q, t.bq);
  t.rows = t.gchunk * t.bq;
  t.dvp = round_up(p.dim_v, 8);
  t.tasks = p.batch * p.heads_kv * t.n_gchunks * t.n_qblocks;
  // Too few tasks for the threads (decode with few KV heads): split each task's keys so
  // every thread gets several pieces, but keep pieces >= 4 blocks so the merge stays cheap.
  const i64 want = 2 * static_cast<i64>(threads);
  if (threads > 1 && t.tasks < want) {
    const i64 by_len = std::max<i64>(1, p.len_kv / (4 * kBlockKv));
    t.splits = std::clamp<i64>(ceil_div(2 * want, t.tasks), 1, by_len);
  }
  // Packing a block took ~7.7% of prefill CPU time when each task packed its own (perf, D=128,
  // 240 rows a task); a head read by n tasks saves (n-1)/n of that. Not for the direct path
  // (nothing packed), nor for split tasks or a left window (blocks would not start at the
  // same keys in every task).
  if (t.rows > kDirectRows && t.splits == 1 && t.tasks_per_head() > 1 && p.window_left < 0) {
    t.blocks_per_head = ceil_div(p.len_kv, kBlockKv);
    t.kt_floats = kBlockKv * p.dim_qk;
    t.block_floats = t.kt_floats + kBlockKv * round_up(p.dim_v, 16);
    const auto head_bytes = static_cast<std::size_t>(t.blocks_per_head * t.block_floats) * 4;
    const i64 heads = p.batch * p.heads_kv;
    t.heads_per_wave = std::min(heads, static_cast<i64>(shared_pack_bytes / head_bytes));
    // Each wave ends in a barrier: a wave of few uneven tasks (a 240-row task beside a 4-row
    // one) would leave threads idle for most of it.
    if (t.heads_per_wave < heads && t.heads_per_wave * t.tasks_per_head() < 8 * i64{threads})
      t.heads_per_wave = 0;
  }
  return t;
}

// Per-thread buffers, grown as needed and kept across calls.
struct Scratch {
  std::vector<float> q, kt, kconv, vconv, v, s, o, m, l;
};

class Runner {
 public:
  Runner(const Problem& p, const AttentionInputs& in, const AttentionOutputs& out, const Tiling& t,
         const FallbackKernels& k)
      : p_(p), in_(in), out_(out), t_(t), k_(k) {}

  void prepare(Scratch& s) const {
    const i64 m = t_.rows;
    s.q.resize(idx(m * p_.dim_qk));
    s.kt.resize(idx(p_.dim_qk * kBlockKv));
    s.kconv.resize(idx(kBlockKv * p_.dim_qk));
    s.vconv.resize(idx(kBlockKv * p_.dim_v));
    s.v.resize(idx(kBlockKv * round_up(p_.dim_v, 16)));
    s.s.resize(idx(m * kBlockKv));
    s.o.resize(idx(m * t_.dvp));
    s.m.resize(idx(m));
    s.l.resize(idx(m));
  }
  [[nodiscard]] i64 partial_floats() const { return t_.rows * (t_.dvp + 2); }

  // Runs piece `split` of task `task`; with splits == 1 writes the outputs, else the
  // partial state into `partials`.
  void run_piece(i64 task, i64 split, Scratch& s, float* partials) const;
  // Shared packs (Tiling::heads_per_wave > 0): `packs` holds the blocks of KV heads
  // [head0, head0 + heads_per_wave), as pack_block writes them, for the tasks that follow.
  void use_packs(float* packs, i64 head0) noexcept {
    packs_ = packs;
    packs_head0_ = head0;
  }
  // Packs block `blk` of KV head `head` (b·Hkv + hk) into its place in the packs.
  void pack_block(i64 head, i64 blk, Scratch& s) const;
  // Merges the split pieces of `task` and writes its outputs.
  void merge(i64 task, const float* partials) const;

 private:
  struct Where {
    i64 b, hk, h0, heads, i0, nq;
  };
  [[nodiscard]] Where locate(i64 task) const noexcept {
    // Query blocks innermost: consecutive tasks, which the threads take at about the same
    // time, read the same KV head, so each K/V block comes from memory once into the shared
    // L3 (at Lkv = 4096 the threads then stream two 4 MiB heads at a time, not up to eight,
    // which overflow a 32 MiB L3); measured 3-6% faster on prefill. Within a head, heaviest
    // first: with causal masks late query blocks see the most keys, and dynamic scheduling
    // balances best when the long tasks start early.
    const i64 qb = t_.n_qblocks - 1 - task % t_.n_qblocks;
    i64 rest = task / t_.n_qblocks;
    const i64 gc = rest % t_.n_gchunks;
    rest /= t_.n_gchunks;
    Where w{};
    w.hk = rest % p_.heads_kv;
    w.b = rest / p_.heads_kv;
    w.h0 = w.hk * p_.group() + gc * t_.gchunk;
    w.heads = std::min(t_.gchunk, p_.group() - gc * t_.gchunk);
    w.i0 = qb * t_.bq;
    w.nq = std::min(t_.bq, p_.len_q - w.i0);
    return w;
  }
  [[nodiscard]] i64 kv_len(i64 b) const noexcept {
    return p_.has_kv_lens ? static_cast<i64>(in_.kv_lens[idx(b)]) : p_.len_kv;
  }
  i64 rows_f32(const TensorView& t, const Where& w, i64 j0, i64 nk, i64 dim, float* conv,
               const float** rows) const;
  [[nodiscard]] static bool is_half_rows(const TensorView& t) noexcept {
    return (t.dtype == DType::f16 || t.dtype == DType::bf16) && t.strides[3] == 1;
  }
  [[nodiscard]] static bool is_f32_rows(const TensorView& t) noexcept {
    return t.dtype == DType::f32 && t.strides[3] == 1;
  }
  // Key j0 of the task's KV head in an f16 or bf16 view (is_half_rows).
  [[nodiscard]] static const std::uint16_t* half_rows(const TensorView& t, const Where& w,
                                                      i64 j0) noexcept {
    return static_cast<const std::uint16_t*>(t.data) + offset_of(t, w.b, w.hk, j0, 0);
  }
  void prefetch_block(const Where& w, i64 j0, i64 nk) const;
  static void prefetch_rows(const TensorView& t, const Where& w, i64 j0, i64 nk, i64 dim);
  void score_epilogue(const Where& w, i64 kvl, i64 j0, i64 nk, bool all_visible, float* sc) const;
  void write_rows(const Where& w, const float* m, const float* l, const float* o) const;

  // The shared packs' keys of block j0 for batch b: up to the last key any query row sees.
  [[nodiscard]] i64 packed_keys(i64 b, i64 j0) const noexcept {
    return std::min(kBlockKv, visible_keys(p_, kv_len(b), p_.len_q - 1).hi + 1 - j0);
  }
  [[nodiscard]] float* packed_block(i64 head, i64 blk) const noexcept {
    return packs_ + ((head - packs_head0_) * t_.blocks_per_head + blk) * t_.block_floats;
  }

  const Problem& p_;
  const AttentionInputs& in_;
  const AttentionOutputs& out_;
  const Tiling& t_;
  const FallbackKernels& k_;
  float* packs_ = nullptr;
  i64 packs_head0_ = 0;
};

void Runner::pack_block(i64 head, i64 blk, Scratch& s) const {
  const Where w{
      .b = head / p_.heads_kv, .hk = head % p_.heads_kv, .h0 = 0, .heads = 0, .i0 = 0, .nq = 0};
  const i64 j0 = blk * kBlockKv, nk = packed_keys(w.b, j0);
  if (nk <= 0) return;  // no query row sees these keys
  float* kt = packed_block(head, blk);
  const float* krows = nullptr;
  const i64 ldk = rows_f32(in_.k, w, j0, nk, p_.dim_qk, s.kconv.data(), &krows);
  k_.pack_transposed(krows, ldk, static_cast<int>(nk), static_cast<int>(p_.dim_qk), kt);
  const float* vrows = nullptr;
  const i64 ldv = rows_f32(in_.v, w, j0, nk, p_.dim_v, s.vconv.data(), &vrows);
  k_.pack_panels(vrows, ldv, static_cast<int>(nk), static_cast<int>(p_.dim_v), kt + t_.kt_floats);
}

// Points at keys [j0, j0 + nk) of the task's KV head as f32 rows: the caller's memory when
// it is f32 with unit element stride, else a converted copy in `conv`. Returns the row stride.
i64 Runner::rows_f32(const TensorView& t, const Where& w, i64 j0, i64 nk, i64 dim, float* conv,
                     const float** rows) const {
  *rows = conv;
  if (t.strides[3] == 1 && t.dtype == DType::f32) {
    *rows = static_cast<const float*>(t.data) + offset_of(t, w.b, w.hk, j0, 0);
    return t.strides[2];
  }
  if (t.strides[3] == 1 && (t.dtype == DType::f16 || t.dtype == DType::bf16)) {
    const auto widen = t.dtype == DType::f16 ? k_.widen_f16 : k_.widen_bf16;
    const auto* src = static_cast<const std::uint16_t*>(t.data);
    for (i64 j = 0; j < nk; ++j) widen(src + offset_of(t, w.b, w.hk, j0 + j, 0), dim, conv + j * dim);
    return dim;
  }
  for (i64 j = 0; j < nk; ++j)
    load_floats(t.data, t.dtype, static_cast<i64>(offset_of(t, w.b, w.hk, j0 + j, 0)), t.strides[3],
                dim, 1.0f, conv + j * dim);
  return dim;
}

// Asks for the next block's K and V rows to be brought into L2 while this block computes:
// each task streams its KV head from L3 or memory, in short 64-row strided runs that the
// hardware prefetchers pick up late.
void Runner::prefetch_block(const Where& w, i64 j0, i64 nk) const {
  prefetch_rows(in_.k, w, j0, nk, p_.dim_qk);
  prefetch_rows(in_.v, w, j0, nk, p_.dim_v);
}

// Keys [j0, j0 + nk) of view t's task head, `dim` elements a row, line by line.
void Runner::prefetch_rows(const TensorView& t, const Where& w, i64 j0, i64 nk, i64 dim) {
  const auto* base = static_cast<const char*>(t.data);
  const auto element = static_cast<i64>(size_of(t.dtype));
  const i64 row_bytes = dim * t.strides[3] * element;
  for (i64 j = j0; j < j0 + nk; ++j) {
    const char* row = base + static_cast<i64>(offset_of(t, w.b, w.hk, j, 0)) * element;
    for (i64 off = 0; off < row_bytes; off += 64) __builtin_prefetch(row + off, 0, 2);
  }
}

// Turns raw scores sc[rows][kBlockKv] of keys [j0, j0 + nk) into what the softmax sees, in
// the reference's order: softcap, then the mask, then excluded keys (invisible ones and the
// padding up to the vector width) set to -inf.
void Runner::score_epilogue(const Where& w, i64 kvl, i64 j0, i64 nk, bool all_visible,
                            float* sc) const {
  const i64 n8 = round_up(nk, 8);
  const i64 rows = w.heads * w.nq;
  if (p_.softcap > 0.0f) {
    const float cap = p_.softcap, inv = 1.0f / p_.softcap;
    for (i64 r = 0; r < rows; ++r)
      for (i64 j = 0; j < nk; ++j)
        sc[r * kBlockKv + j] = cap * std::tanh(sc[r * kBlockKv + j] * inv);
  }
  if (p_.mask != MaskKind::none) {
    const TensorView& mv = *in_.mask;
    // Broadcast dims (extent 1) read index 0: a zero stride.
    i64 ms[4];
    for (std::size_t d = 0; d < 4; ++d) ms[d] = p_.mask_shape[d] == 1 ? 0 : mv.strides[d];
    for (i64 g = 0; g < w.heads; ++g)
      for (i64 ii = 0; ii < w.nq; ++ii) {
        float* row = sc + (g * w.nq + ii) * kBlockKv;
        const i64 base = w.b * ms[0] + (w.h0 + g) * ms[1] + (w.i0 + ii) * ms[2] + j0 * ms[3];
        if (p_.mask == MaskKind::boolean) {
          const auto* bits = static_cast<const std::uint8_t*>(mv.data) + base;
          for (i64 j = 0; j < nk; ++j)
            if (bits[j * ms[3]] == 0) row[j] = kNegInf;
        } else if (p_.mask_dtype == DType::f32) {
          const float* add = static_cast<const float*>(mv.data) + base;
          for (i64 j = 0; j < nk; ++j) row[j] += add[j * ms[3]];
        } else {
          for (i64 j = 0; j < nk; ++j)
            row[j] += load_as_float(mv.data, p_.mask_dtype, idx(base + j * ms[3]));
        }
      }
  }
  for (i64 ii = 0; ii < w.nq; ++ii) {
    i64 lo = 0, hi = nk - 1;  // visible range of this row within the block
    if (!all_visible) {
      const Interval vis = visible_keys(p_, kvl, w.i0 + ii);
      lo = std::clamp<i64>(vis.lo - j0, 0, nk);
      hi = std::clamp<i64>(vis.hi - j0, -1, nk - 1);
      if (hi < lo) hi = lo - 1;
    }
    for (i64 g = 0; g < w.heads; ++g) {
      float* row = sc + (g * w.nq + ii) * kBlockKv;
      std::fill(row, row + lo, kNegInf);
      std::fill(row + hi + 1, row + n8, kNegInf);
    }
  }
}

void Runner::run_piece(i64 task, i64 split, Scratch& s, float* partials) const {
  const Where w = locate(task);
  const i64 dk = p_.dim_qk, rows = w.heads * w.nq, kvl = kv_len(w.b);
  const bool direct = rows <= kDirectRows;
  // Few rows and f16 or bf16 K (V) rows with unit element stride: the direct path's products
  // read them in place and widen in registers (V also needs its rows to be whole vectors).
  const bool half_k = direct && is_half_rows(in_.k);
  const bool half_v = direct && is_half_rows(in_.v) && p_.dim_v == t_.dvp;
  // Both read in place (f32, f16 or bf16 rows): the products prefetch the rows they will read
  // next themselves (FallbackKernels::dot_rows), which 1.4-1.5x'd f32 decode. Otherwise
  // the next block is prefetched whole before each block.
  const bool streamed = direct && (half_k || is_f32_rows(in_.k)) &&
                        (half_v || (is_f32_rows(in_.v) && p_.dim_v == t_.dvp));
  const bool shared = !direct && packs_ != nullptr;
  const i64 head = w.b * p_.heads_kv + w.hk;

  // The keys any row of this task can see: rows' intervals only move right as i grows.
  const Interval first = visible_keys(p_, kvl, w.i0);
  const Interval last = visible_keys(p_, kvl, w.i0 + w.nq - 1);
  const i64 jmin = first.lo, jmax = last.hi;
  const i64 nblocks = jmax >= jmin ? ceil_div(jmax - jmin + 1, kBlockKv) : 0;
  const i64 blk_begin = nblocks * split / t_.splits, blk_end = nblocks * (split + 1) / t_.splits;
  const i64 piece_end = std::min(jmax + 1, jmin + blk_end * kBlockKv);  // past its last key

  std::fill_n(s.m.data(), rows, kNegInf);
  std::fill_n(s.l.data(), rows, 0.0f);
  std::fill_n(s.o.data(), rows * t_.dvp, 0.0f);
  if (blk_begin < blk_end) {
    // Q pre-multiplied by scale, so the block product yields scale·q·k directly.
    for (i64 g = 0; g < w.heads; ++g)
      for (i64 ii = 0; ii < w.nq; ++ii)
        load_floats(in_.q.data, in_.q.dtype,
                    static_cast<i64>(offset_of(in_.q, w.b, w.h0 + g, w.i0 + ii, 0)),
                    in_.q.strides[3], dk, p_.scale, s.q.data() + (g * w.nq + ii) * dk);
  }
  for (i64 blk = blk_begin; blk < blk_end; ++blk) {
    const i64 j0 = jmin + blk * kBlockKv;
    const i64 nk = std::min(kBlockKv, jmax + 1 - j0);
    const i64 n8 = round_up(nk, 8);
    // Every row sees the whole block: the last row starts at or before it, the first row
    // ends at or after it. Then no per-row bounds are applied.
    const bool all_visible = j0 >= last.lo && j0 + nk - 1 <= first.hi;
    // Only the direct path (few rows, short time per block) gains from it: with many rows
    // per block the hardware prefetchers keep up, and the explicit prefetches measured 2-4%
    // slower there.
    if (direct && !streamed && blk + 1 < blk_end)
      prefetch_block(w, j0 + kBlockKv, std::min(kBlockKv, jmax + 1 - j0 - kBlockKv));
    // Rows the direct products may prefetch from the block's first key on.
    const int readable = static_cast<int>(streamed ? piece_end - j0 : nk);
    if (shared) {
      k_.gemm(static_cast<int>(rows), static_cast<int>(n8), static_cast<int>(dk), s.q.data(), dk,
              packed_block(head, blk), 16, 16 * dk, s.s.data(), kBlockKv, false);
    } else if (half_k) {
      k_.dot_rows_half(static_cast<int>(rows), static_cast<int>(nk), static_cast<int>(dk),
                       s.q.data(), dk, half_rows(in_.k, w, j0), in_.k.dtype == DType::bf16,
                       in_.k.strides[2], s.s.data(), kBlockKv, readable);
    } else {
      const float* krows = nullptr;
      const i64 ldk = rows_f32(in_.k, w, j0, nk, dk, s.kconv.data(), &krows);
      if (direct) {
        k_.dot_rows(static_cast<int>(rows), static_cast<int>(nk), static_cast<int>(dk),
                    s.q.data(), dk, krows, ldk, s.s.data(), kBlockKv, readable);
      } else {
        k_.pack_transposed(krows, ldk, static_cast<int>(nk), static_cast<int>(dk), s.kt.data());
        k_.gemm(static_cast<int>(rows), static_cast<int>(n8), static_cast<int>(dk), s.q.data(),
                dk, s.kt.data(), 16, 16 * dk, s.s.data(), kBlockKv, false);
      }
    }
    score_epilogue(w, kvl, j0, nk, all_visible, s.s.data());
    k_.online_softmax(s.s.data(), kBlockKv, static_cast<int>(rows), static_cast<int>(n8),
                      s.m.data(), s.l.data(), s.o.data(), t_.dvp, static_cast<int>(t_.dvp));
    // P·V. Few rows: V read in place (f16 too), walking its rows in order (pv_rows: 8-11%
    // less wall time than the gemm's column strips for f32 decode, 5% for f16, paired).
    // Else V packed into panels as the gemm's b operand.
    if (half_v) {
      k_.pv_rows_half(static_cast<int>(rows), static_cast<int>(nk), static_cast<int>(t_.dvp),
                      s.s.data(), kBlockKv, half_rows(in_.v, w, j0), in_.v.dtype == DType::bf16,
                      in_.v.strides[2], s.o.data(), t_.dvp, readable);
      continue;
    }
    if (shared) {  // the block's V panels hold packed_keys rows
      k_.gemm(static_cast<int>(rows), static_cast<int>(t_.dvp), static_cast<int>(nk), s.s.data(),
              kBlockKv, packed_block(head, blk) + t_.kt_floats, 16, 16 * packed_keys(w.b, j0),
              s.o.data(), t_.dvp, true);
      continue;
    }
    const float* vrows = nullptr;
    const i64 ldv = rows_f32(in_.v, w, j0, nk, p_.dim_v, s.vconv.data(), &vrows);
    if (direct && p_.dim_v == t_.dvp) {
      k_.pv_rows(static_cast<int>(rows), static_cast<int>(nk), static_cast<int>(t_.dvp),
                 s.s.data(), kBlockKv, vrows, ldv, s.o.data(), t_.dvp, readable);
      continue;
    }
    k_.pack_panels(vrows, ldv, static_cast<int>(nk), static_cast<int>(p_.dim_v), s.v.data());
    k_.gemm(static_cast<int>(rows), static_cast<int>(t_.dvp), static_cast<int>(nk), s.s.data(),
            kBlockKv, s.v.data(), 16, 16 * nk, s.o.data(), t_.dvp, true);
  }

  if (t_.splits == 1) {
    write_rows(w, s.m.data(), s.l.data(), s.o.data());
    return;
  }
  float* part = partials + (task * t_.splits + split) * partial_floats();
  std::copy_n(s.m.data(), rows, part);
  std::copy_n(s.l.data(), rows, part + t_.rows);
  std::copy_n(s.o.data(), rows * t_.dvp, part + 2 * t_.rows);
}

void Runner::merge(i64 task, const float* partials) const {
  const Where w = locate(task);
  const i64 rows = w.heads * w.nq, dvp = t_.dvp;
  std::vector<float> m(idx(rows), kNegInf), l(idx(rows), 0.0f), o(idx(rows * dvp), 0.0f);
  for (i64 sp = 0; sp < t_.splits; ++sp) {
    const float* part = partials + (task * t_.splits + sp) * partial_floats();
    for (i64 r = 0; r < rows; ++r) m[idx(r)] = std::max(m[idx(r)], part[r]);
  }
  for (i64 sp = 0; sp < t_.splits; ++sp) {
    const float* part = partials + (task * t_.splits + sp) * partial_floats();
    for (i64 r = 0; r < rows; ++r) {
      if (part[r] == kNegInf) continue;  // this piece saw nothing for the row
      const float wgt = std::exp(part[r] - m[idx(r)]);
      l[idx(r)] += part[t_.rows + r] * wgt;
      const float* po = part + 2 * t_.rows + r * dvp;
      float* oo = o.data() + r * dvp;
      for (i64 c = 0; c < dvp; ++c) oo[c] += po[c] * wgt;
    }
  }
  write_rows(w, m.data(), l.data(), o.data());
}

// Normalises and stores a task's rows: out = o / l rounded to the output dtype, lse = m +
// log(l); a row that saw no key gets 0 and -inf.
void Runner::write_rows(const Where& w, const float* m, const float* l, const float* o) const {
  const MutableTensorView& ov = out_.out;
  const i64 dv = p_.dim_v;
  const bool direct = ov.dtype == DType::f32 && ov.strides[3] == 1;
  for (i64 g = 0; g < w.heads; ++g)
    for (i64 ii = 0; ii < w.nq; ++ii) {
      const i64 r = g * w.nq + ii, h = w.h0 + g, i = w.i0 + ii;
      const bool empty = m[r] == kNegInf;
      const float* orow = o + r * t_.dvp;
      const std::size_t at = offset_of(ov, w.b, h, i, 0);
      const float inv = empty ? 0.0f : 1.0f / l[r];
      if (direct) {
        float* dst = static_cast<float*>(ov.data) + at;
        for (i64 c = 0; c < dv; ++c) dst[c] = orow[c] * inv;
      } else {
        for (i64 c = 0; c < dv; ++c)
          store_from_float(ov.data, ov.dtype, at + idx(c * ov.strides[3]), orow[c] * inv);
      }
      if (!out_.lse.empty())
        out_.lse[idx((w.b * p_.heads_q + h) * p_.len_q + i)] =
            empty ? kNegInf : m[r] + std::log(l[r]);
    }
}

// Shared packs: per wave of KV heads, one pass packs their blocks, then their tasks run
// (tasks of one head are consecutive, see Runner::locate). Splits are 1 here.
void run_in_waves(const Tiling& t, Runner& runner, ThreadPool& pool, std::vector<Scratch>& scratch,
                  std::vector<float>& packs) {
  const i64 heads = t.tasks / t.tasks_per_head();
  packs.resize(idx(std::min(heads, t.heads_per_wave) * t.blocks_per_head * t.block_floats));
  for (i64 h0 = 0; h0 < heads; h0 += t.heads_per_wave) {
    const i64 wave = std::min(t.heads_per_wave, heads - h0);
    runner.use_packs(packs.data(), h0);
    pool.parallel_for(idx(wave * t.blocks_per_head), [&](std::size_t item, unsigned worker) {
      const auto it = static_cast<i64>(item);
      runner.pack_block(h0 + it / t.blocks_per_head, it % t.blocks_per_head, scratch[worker]);
    });
    const i64 first = h0 * t.tasks_per_head();
    pool.parallel_for(idx(wave * t.tasks_per_head()), [&](std::size_t item, unsigned worker) {
      runner.run_piece(first + static_cast<i64>(item), 0, scratch[worker], nullptr);
    });
  }
}

}  // namespace

bool cpu_runs_avx2_kernels() noexcept {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // F16C read from CPUID leaf 1 (ECX bit 29): Clang before 15 has no "f16c" for
  // __builtin_cpu_supports. The avx2 test also checks that the OS saves YMM state.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_F16C) != 0;
  return f16c && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

struct CpuFallback::State {
  State(unsigned threads, CpuIsa isa, std::size_t pack_cap)
      : pool(threads),
        kernels(pick_kernels(isa)),
        scratch(pool.size()),
        shared_pack_bytes(pack_cap) {}
  ThreadPool pool;
  const FallbackKernels& kernels;
  std::vector<Scratch> scratch;
  std::vector<float> partials;
  std::vector<float> packs;  // shared K/V packs of one wave of heads (Tiling::heads_per_wave)
  std::size_t shared_pack_bytes;
  std::mutex mutex;  // run() is documented as not re-entrant; this makes misuse safe
};

CpuFallback::CpuFallback(unsigned threads, CpuIsa isa, std::size_t shared_pack_bytes)
    : state_(std::make_unique<State>(threads, isa, shared_pack_bytes)) {}
CpuFallback::~CpuFallback() = default;

const char* CpuFallback::isa_name() const noexcept { return state_->kernels.name; }
unsigned CpuFallback::threads() const noexcept { return state_->pool.size(); }

void CpuFallback::run(const Problem& p, const AttentionInputs& in, const AttentionOutputs& out) {
  std::lock_guard lock(state_->mutex);
  const Tiling t = make_tiling(p, state_->pool.size(), state_->shared_pack_bytes);
  Runner runner(p, in, out, t, state_->kernels);
  for (Scratch& s : state_->scratch) runner.prepare(s);
  if (t.splits > 1) state_->partials.resize(idx(t.tasks * t.splits * runner.partial_floats()));
  float* partials = state_->partials.data();
  const i64 splits = t.splits;
  if (t.heads_per_wave > 0) {
    run_in_waves(t, runner, state_->pool, state_->scratch, state_->packs);
    return;
  }
  state_->pool.parallel_for(idx(t.tasks * splits), [&](std::size_t item, unsigned worker) {
    const auto it = static_cast<i64>(item);
    runner.run_piece(it / splits, it % splits, state_->scratch[worker], partials);
  });
  if (splits > 1)
    state_->pool.parallel_for(idx(t.tasks), [&](std::size_t task, unsigned) {
      runner.merge(static_cast<i64>(task), partials);
    });
}

void fallback_attention(const Problem& p, const AttentionInputs& in, const AttentionOutputs& out,
                        unsigned threads) {
  CpuFallback(threads).run(p, in, out);
}

}  // namespace vkattn::detail
