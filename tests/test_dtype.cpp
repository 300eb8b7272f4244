// SPDX-License-Identifier: MIT
// Storage-type conversions (src/core/dtype.cpp): exhaustive round trips, round-to-nearest-even
// ties, overflow and subnormals for f16 and bf16, strided load/store, and names.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "vkattn/types.hpp"

namespace vkattn {
namespace {

using detail::bf16_to_float;
using detail::float_to_bf16;
using detail::float_to_half;
using detail::half_to_float;

bool half_is_nan(std::uint16_t h) { return (h & 0x7C00u) == 0x7C00u && (h & 0x3FFu) != 0; }
bool bf16_is_nan(std::uint16_t h) { return (h & 0x7F80u) == 0x7F80u && (h & 0x7Fu) != 0; }

// Value of a half computed independently of dtype.cpp, from the IEEE definition.
double half_value(std::uint16_t h) {
  const int sign = (h & 0x8000u) ? -1 : 1;
  const int exponent = (h >> 10) & 0x1F;
  const int mantissa = h & 0x3FF;
  if (exponent == 0x1F)
    return mantissa ? std::nan("") : sign * std::numeric_limits<double>::infinity();
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

TEST(DTypeF16, EveryBitPatternRoundTrips) {
  for (std::uint32_t bits = 0; bits <= 0xFFFFu; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    const float f = half_to_float(h);
    if (half_is_nan(h)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << bits;
      const std::uint16_t back = float_to_half(f);
      ASSERT_TRUE(half_is_nan(back)) << std::hex << bits << " -> " << back;
      ASSERT_EQ(back & 0x8000u, h & 0x8000u) << "NaN sign " << std::hex << bits;
      continue;
    }
    ASSERT_EQ(static_cast<double>(f), half_value(h)) << std::hex << bits;
    ASSERT_EQ(float_to_half(f), h) << std::hex << bits;
  }
}

TEST(DTypeF16, TiesRoundToEven) {
  // 1 + 2^-11 lies halfway between 1 (even mantissa 0) and 1 + 2^-10 (odd).
  EXPECT_EQ(float_to_half(1.0f + 0x1p-11f), 0x3C00u);
  // 1 + 3·2^-11 lies halfway between mantissas 1 (odd) and 2 (even).
  EXPECT_EQ(float_to_half(1.0f + 3 * 0x1p-11f), 0x3C02u);
  // Just above a tie rounds up; just below rounds down.
  EXPECT_EQ(float_to_half(1.0f + 0x1p-11f + 0x1p-20f), 0x3C01u);
  EXPECT_EQ(float_to_half(1.0f + 3 * 0x1p-11f - 0x1p-20f), 0x3C01u);
  // At 2048 halves are spaced by 2: 2049 ties to 2048, 2051 ties to 2052.
  EXPECT_EQ(float_to_half(2049.0f), 0x6800u);
  EXPECT_EQ(float_to_half(2051.0f), 0x6802u);
  EXPECT_EQ(float_to_half(-2051.0f), 0xE802u);
  // A tie that carries into the exponent: 2 - 2^-11 is halfway between 0x3BFF and 2.0.
  EXPECT_EQ(float_to_half(2.0f - 0x1p-11f), 0x4000u);
}

TEST(DTypeF16, OverflowGivesInfinity) {
  EXPECT_EQ(float_to_half(65504.0f), 0x7BFFu);  // largest finite half
  EXPECT_EQ(float_to_half(65519.0f), 0x7BFFu);  // below the tie: stays finite
  EXPECT_EQ(float_to_half(65520.0f), 0x7C00u);  // tie with an odd max: rounds to inf
  EXPECT_EQ(float_to_half(1e6f), 0x7C00u);
  EXPECT_EQ(float_to_half(-1e6f), 0xFC00u);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7C00u);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xFC00u);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::max()), 0x7C00u);
}

TEST(DTypeF16, Subnormals) {
  EXPECT_EQ(float_to_half(0x1p-24f), 0x0001u);  // smallest subnormal
  EXPECT_EQ(float_to_half(-0x1p-24f), 0x8001u);
  EXPECT_EQ(float_to_half(0x1p-25f), 0x0000u);  // tie with 0: even
  EXPECT_EQ(float_to_half(0x1p-25f * 1.0001f), 0x0001u);
  EXPECT_EQ(float_to_half(3 * 0x1p-25f), 0x0002u);  // tie between 1 and 2: even
  EXPECT_EQ(float_to_half(0x1p-26f), 0x0000u);
  EXPECT_EQ(float_to_half(1023 * 0x1p-24f), 0x03FFu);     // largest subnormal
  EXPECT_EQ(float_to_half(1023.5f * 0x1p-24f), 0x0400u);  // tie rounds up into the normals
  EXPECT_EQ(float_to_half(0x1p-14f), 0x0400u);            // smallest normal
  EXPECT_EQ(float_to_half(-0.0f), 0x8000u);
  EXPECT_EQ(float_to_half(1e-30f), 0x0000u);
  EXPECT_EQ(half_to_float(0x0001u), 0x1p-24f);
  EXPECT_EQ(half_to_float(0x83FFu), -1023 * 0x1p-24f);
}

