// SPDX-License-Identifier: MIT
#pragma once

// The fast CPU path: blocked online softmax (FlashAttention-2 style) on a persistent thread
// pool, f32 arithmetic, any storage type and strides. Computes exactly the semantics of
// reference_attention (tests/test_fallback.cpp holds them equal) except the probabilities,
// which only the reference produces.

#include <cstddef>
#include <memory>

#include "core/problem.hpp"
#include "vkattn/types.hpp"

namespace vkattn::detail {

// Which kernel build runs the hot loops. automatic = AVX2+FMA when the CPU has both, else
// generic; tests pin generic to keep the portable build covered.
enum class CpuIsa : unsigned char { automatic, generic };

// The most a CpuFallback keeps for the K/V blocks it packs once per call and shares between
// the tasks that read them (prefill). Kept between calls; problems whose packs exceed it run
// in waves of KV heads, or pack per task when one head's packs exceed it.
inline constexpr std::size_t kSharedPackBytes = std::size_t{32} << 20;

class CpuFallback {
 public:
  // `threads` = total threads per call including the caller (0 = 1). The workers are started
  // here and live as long as this object.
  explicit CpuFallback(unsigned threads, CpuIsa isa = CpuIsa::automatic,
                       std::size_t shared_pack_bytes = kSharedPackBytes);
  CpuFallback(const CpuFallback&) = delete;
  CpuFallback& operator=(const CpuFallback&) = delete;
  ~CpuFallback();

  // Computes out (and lse when out.lse is non-empty) for a problem from validate_call on the
  // same inputs. Never writes out.probs. Not re-entrant: callers serialise run() (Context
  // does). Throws std::bad_alloc when scratch cannot be allocated.
  void run(const Problem& p, const AttentionInputs& in, const AttentionOutputs& out);

  // "avx2-fma" or "generic": the kernel build in use.
  [[nodiscard]] const char* isa_name() const noexcept;
  [[nodiscard]] unsigned threads() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// One-shot convenience (starts and stops a pool per call): CpuFallback(threads).run(p, in, out).
void fallback_attention(const Problem& p, const AttentionInputs& in, const AttentionOutputs& out,
                        unsigned threads);

}  // namespace vkattn::detail
