// SPDX-License-Identifier: MIT
#pragma once

// A strict reader and a numpy-identical writer for the .npy format (versions 1.0, 2.0, 3.0),
// limited to the element types vkattn consumes. The reader treats every file as hostile:
// lengths and products are overflow-checked, the header is bounded and parsed as the exact
// dict numpy writes (any other key, value or syntax is rejected), and the data must fill
// the file exactly. Every failure is an npy::Error with a one-line message.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace vkattn::npy {

// Element types the reader accepts (little-endian; bool is one byte).
enum class Type : std::uint8_t { f32, f16, boolean, i32, i64 };

// Bytes per element.
[[nodiscard]] std::size_t item_size(Type t) noexcept;
// numpy's descr string, e.g. "<f4", "|b1".
[[nodiscard]] const char* descr(Type t) noexcept;
// numpy's dtype name, e.g. "float32", "bool" (for messages).
[[nodiscard]] const char* type_name(Type t) noexcept;

// Malformed or unreadable input. The message is one line and names the problem.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An owned n-d array in C order.
struct Array {
  Type type = Type::f32;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> data;  // element count · item_size bytes

  // Product of `shape` (1 for rank 0).
  [[nodiscard]] std::size_t count() const noexcept;
};

// Largest header (the bytes after the length field) the reader accepts. numpy itself refuses
// headers over 10000 bytes by default; ours only need a few hundred.
inline constexpr std::size_t kMaxHeaderBytes = 65536;
// Largest rank the reader accepts (numpy 2's limit).
inline constexpr std::size_t kMaxRank = 64;

// What the preamble and header say about a file.
struct Header {
  int major_version = 1;
  Type type = Type::f32;
  std::vector<std::int64_t> shape;
  std::size_t data_offset = 0;  // bytes before the data
  std::size_t data_bytes = 0;   // element count · item size, overflow-checked
};

// Parses the magic, version, header length and header dict from `prefix`, the first bytes
// of a file whose total size is `file_size`. `prefix` must hold the whole header when the
// file does (at least min(file_size, 12 + kMaxHeaderBytes) bytes). Does not check the data
// size against file_size: see check_data_size.
[[nodiscard]] Header parse_header(std::span<const std::uint8_t> prefix, std::uint64_t file_size);

// Throws unless the data after the header is exactly header.data_bytes long.
void check_data_size(const Header& header, std::uint64_t file_size);

// Parses a whole file held in memory (tests, fuzzers).
[[nodiscard]] Array parse(std::span<const std::uint8_t> file);

// Reads and parses `path`. Messages start with the path.
[[nodiscard]] Array read(const std::filesystem::path& path);

// The bytes numpy.save writes for this array (version 1.0; 2.0 only if the header could not
// fit, as numpy does). Throws Error if data.size() disagrees with the shape.
[[nodiscard]] std::vector<std::uint8_t> encode(const Array& array);

// Only the preamble and header of encode(): write the data after it, e.g. straight from a
// std::vector<float> without copying it into an Array.
[[nodiscard]] std::vector<std::uint8_t> encode_header(Type type,
                                                      std::span<const std::int64_t> shape);

// The header dict text as numpy writes it, e.g.
// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".
[[nodiscard]] std::string header_dict(Type type, std::span<const std::int64_t> shape);

}  // namespace vkattn::npy