// For a sample of every float, the half chosen is the nearest one, ties to even: checked
// against its two neighbours, not against another implementation of rounding.
TEST(DTypeF16, NearestOnSampledFloats) {
  for (std::uint64_t bits = 0; bits < 0x100000000ull; bits += 4093) {
    const float x = std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    if (!std::isfinite(x) || std::abs(x) >= 65520.0f) continue;
    const std::uint16_t h = float_to_half(x);
    const double err = std::abs(half_value(h) - x);
    const std::uint16_t magnitude = h & 0x7FFFu;
    const std::uint16_t sign = h & 0x8000u;
    if (magnitude < 0x7BFFu) {
      const double up =
          std::abs(half_value(static_cast<std::uint16_t>(sign | (magnitude + 1))) - x);
      ASSERT_LE(err, up) << x;
      if (err == up) {
        ASSERT_EQ(h & 1u, 0u) << "tie not to even at " << x;
      }
    }
    if (magnitude > 0) {
      const double down =
          std::abs(half_value(static_cast<std::uint16_t>(sign | (magnitude - 1))) - x);
      ASSERT_LE(err, down) << x;
      if (err == down) {
        ASSERT_EQ(h & 1u, 0u) << "tie not to even at " << x;
      }
    }
  }
}

TEST(DTypeF16, NaNStaysNaN) {
  EXPECT_TRUE(half_is_nan(float_to_half(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(half_is_nan(float_to_half(-std::numeric_limits<float>::quiet_NaN())));
  // A NaN whose payload lives only in the low mantissa bits must not collapse to inf.
  EXPECT_TRUE(half_is_nan(float_to_half(std::bit_cast<float>(0x7F800001u))));
}

TEST(DTypeBf16, EveryBitPatternRoundTrips) {
  for (std::uint32_t bits = 0; bits <= 0xFFFFu; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    const float f = bf16_to_float(h);
    ASSERT_EQ(std::bit_cast<std::uint32_t>(f), bits << 16) << std::hex << bits;
    const std::uint16_t back = float_to_bf16(f);
    if (bf16_is_nan(h)) {
      ASSERT_TRUE(bf16_is_nan(back)) << std::hex << bits << " -> " << back;
      continue;
    }
    ASSERT_EQ(back, h) << std::hex << bits;
  }
}

TEST(DTypeBf16, TiesRoundToEven) {
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f), 0x3F80u);      // tie, 1.0 is even
  EXPECT_EQ(float_to_bf16(1.0f + 3 * 0x1p-8f), 0x3F82u);  // tie, up to even
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3F81u);
  EXPECT_EQ(float_to_bf16(-(1.0f + 3 * 0x1p-8f)), 0xBF82u);
  EXPECT_EQ(float_to_bf16(2.0f - 0x1p-8f), 0x4000u);  // tie carrying into the exponent
}

TEST(DTypeBf16, OverflowAndSubnormals) {
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x7F7F7FFFu)), 0x7F7Fu);  // below the tie
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x7F7F8000u)), 0x7F80u);  // tie, odd max: inf
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::max()), 0x7F80u);
  EXPECT_EQ(float_to_bf16(-std::numeric_limits<float>::max()), 0xFF80u);
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80u);
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x00010000u)), 0x0001u);  // a subnormal
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x00008000u)), 0x0000u);  // tie with 0
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x00018000u)), 0x0002u);  // tie to even
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x00008001u)), 0x0001u);
  EXPECT_EQ(float_to_bf16(-0.0f), 0x8000u);
}

TEST(DTypeBf16, NaNStaysNaN) {
  EXPECT_TRUE(bf16_is_nan(float_to_bf16(std::numeric_limits<float>::quiet_NaN())));
  // Payload only in the dropped bits: truncation alone would produce inf.
  EXPECT_TRUE(bf16_is_nan(float_to_bf16(std::bit_cast<float>(0x7F800001u))));
  EXPECT_TRUE(bf16_is_nan(float_to_bf16(std::bit_cast<float>(0xFF800001u))));
}

TEST(DType, NamesAndSizes) {
  EXPECT_EQ(std::string(to_string(DType::f32)), "f32");
  EXPECT_EQ(std::string(to_string(DType::f16)), "f16");
  EXPECT_EQ(std::string(to_string(DType::bf16)), "bf16");
  EXPECT_EQ(std::string(to_string(DType::boolean)), "bool");
  EXPECT_EQ(size_of(DType::f32), 4u);
  EXPECT_EQ(size_of(DType::f16), 2u);
  EXPECT_EQ(size_of(DType::bf16), 2u);
  EXPECT_EQ(size_of(DType::boolean), 1u);
}

