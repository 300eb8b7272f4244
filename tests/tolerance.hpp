// SPDX-License-Identifier: MIT
#pragma once

// The one place tolerances live. An element passes when
//   |got - ref| <= atol * out_scale + rtol * |ref|
// where out_scale is the magnitude of the output (max |V|, so a test with V ~ 30 is not held
// to an absolute bound meant for V ~ 1) times logit_factor(max |logit|): an f32 logit L
// carries a rounding error of ~L·2^-24, which exp() turns into a relative error of the same
// size, so large logits loosen the bound in proportion — never by a widened constant.

#include <algorithm>
#include <cmath>

#include "vkattn/types.hpp"

namespace vkattn::test {

struct Tolerance {
  double atol;
  double rtol;
};

// What the kernels achieve, per storage type (inputs rounded to the type before the
// reference runs, so this measures kernel error only).
inline Tolerance tolerance_for(DType t) {
  switch (t) {
    case DType::f32: return {2e-6, 2e-5};
    case DType::f16: return {1e-3, 2e-3};   // output rounded to f16 (2^-11 relative)
    case DType::bf16: return {8e-3, 1e-2};  // output rounded to bf16 (2^-8 relative)
    default: return {0.0, 0.0};
  }
}

// Growth of the absolute bound with the largest |logit| (see the header comment).
inline double logit_factor(double max_abs_logit) {
  return std::max(1.0, max_abs_logit * 4.0 * 0x1p-24 / 2e-6);
}

}  // namespace vkattn::test
