// SPDX-License-Identifier: MIT
#include "core/dtype.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace vkattn {

std::size_t size_of(DType t) noexcept {
  switch (t) {
    case DType::f32: return 4;
    case DType::f16:
    case DType::bf16: return 2;
    case DType::boolean: return 1;
  }
  return 0;
}

const char* to_string(DType t) noexcept {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::boolean: return "bool";
  }
  return "?";
}

namespace detail {

float half_to_float(std::uint16_t bits) noexcept {
  const std::uint32_t sign = (bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1Fu;
  const std::uint32_t mantissa = bits & 0x3FFu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa · 2^-24, exact in float.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1F) {
    return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  }
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

std::uint16_t float_to_half(float value) noexcept {
  const std::uint32_t f = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((f >> 16) & 0x8000u);
  const std::uint32_t abs = f & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) return static_cast<std::uint16_t>(sign | 0x7E00u);   // NaN
  if (abs >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // rounds to inf
  if (abs < 0x38800000u) {
    // Below the smallest normal half: scale so the result's LSB is 2^-24 and let the
    // FPU round to nearest even.
    const float scaled = std::bit_cast<float>(abs) * 16777216.0f;  // · 2^24
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::nearbyint(scaled)));
  }
  // Normal: drop 13 mantissa bits with round-to-nearest-even.
  const std::uint32_t rebased = abs - (112u << 23);
  const std::uint32_t lsb = (rebased >> 13) & 1u;
  const std::uint32_t rounded = (rebased + 0xFFFu + lsb) >> 13;
  return static_cast<std::uint16_t>(sign | rounded);
}

float bf16_to_float(std::uint16_t bits) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

std::uint16_t float_to_bf16(float value) noexcept {
  const std::uint32_t f = std::bit_cast<std::uint32_t>(value);
  if ((f & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((f >> 16) | 0x40u);
  const std::uint32_t lsb = (f >> 16) & 1u;
  return static_cast<std::uint16_t>((f + 0x7FFFu + lsb) >> 16);
}

float load_as_float(const void* base, DType type, std::size_t index) noexcept {
  switch (type) {
    case DType::f32: return static_cast<const float*>(base)[index];
    case DType::f16: return half_to_float(static_cast<const std::uint16_t*>(base)[index]);
    case DType::bf16: return bf16_to_float(static_cast<const std::uint16_t*>(base)[index]);
    case DType::boolean: return static_cast<const std::uint8_t*>(base)[index] != 0 ? 1.0f : 0.0f;
  }
  return 0.0f;
}

void store_from_float(void* base, DType type, std::size_t index, float value) noexcept {
  switch (type) {
    case DType::f32: static_cast<float*>(base)[index] = value; return;
    case DType::f16: static_cast<std::uint16_t*>(base)[index] = float_to_half(value); return;
    case DType::bf16: static_cast<std::uint16_t*>(base)[index] = float_to_bf16(value); return;
    case DType::boolean: static_cast<std::uint8_t*>(base)[index] = value != 0.0f ? 1 : 0; return;
  }
}

float round_to(DType type, float value) noexcept {
  switch (type) {
    case DType::f16: return half_to_float(float_to_half(value));
    case DType::bf16: return bf16_to_float(float_to_bf16(value));
    default: return value;
  }
}

void write_rows(const TensorView& view, float* dst, std::int64_t pitch, std::int64_t slice_rows,
                std::int64_t first_row) noexcept {
  const auto [B, H, L, D] = view.shape;
  // Unit-stride f32 rows (BHLD or BLHD f32, the common case) are copied whole.
  const bool rows_f32 = view.dtype == DType::f32 && (view.strides[3] == 1 || D == 1);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t l = 0; l < L; ++l) {
        float* row_out = dst + ((b * H + h) * slice_rows + first_row + l) * pitch;
        const std::size_t row = offset_of(view, b, h, l, 0);
        if (rows_f32) {
          std::memcpy(row_out, static_cast<const float*>(view.data) + row,
                      static_cast<std::size_t>(D) * sizeof(float));
        } else {
          for (std::int64_t d = 0; d < D; ++d)
            row_out[d] = load_as_float(view.data, view.dtype,
                                       row + static_cast<std::size_t>(d * view.strides[3]));
        }
        std::fill(row_out + D, row_out + pitch, 0.0f);
      }
}

}  // namespace detail
}  // namespace vkattn
