// SPDX-License-Identifier: MIT
// Shared by every attention shader: the push constants and the visibility rule.
// The rule must equal src/cpu/reference.cpp (key_visible); tests/test_semantics holds them equal.
#ifndef VKATTN_COMMON_GLSL
#define VKATTN_COMMON_GLSL

#include "interface.h"

layout(push_constant, std430) uniform PushConstants { AttentionParams p; };

const float NEG_INF = -1.0 / 0.0;

// 16-bit K/V (f16 or bf16 caches, f16 calls) are read two to a uint and widened exactly:
// IEEE halves with unpackHalf2x16, or with VKATTN_KV_BF16 = 1 bfloat16 values, which are the
// upper 16 bits of an f32. Core GLSL either way: no 16-bit storage feature needed.
#ifndef VKATTN_KV_BF16
#define VKATTN_KV_BF16 0
#endif
vec2 unpack_kv2(uint word) {
#if VKATTN_KV_BF16
  return vec2(uintBitsToFloat(word << 16u), uintBitsToFloat(word & 0xffff0000u));
#else
  return unpackHalf2x16(word);
#endif
}

// Keys visible to batch b: kv_lens[b] when given, else len_kv. Needs the caller's buffer,
// so it takes the already-loaded length.
//
// Key j is visible to query row i of a sequence with kv_len keys iff
//   j < kv_len
//   and, with causal:          j <= diag
//   and, with window_left >= 0:  j >= diag - window_left
//   and, with window_right >= 0: j <= diag + window_right
// where diag = i for top-left alignment and i + kv_len - len_q for bottom-right (also used
// by a window without causal, as FlashAttention's window_size does).
bool key_visible(uint i, uint j, uint kv_len) {
  if (j >= kv_len) return false;
  int diag = int(i);
  if (p.causal != VKATTN_CAUSAL_TOP_LEFT) diag += int(kv_len) - int(p.len_q);
  int jj = int(j);
  if (p.causal != VKATTN_CAUSAL_NONE && jj > diag) return false;
  if (p.window_left >= 0 && jj < diag - p.window_left) return false;
  if (p.window_right >= 0 && jj > diag + p.window_right) return false;
  return true;
}

// The keys query row i of a sequence of kv_len keys may see, as [x, y): key_visible() in
// closed form, for the fused kernels, which mask with the interval instead of per-key tests.
// A row that sees no key gets [kv_len, 0), which never widens a union of intervals.
ivec2 visible_keys(uint i, uint kv_len) {
  int diag = int(i);
  if (p.causal != VKATTN_CAUSAL_TOP_LEFT) diag += int(kv_len) - int(p.len_q);
  int lo = 0;
  int hi = int(kv_len);
  if (p.causal != VKATTN_CAUSAL_NONE) hi = min(hi, diag + 1);
  if (p.window_right >= 0) hi = min(hi, diag + p.window_right + 1);
  if (p.window_left >= 0) lo = max(lo, diag - p.window_left);
  return lo < hi ? ivec2(lo, hi) : ivec2(int(kv_len), 0);
}

// Slice `slice` of `slices` of the keys [lo, hi) when a dispatch cuts them (split-KV): whole
// steps of `step` keys each, so that every slice starts where a block of the kernel's key
// loop would.
ivec2 key_slice_of(int lo, int hi, int step, uint slice, uint slices) {
  if (slices <= 1u || hi <= lo) return ivec2(lo, hi);
  const int steps = (hi - lo + step - 1) / step;
  const int per_split = (steps + int(slices) - 1) / int(slices);
  const int begin = lo + int(slice) * per_split * step;
  return ivec2(begin, min(hi, begin + per_split * step));
}

// This workgroup's slice: gl_NumWorkGroups.z slices, this one gl_WorkGroupID.z.
ivec2 key_slice(int lo, int hi, int step) {
  return key_slice_of(lo, hi, step, gl_WorkGroupID.z, gl_NumWorkGroups.z);
}

// Logit softcap, applied to scale·q·k before any mask.
float apply_softcap(float s) {
  if ((p.flags & VKATTN_FLAG_SOFTCAP) != 0u) return p.softcap * tanh(s / p.softcap);
  return s;
}

// exp(x) for x <= 88 in ~15 ALU ops (Cody-Waite reduction by ln 2, degree-6 polynomial,
// 2^n from exponent bits; ~2 ulp, results below 2^-126 flush to 0 and exp(-inf) = 0).
// Drivers that compile exp() to a long, fully guarded sequence (llvmpipe) spend more on
// the softmax than on the dot products without it.
float fast_exp(float x) {
  const bool underflow = x < -87.3;
  x = max(x, -87.3);
  const float n = floor(x * 1.44269504088896341 + 0.5);
  float r = fma(n, -0.693359375, x);
  r = fma(n, 2.12194440e-4, r);
  float q = 1.9875691500e-4;
  q = fma(q, r, 1.3981999507e-3);
  q = fma(q, r, 8.3334519073e-3);
  q = fma(q, r, 4.1665795894e-2);
  q = fma(q, r, 1.6666665459e-1);
  q = fma(q, r, 5.0000001201e-1);
  q = fma(q, r * r, r + 1.0);
  const float y = q * intBitsToFloat((int(n) + 127) << 23);
  return underflow ? 0.0 : y;
}

// Element offset of mask[b, h, i, j] in the broadcast mask buffer.
uint mask_offset(uint b, uint h, uint i, uint j) {
  return b * p.mask_stride_b + h * p.mask_stride_h + i * p.mask_stride_q + j * p.mask_stride_k;
}

#endif  // VKATTN_COMMON_GLSL
