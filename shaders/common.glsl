// SPDX-License-Identifier: MIT
// Shared by every attention shader: the push constants and the visibility rule.
// The rule must equal src/cpu/reference.cpp (key_visible); tests/test_semantics holds them equal.
#ifndef VKATTN_COMMON_GLSL
#define VKATTN_COMMON_GLSL

#include "interface.h"

layout(push_constant, std430) uniform PushConstants { AttentionParams p; };

const float NEG_INF = -1.0 / 0.0;

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
