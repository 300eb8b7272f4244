// SPDX-License-Identifier: MIT
#include "core/dtype.hpp"

#include <algorithm>
#include <array>
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
namespace {

// Both conversions are written without branches (masks instead), so that the row loops below
// vectorise: converting f16 tensors element by element through branches cost 45-80 ms per
// 2048² D=128 call on the host, against a 3 ms kernel on an H200 (docs/performance.md).

inline float half_bits_to_float(std::uint32_t h) noexcept {
  const std::uint32_t sign = (h & 0x8000u) << 16;
  const std::uint32_t magnitude = h & 0x7FFFu;
  const std::uint32_t special = 0u - static_cast<std::uint32_t>(magnitude >= 0x7C00u);
  const std::uint32_t subnormal = 0u - static_cast<std::uint32_t>(magnitude < 0x0400u);
  // Normal: rebias the exponent (15 -> 127); inf and NaN (exponent 31) go to exponent 255.
  const std::uint32_t normal = (magnitude << 13) + (112u << 23) + (special & (112u << 23));
  // Zero or subnormal, mantissa · 2^-24: as the float 2^-14·(1 + m/1024) minus 2^-14, exact.
  const float tiny = std::bit_cast<float>((magnitude << 13) + (113u << 23)) -
                     std::bit_cast<float>(113u << 23);
  return std::bit_cast<float>(sign | (subnormal & std::bit_cast<std::uint32_t>(tiny)) |
                              (~subnormal & normal));
}

inline std::uint16_t float_to_half_bits(float value) noexcept {
  const std::uint32_t f = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = (f >> 16) & 0x8000u;
  const std::uint32_t abs = f & 0x7FFFFFFFu;
  const std::uint32_t nan = 0u - static_cast<std::uint32_t>(abs > 0x7F800000u);
  const std::uint32_t overflow = 0u - static_cast<std::uint32_t>(abs >= 0x477FF000u);  // to inf
  const std::uint32_t subnormal = 0u - static_cast<std::uint32_t>(abs < 0x38800000u);
  // Normal: drop 13 mantissa bits with round-to-nearest-even (wraps below the normals, where
  // it is masked out).
  const std::uint32_t normal = (abs - (112u << 23) + 0xFFFu + ((abs >> 13) & 1u)) >> 13;
  // Below the smallest normal half: adding 0.5 makes the FPU round |value| to a multiple of
  // 2^-24 (nearest even), which lands in the low mantissa bits; 1023.5·2^-24 carries to 0x400.
  const std::uint32_t tiny =
      std::bit_cast<std::uint32_t>(std::bit_cast<float>(abs) + 0.5f) - 0x3F000000u;
  std::uint32_t h = (subnormal & tiny) | (~subnormal & normal);
  h = (overflow & 0x7C00u) | (~overflow & h);
  h = (nan & 0x7E00u) | (~nan & h);
  return static_cast<std::uint16_t>(sign | h);
}

}  // namespace

float half_to_float(std::uint16_t bits) noexcept { return half_bits_to_float(bits); }

std::uint16_t float_to_half(float value) noexcept { return float_to_half_bits(value); }

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

void load_row(const void* base, DType type, std::size_t offset, std::int64_t stride,
              std::int64_t n, float* dst) noexcept {
  const auto at = [&](std::int64_t e) { return static_cast<std::size_t>(e * stride); };
  switch (type) {
    case DType::f32: {
      const float* src = static_cast<const float*>(base) + offset;
      if (stride == 1) {
        std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
      } else {
        for (std::int64_t e = 0; e < n; ++e) dst[e] = src[at(e)];
      }
      return;
    }
    case DType::f16: {
      const std::uint16_t* src = static_cast<const std::uint16_t*>(base) + offset;
      if (stride == 1) {  // the loop the compiler vectorises
        for (std::int64_t e = 0; e < n; ++e) dst[e] = half_bits_to_float(src[e]);
      } else {
        for (std::int64_t e = 0; e < n; ++e) dst[e] = half_bits_to_float(src[at(e)]);
      }
      return;
    }
    case DType::bf16: {
      const std::uint16_t* src = static_cast<const std::uint16_t*>(base) + offset;
      for (std::int64_t e = 0; e < n; ++e) dst[e] = bf16_to_float(src[at(e)]);
      return;
    }
    case DType::boolean:
      for (std::int64_t e = 0; e < n; ++e) dst[e] = load_as_float(base, type, offset + at(e));
      return;
  }
}

void store_row(void* base, DType type, std::size_t offset, std::int64_t stride, std::int64_t n,
               const float* src) noexcept {
  const auto at = [&](std::int64_t e) { return static_cast<std::size_t>(e * stride); };
  switch (type) {
    case DType::f32: {
      float* dst = static_cast<float*>(base) + offset;
      if (stride == 1) {
        std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
      } else {
        for (std::int64_t e = 0; e < n; ++e) dst[at(e)] = src[e];
      }
      return;
    }
    case DType::f16: {
      std::uint16_t* dst = static_cast<std::uint16_t*>(base) + offset;
      if (stride == 1) {
        for (std::int64_t e = 0; e < n; ++e) dst[e] = float_to_half_bits(src[e]);
      } else {
        for (std::int64_t e = 0; e < n; ++e) dst[at(e)] = float_to_half_bits(src[e]);
      }
      return;
    }
    case DType::bf16: {
      std::uint16_t* dst = static_cast<std::uint16_t*>(base) + offset;
      for (std::int64_t e = 0; e < n; ++e) dst[at(e)] = float_to_bf16(src[e]);
      return;
    }
    case DType::boolean:
      for (std::int64_t e = 0; e < n; ++e) store_from_float(base, type, offset + at(e), src[e]);
      return;
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
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t l = 0; l < L; ++l) {
        float* row_out = dst + ((b * H + h) * slice_rows + first_row + l) * pitch;
        const std::size_t row = offset_of(view, b, h, l, 0);
        load_row(view.data, view.dtype, row, view.strides[3], D, row_out);
        std::fill(row_out + D, row_out + pitch, 0.0f);
      }
}

void write_rows(const TensorView& view, DType type, void* dst, std::int64_t pitch,
                std::int64_t slice_rows, std::int64_t first_row) noexcept {
  if (type == DType::f32) {
    write_rows(view, static_cast<float*>(dst), pitch, slice_rows, first_row);
    return;
  }
  const auto [B, H, L, D] = view.shape;
  std::array<float, 256> row_f32{};  // pitch <= 256, the largest head dim
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t l = 0; l < L; ++l) {
        load_row(view.data, view.dtype, offset_of(view, b, h, l, 0), view.strides[3], D,
                 row_f32.data());
        const auto at = static_cast<std::size_t>(((b * H + h) * slice_rows + first_row + l) * pitch);
        store_row(dst, type, at, 1, pitch, row_f32.data());  // [D, pitch) stays zero
      }
}

}  // namespace detail
}  // namespace vkattn