TEST(DType, LoadStoreAndRoundTo) {
  std::vector<std::uint16_t> halves(4, 0);
  detail::store_from_float(halves.data(), DType::f16, 2, 1.0f + 0x1p-11f);
  EXPECT_EQ(halves[2], 0x3C00u);
  EXPECT_EQ(halves[1], 0u);  // neighbours untouched
  EXPECT_EQ(detail::load_as_float(halves.data(), DType::f16, 2), 1.0f);
  EXPECT_EQ(detail::round_to(DType::f16, 0.1f), half_to_float(float_to_half(0.1f)));
  EXPECT_NE(detail::round_to(DType::f16, 0.1f), 0.1f);
  EXPECT_EQ(detail::round_to(DType::bf16, 1.0f + 0x1p-8f + 0x1p-20f), 1.0f + 0x1p-7f);
  EXPECT_EQ(detail::round_to(DType::f32, 0.1f), 0.1f);

  std::vector<std::uint8_t> flags{0, 1, 7, 0};
  EXPECT_EQ(detail::load_as_float(flags.data(), DType::boolean, 0), 0.0f);
  EXPECT_EQ(detail::load_as_float(flags.data(), DType::boolean, 2), 1.0f);

  // offset_of follows the strides of a BLHD view.
  const auto view = TensorView::blhd(nullptr, DType::f32, 2, 3, 5, 7);
  EXPECT_EQ(detail::offset_of(view, 1, 2, 4, 6), std::size_t{1 * 105 + 2 * 7 + 4 * 21 + 6});
}

// The row conversions (vectorised for unit strides) agree bit for bit with the scalar ones,
// which the tests above check against the IEEE definitions: every f16 and bf16 pattern, a
// float sample that crosses every rounding case, at stride 1 and 3 from an offset.
TEST(DType, RowConversionsMatchTheScalarOnes) {
  const auto same = [](float a, float b) {
    return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b) ||
           (std::isnan(a) && std::isnan(b));
  };
  for (const DType type : {DType::f16, DType::bf16}) {
    const auto scalar = [&](std::uint16_t h) {
      return type == DType::f16 ? half_to_float(h) : bf16_to_float(h);
    };
    for (const std::int64_t stride : {std::int64_t{1}, std::int64_t{3}}) {
      std::vector<std::uint16_t> src(static_cast<std::size_t>(1 + stride * 0x10000), 0);
      for (std::uint32_t bits = 0; bits <= 0xFFFFu; ++bits)
        src[static_cast<std::size_t>(1 + stride * bits)] = static_cast<std::uint16_t>(bits);
      std::vector<float> row(0x10000);
      detail::load_row(src.data(), type, 1, stride, 0x10000, row.data());
      for (std::uint32_t bits = 0; bits <= 0xFFFFu; ++bits)
        ASSERT_TRUE(same(row[bits], scalar(static_cast<std::uint16_t>(bits))))
            << to_string(type) << " stride " << stride << " " << std::hex << bits;
    }
  }

  std::vector<float> floats;
  for (std::uint64_t bits = 0; bits < 0x100000000ull; bits += 4093)
    floats.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(bits)));
  floats.insert(floats.end(), {1.0f + 0x1p-11f, 2049.0f, 65520.0f, 0x1p-25f, 1023.5f * 0x1p-24f,
                               -0.0f, std::numeric_limits<float>::infinity()});
  const auto n = static_cast<std::int64_t>(floats.size());
  for (const DType type : {DType::f16, DType::bf16}) {
    for (const std::int64_t stride : {std::int64_t{1}, std::int64_t{3}}) {
      std::vector<std::uint16_t> dst(static_cast<std::size_t>(2 + stride * n), 0xABCDu);
      detail::store_row(dst.data(), type, 2, stride, n, floats.data());
      for (std::int64_t e = 0; e < n; ++e) {
        const float x = floats[static_cast<std::size_t>(e)];
        const std::uint16_t got = dst[static_cast<std::size_t>(2 + stride * e)];
        if (std::isnan(x)) {
          ASSERT_TRUE(type == DType::f16 ? half_is_nan(got) : bf16_is_nan(got)) << e;
          continue;
        }
        ASSERT_EQ(got, type == DType::f16 ? float_to_half(x) : float_to_bf16(x))
            << to_string(type) << " stride " << stride << " " << x;
      }
      EXPECT_EQ(dst[0], 0xABCDu);  // before the offset: untouched
      if (stride > 1) {
        EXPECT_EQ(dst[3], 0xABCDu);  // between strided elements: untouched
      }
    }
  }
}

}  // namespace
}  // namespace vkattn
